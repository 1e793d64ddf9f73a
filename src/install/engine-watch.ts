// The watchdog of our dynamic-provider process: when the Pulumi engine that started it is gone
// (`pulumi up` killed, its terminal or SSH session lost), the running install is aborted and the
// process exits within seconds, instead of living on with nobody to answer (measured before:
// ~10 minutes at 80 % CPU, failing 9,000 writes a second to a closed stdout, growing to 2.6 GB,
// still able to act on hosts). It runs only in the dynamic-provider host, never in the program.
import * as fs from "fs";
import * as net from "net";
import type { Writable } from "stream";

/** Why the watchdog decided the engine is gone; the abort reason the install sees. */
export class EngineGoneError extends Error {
  constructor(readonly why: string) {
    super(`the Pulumi engine went away (${why}): install stopped`);
    this.name = "EngineGoneError";
  }
}

/** How often the watchdog looks (milliseconds). */
export const WATCH_INTERVAL_MS = 1000;
/** From the abort to process.exit (milliseconds): the install closes its SSH sessions first. */
export const EXIT_GRACE_MS = 1000;

/** The parent pid of `pid`, from /proc/<pid>/stat; undefined when unknown (gone, not Linux). */
export function parentOf(pid: number | "self"): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and ')', so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether something listens at `address` ("host:port"): false only when the connection is
 * refused (the engine's port closed with it), true when it connects, undefined for anything
 * else (a timeout or a malformed address prove nothing).
 */
export function engineAnswers(address: string, timeoutMs = 2000): Promise<boolean | undefined> {
  const at = address.lastIndexOf(":");
  const port = Number(address.slice(at + 1));
  if (at < 1 || !Number.isInteger(port)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const sock = net.connect({ host: address.slice(0, at), port });
    const done = (v: boolean | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.once("connect", () => done(true));
    sock.once("error", (e: NodeJS.ErrnoException) =>
      done(e.code === "ECONNREFUSED" ? false : undefined),
    );
  });
}

export interface EngineWatchOptions {
  /** Called once, with the reason, when the engine is found gone. */
  onGone: (why: string) => void;
  /** The engine's gRPC address ("127.0.0.1:port", the dynamic provider's first argument). */
  engineAddress?: string;
  /** Default WATCH_INTERVAL_MS. */
  intervalMs?: number;
  /** Default: stdout and stderr of this process; an 'error' on one (EPIPE) means gone. */
  streams?: Writable[];
  /** Default parentOf (tests replace it). */
  parentOf?: (pid: number | "self") => number | undefined;
  /** Default engineAnswers (tests replace it). */
  answers?: (address: string) => Promise<boolean | undefined>;
}

export interface EngineWatch {
  /** Aborted (reason: EngineGoneError) when the engine is gone. */
  readonly signal: AbortSignal;
  stop(): void;
}

/**
 * Watches for the engine going away: the parent or grandparent of this process changing (the
 * engine runs the provider through a launcher shell, so the engine is usually the grandparent;
 * an orphan is adopted by init or a subreaper), the engine's port refusing connections, or
 * stdout/stderr failing. Its timer does not keep the process alive.
 */
export function watchEngine(o: EngineWatchOptions): EngineWatch {
  const ppidOf = o.parentOf ?? parentOf;
  const answers = o.answers ?? engineAnswers;
  const ctl = new AbortController();
  const parent = ppidOf("self");
  const grandparent = parent === undefined ? undefined : ppidOf(parent);
  let probing = false;
  let stopped = false;

  const gone = (why: string) => {
    if (stopped) return;
    stop();
    ctl.abort(new EngineGoneError(why));
    o.onGone(why);
  };
  const check = () => {
    const p = ppidOf("self");
    if (parent !== undefined && p !== undefined && p !== parent)
      return gone(`parent process ${parent} ended (now ${p})`);
    const gp = parent === undefined ? undefined : ppidOf(parent);
    if (grandparent !== undefined && grandparent > 1 && gp !== undefined && gp !== grandparent)
      return gone(`process ${grandparent} that started the provider ended`);
    if (o.engineAddress && !probing) {
      probing = true;
      void answers(o.engineAddress).then((up) => {
        probing = false;
        if (up === false) gone(`engine at ${o.engineAddress} refuses connections`);
      });
    }
  };
  const streams = o.streams ?? [process.stdout, process.stderr];
  // Kept after stop(): a later EPIPE must not become an uncaught exception, which Pulumi's host
  // prints to the same broken stream, again and again.
  for (const s of streams) s.on("error", (e: Error) => gone(`output stream failed: ${e.message}`));
  const timer = setInterval(check, o.intervalMs ?? WATCH_INTERVAL_MS);
  timer.unref();

  function stop() {
    stopped = true;
    clearInterval(timer);
  }
  return { signal: ctl.signal, stop };
}

/** Whether `argv` is Pulumi's dynamic-provider host (`node .../cmd/dynamic-provider/index.js`). */
export function isDynamicProviderHost(argv: readonly string[]): boolean {
  return /[\\/]cmd[\\/]dynamic-provider([\\/]index\.js)?$/.test(argv[1] ?? "");
}

let current: EngineWatch | undefined;

/**
 * Starts the watchdog of this process once: the install is aborted when the engine is gone and
 * the process exits EXIT_GRACE_MS later (code 1). `engineAddress` as in EngineWatchOptions.
 * Returns the abort signal every install of this process should run with.
 */
export function exitWhenEngineGone(engineAddress?: string): AbortSignal {
  current ??= watchEngine({
    engineAddress,
    onGone: () => setTimeout(() => process.exit(1), EXIT_GRACE_MS),
  });
  return current.signal;
}

/**
 * In Pulumi's dynamic-provider host (see isDynamicProviderHost), starts the watchdog (the
 * engine's address is the host's first argument); anywhere else does nothing. Idempotent.
 */
export function watchThisProvider(argv: readonly string[] = process.argv): void {
  if (isDynamicProviderHost(argv)) exitWhenEngineGone(argv[2]);
}

/** The signal of this process's watchdog; undefined where none runs (the program, tests). */
export function engineSignal(): AbortSignal | undefined {
  return current?.signal;
}
