// scli on a host, as one run uses it: a command's answer with what its failure means, the
// logins this run holds (scli keeps the session on the host, so later stages reuse it), and one
// more login when a session ends mid-run (an MDM failover drops sessions).
import type { ExecResult } from "../ssh";
import type { ScliCommand } from "./commands";
import {
  classifyFailure,
  SCLI_TIMEOUT_MS,
  ScliError,
  vendorMessage,
  type ScliFailure,
} from "./errors";

export interface ScliAnswer {
  ok: boolean;
  out: string;
  failure?: ScliFailure;
  result: ExecResult;
}

/** Runs a command line on a host (counted and, with `change`, recorded by the caller). */
export type RunLine = (
  host: string,
  step: string,
  line: string,
  o: { change?: boolean; check: false; secrets: string[]; quiet?: boolean; timeoutMs: number },
) => Promise<ExecResult>;

export class ScliSession {
  /** scli logins that succeeded this run (host -> system ID). */
  readonly logins = new Map<string, string>();
  /** Logs in again on a host whose scli session ended (set by the cluster stage's login). */
  renew?: (host: string, step: string) => Promise<unknown>;

  constructor(
    private readonly runLine: RunLine,
    private readonly redact: (s: string) => string,
  ) {}

  /** Run scli on a host; returns output and, on failure, what the failure means. */
  async run(
    host: string,
    step: string,
    c: ScliCommand,
    o: { change?: boolean; quiet?: boolean; renew?: boolean } = {},
  ): Promise<ScliAnswer> {
    const first = await this.attempt(host, step, c, o);
    // A reused login can end mid-run (an MDM failover drops sessions): log in once more.
    if (first.failure !== "no-session" || o.renew === false || !this.logins.has(host)) return first;
    this.logins.delete(host);
    if (!this.renew) return first;
    await this.renew(host, step);
    return this.attempt(host, step, c, o);
  }

  private async attempt(
    host: string,
    step: string,
    c: ScliCommand,
    o: { change?: boolean; quiet?: boolean },
  ): Promise<ScliAnswer> {
    let r: ExecResult;
    try {
      r = await this.runLine(host, step, c.line, {
        change: o.change,
        check: false,
        secrets: c.secrets,
        quiet: o.quiet,
        timeoutMs: SCLI_TIMEOUT_MS,
      });
    } catch (e) {
      if (!/timed out after/.test((e as Error).message)) throw e;
      throw new ScliError(
        host,
        step,
        this.redact(c.line),
        "other",
        `no answer in ${SCLI_TIMEOUT_MS / 1000} s`,
        undefined,
        "scli runs with stdin closed, so it cannot be waiting on a question; check that the MDMs answer (systemctl status on the MDM hosts) and run again",
      );
    }
    const out = r.stdout + r.stderr;
    return r.code === 0
      ? { ok: true, out, result: r }
      : { ok: false, out, failure: classifyFailure(out), result: r };
  }

  /** Like run but a failure is an error naming host, step and command. */
  async must(
    host: string,
    step: string,
    c: ScliCommand,
    o: { change?: boolean; okIfExists?: boolean } = {},
  ): Promise<string> {
    const r = await this.run(host, step, c, o);
    // "already exists" after a query said it did not: another run got there first; the caller
    // verifies the object with a fresh query.
    if (!r.ok && o.okIfExists && r.failure === "exists") return r.out;
    if (!r.ok) throw this.error(host, step, c, r);
    return r.out;
  }

  /** The error for a failed scli command: host, step, command, the vendor's words, a fix. */
  error(
    host: string,
    step: string,
    c: ScliCommand,
    r: { out: string; failure?: ScliFailure; result: ExecResult },
    fix?: string,
  ): ScliError {
    const failure = r.failure ?? classifyFailure(r.out);
    return new ScliError(
      host,
      step,
      this.redact(c.line),
      failure,
      this.redact(vendorMessage(r.out)),
      r.result.code,
      fix ??
        (failure === "certificate"
          ? "The command carried --approve_certificate; approve the MDM certificate for root on this host (scli --login ... --approve_certificate) and run again"
          : undefined),
    );
  }
}
