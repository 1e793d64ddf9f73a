// Progress and output logging for the installer. Every line carries the host and the step so a
// user reading a failed run knows where it stopped; every line passes through the redactor so a
// secret can never reach a terminal, a file or a Pulumi log even if a remote tool echoes it.
import type { Writable } from "stream";

export interface LogLine {
  host: string;
  step: string;
  stream: "info" | "stdout" | "stderr";
  text: string;
}

export type LogSink = (line: LogLine) => void;

/** Replaces every occurrence of every secret with a fixed marker. Empty secrets are ignored. */
export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | undefined): void {
    // Very short values would redact ordinary text (a password "a" would eat every "a").
    if (secret && secret.length >= 3) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another secret is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(s).join("***");
    }
    return out;
  }
}

/** A logger bound to one host and one step; what the stages and the transport write to. */
export interface StepLog {
  readonly host: string;
  readonly step: string;
  info(text: string): void;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The same sink, another step on the same host. */
  child(step: string): StepLog;
}

export function stepLog(sink: LogSink, redactor: Redactor, host: string, step: string): StepLog {
  const emit = (stream: LogLine["stream"], text: string) => {
    for (const line of text.replace(/\r/g, "").split("\n")) {
      if (line.length > 0) sink({ host, step, stream, text: redactor.redact(line) });
    }
  };
  return {
    host,
    step,
    info: (t) => emit("info", t),
    stdout: (t) => emit("stdout", t),
    stderr: (t) => emit("stderr", t),
    child: (s) => stepLog(sink, redactor, host, s),
  };
}

/**
 * Most bytes a stream may hold unwritten before further lines are dropped: a reader that stopped
 * reading (an engine that hangs or died) must not make this process buffer without end.
 */
export const MAX_PENDING_BYTES = 64 * 1024;

/** Streams found broken (an 'error' seen, e.g. EPIPE once the reader is gone). */
const broken = new WeakSet<Writable>();
const guarded = new WeakSet<Writable>();

/**
 * Writes `line` and a newline to `stream` now, or drops it: when the stream has failed (EPIPE
 * after its reader went away), is closed, or already holds MAX_PENDING_BYTES unwritten. Never
 * buffers beyond that and never retries. The first call on a stream handles its 'error' events,
 * so a broken stdout is never an uncaught exception. Returns whether the line was handed over.
 */
export function writeLineOrDrop(stream: Writable, line: string): boolean {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on("error", () => broken.add(stream));
  }
  if (broken.has(stream) || stream.destroyed || !stream.writable) return false;
  if (stream.writableLength > MAX_PENDING_BYTES) return false;
  stream.write(line + "\n", (err) => {
    if (err) broken.add(stream);
  });
  return true;
}

/**
 * A sink printing `[host] step: text` lines, info only unless `verbose`; stderr lines go to `err`
 * (default process.stderr), the others to `out` (default process.stdout). A line that cannot be
 * written is dropped (see writeLineOrDrop). The default for the provider, the CLI and tests.
 */
export function consoleSink(
  opts: { verbose?: boolean; out?: Writable; err?: Writable } = {},
): LogSink {
  return (l) => {
    if (l.stream !== "info" && !opts.verbose) return;
    const text = `[${l.host}] ${l.step}: ${l.text}`;
    const stream =
      l.stream === "stderr" ? (opts.err ?? process.stderr) : (opts.out ?? process.stdout);
    writeLineOrDrop(stream, text);
  };
}

/** Discards everything; for callers that only want the result. */
export const nullSink: LogSink = () => undefined;
