// One install run's shared state: SSH sessions (opened lazily, one per host), the log, the
// abort signal, and the count of state-changing commands (a no-op re-run must count zero).
import type { Machine } from "../machine";
import { CLUSTER_LOCK, HOST_LOCK, holdLock, lockTarget, type LockLease } from "./host-lock";
import { Redactor, stepLog, type LogSink, type StepLog } from "./log";
import type { RpmSet } from "./rpms";
import {
  classifyFailure,
  Scli,
  TRANSIENT_FAILURES,
  vendorMessage,
  type ScliCommand,
  type ScliFailure,
} from "./scli";
import { managerIps, mdmNodes, secretsOf, type InstallSpec } from "./spec";
import { abortError, sleep, SshSession, type ExecResult } from "./ssh";

export interface RunOptions {
  log: LogSink;
  signal?: AbortSignal;
  /**
   * Called before every step on every host (tests use it to abort at a chosen point).
   * Throwing stops the run like a crash would.
   */
  beforeStep?: (host: string, step: string) => void | Promise<void>;
}

export interface Change {
  host: string;
  step: string;
  command: string;
}

/** Secret variable names the commands refer to ("$MDM_PASSWORD" etc.). */
export const SECRET_VARS = {
  mdmPassword: "MDM_PASSWORD",
  defaultPassword: "MDM_DEFAULT_PASSWORD",
  gatewayPassword: "GATEWAY_ADMIN_PASSWORD",
  liaToken: "TOKEN",
} as const;

/** How long one scli command may take before it is stopped (it never waits on input). */
export const SCLI_TIMEOUT_MS = 300_000;

/**
 * scli refused or failed: names host, step and command, and carries the vendor's own message
 * and what the failure means (`failure`), so that callers retry only transient failures.
 */
export class ScliError extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly command: string,
    readonly failure: ScliFailure,
    readonly vendor: string,
    readonly exitCode: number | undefined,
    fix?: string,
  ) {
    super(
      `[${host}] ${step}: ${command} failed${exitCode === undefined ? "" : ` (exit ${exitCode})`}: ` +
        `${vendor}${fix ? `. ${fix}` : ""}`,
    );
    this.name = "ScliError";
  }

  /** Whether the same command may succeed if tried again a little later. */
  get transient(): boolean {
    return TRANSIENT_FAILURES.includes(this.failure);
  }
}

export class InstallContext {
  readonly redactor: Redactor;
  readonly changes: Change[] = [];
  /** Remote commands run so far (a no-op re-run is judged by how few it needs). */
  commands = 0;
  readonly scli: Scli;
  /** Host keys seen this run (node -> key line), to store in state. */
  readonly hostKeys: Record<string, string> = {};
  private readonly sessions = new Map<string, Promise<SshSession>>();
  /** Host and cluster locks this run holds (see host-lock.ts); released by close(). */
  private readonly leases: LockLease[] = [];
  private clusterLease?: Promise<void>;
  /**
   * scli logins that succeeded this run (host -> system ID): scli keeps the session on the host,
   * so later stages reuse it instead of logging in again.
   */
  readonly scliLogins = new Map<string, string>();
  /** Logs in again on a host whose scli session ended (set by the cluster stage's login). */
  renewScliLogin?: (host: string, step: string) => Promise<unknown>;

  constructor(
    readonly spec: InstallSpec,
    readonly rpms: RpmSet,
    readonly opts: RunOptions,
  ) {
    this.redactor = new Redactor(secretsOf(spec));
    this.scli = new Scli(rpms.dialect, managerIps(spec.machines));
    // Aborted (the engine went away): end the sessions now, which ends a command in flight.
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private readonly memos = new Map<string, Promise<unknown>>();
  private readonly facts = new Map<string, { changes: number; value: unknown }>();

  /**
   * Keep what a read-only check found. `recall` gives it back only while this run has changed
   * nothing since (any state-changing command anywhere may have changed the answer).
   */
  remember<T>(key: string, value: T, asOfChanges = this.changes.length): T {
    this.facts.set(key, { changes: asOfChanges, value });
    return value;
  }

  recall<T>(key: string): T | undefined {
    const f = this.facts.get(key);
    return f && f.changes === this.changes.length ? (f.value as T) : undefined;
  }

  /** `make()` once per run and key (a failure is not kept: the next call tries again). */
  memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memos.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memos.set(key, p);
      p.catch(() => this.memos.delete(key));
    }
    return p;
  }

  machine(name: string): Machine {
    const m = this.spec.machines.find((x) => x.name === name);
    if (!m) throw new Error(`unknown node ${name}`);
    return m;
  }

  log(host: string, step: string): StepLog {
    return stepLog(this.opts.log, this.redactor, host, step);
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw abortError(this.opts.signal);
  }

  async step(host: string, step: string): Promise<void> {
    this.checkAbort();
    await this.opts.beforeStep?.(host, step);
    this.checkAbort();
  }

  /**
   * The SSH session to a node, opened on first use and shared by every step of this run; it is
   * handed out only once this run holds the node's lock (HOST_LOCK), so no command runs while
   * another run acts on the host. Errors: connection, host key, privileges, the lock's.
   */
  session(name: string): Promise<SshSession> {
    let s = this.sessions.get(name);
    if (!s) {
      s = this.connect(name).then(async (sess) => {
        this.hostKeys[name] = sess.hostKey;
        try {
          await this.lock(sess, HOST_LOCK);
        } catch (e) {
          sess.close();
          throw e;
        }
        return sess;
      });
      // A failed connection is not cached: the next stage may try again.
      s.catch(() => this.sessions.delete(name));
      this.sessions.set(name, s);
    }
    return s;
  }

  private connect(name: string): Promise<SshSession> {
    const m = this.machine(name);
    const configured = m.hostKey && m.hostKey.trim() !== "" ? m.hostKey : undefined;
    const pinned = this.spec.pinnedHostKeys?.[name];
    return SshSession.connect(
      {
        name,
        host: m.sshHost,
        port: m.sshPort,
        user: m.sshUser,
        privateKey: this.spec.privateKey,
        hostKey: configured ?? pinned,
        hostKeyFrom: configured ? "config" : pinned ? "state" : undefined,
        mayPin: !this.spec.adopted,
      },
      {
        log: this.log(name, "connect"),
        signal: this.opts.signal,
        timeoutMs: this.spec.connectTimeoutMs,
      },
      (t) => this.redactor.redact(t),
    );
  }

  /** Hold `file` on the host of `sess` until close() (see host-lock.ts). */
  private async lock(sess: SshSession, file: string): Promise<void> {
    const lease = await holdLock({
      target: lockTarget(sess),
      file,
      log: this.log(sess.name, "lock"),
      signal: this.opts.signal,
      connectTimeoutMs: this.spec.connectTimeoutMs,
      redact: (t) => this.redactor.redact(t),
    });
    if (this.closed) lease.release();
    else this.leases.push(lease);
  }

  /**
   * Hold the cluster lock (CLUSTER_LOCK on the MDM master) until close(): taken before a step
   * that changes or reads the whole cluster, so two runs never change it at the same time.
   */
  lockCluster(): Promise<void> {
    this.clusterLease ??= (async () => {
      const master = mdmNodes(this.spec.machines).master.name;
      await this.lock(await this.session(master), CLUSTER_LOCK);
    })();
    this.clusterLease.catch(() => (this.clusterLease = undefined));
    return this.clusterLease;
  }

  /** The secrets every command may read, by variable name. */
  private secretValues(names: string[]): Record<string, string> {
    const all: Record<string, string> = {
      [SECRET_VARS.mdmPassword]: this.spec.mdmPassword,
      [SECRET_VARS.defaultPassword]: "admin",
      [SECRET_VARS.gatewayPassword]: this.spec.gatewayPassword,
      [SECRET_VARS.liaToken]: this.spec.liaToken ?? this.spec.mdmPassword,
    };
    const out: Record<string, string> = {};
    for (const n of names) {
      if (!(n in all)) throw new Error(`unknown secret variable ${n}`);
      out[n] = all[n];
    }
    return out;
  }

  /**
   * Run a command on a host. `change: true` marks a command that alters the host; those are
   * counted (a re-run that changes nothing must count zero).
   */
  async run(
    host: string,
    step: string,
    command: string,
    o: {
      change?: boolean;
      check?: boolean;
      secrets?: string[];
      timeoutMs?: number;
      quiet?: boolean;
    } = {},
  ): Promise<ExecResult> {
    this.checkAbort();
    const s = await this.session(host);
    this.commands++;
    if (o.change) this.changes.push({ host, step, command: this.redactor.redact(command) });
    return s.exec(command, {
      log: this.log(host, step),
      check: o.check,
      secrets: this.secretValues(o.secrets ?? []),
      timeoutMs: o.timeoutMs,
      quiet: o.quiet,
      signal: this.opts.signal,
    });
  }

  /** Run scli on a host; returns output and, on failure, what the failure means. */
  async scliRun(
    host: string,
    step: string,
    c: ScliCommand,
    o: { change?: boolean; quiet?: boolean; renew?: boolean } = {},
  ): Promise<{ ok: boolean; out: string; failure?: ScliFailure; result: ExecResult }> {
    const attempt = async () => {
      let r: ExecResult;
      try {
        r = await this.run(host, step, c.line, {
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
          this.redactor.redact(c.line),
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
    };
    const first = await attempt();
    // A reused login can end mid-run (an MDM failover drops sessions): log in once more.
    if (first.failure !== "no-session" || o.renew === false || !this.scliLogins.has(host))
      return first;
    this.scliLogins.delete(host);
    if (!this.renewScliLogin) return first;
    await this.renewScliLogin(host, step);
    return attempt();
  }

  /** Like scliRun but a failure is an error naming host, step and command. */
  async scliMust(
    host: string,
    step: string,
    c: ScliCommand,
    o: { change?: boolean; okIfExists?: boolean } = {},
  ): Promise<string> {
    const r = await this.scliRun(host, step, c, o);
    // "already exists" after a query said it did not: another run got there first; the caller
    // verifies the object with a fresh query.
    if (!r.ok && o.okIfExists && r.failure === "exists") return r.out;
    if (!r.ok) throw this.scliError(host, step, c, r);
    return r.out;
  }

  /** The error for a failed scli command: host, step, command, the vendor's words, a fix. */
  scliError(
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
      this.redactor.redact(c.line),
      failure,
      this.redactor.redact(vendorMessage(r.out)),
      r.result.code,
      fix ??
        (failure === "certificate"
          ? "The command carried --approve_certificate; approve the MDM certificate for root on this host (scli --login ... --approve_certificate) and run again"
          : undefined),
    );
  }

  private closed = false;
  private readonly onAbort = () => this.close();

  /** Ends every session and releases this run's locks. */
  close(): void {
    this.closed = true;
    // The signal may serve many runs (the provider process's): no listener left behind.
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    for (const p of this.sessions.values()) p.then((s) => s.close()).catch(() => undefined);
    this.sessions.clear();
    for (const l of this.leases.splice(0)) l.release();
  }
}

/** Poll `probe` until it returns a value or `timeoutMs` passes; then throw `what`. */
export async function waitFor<T>(
  ctx: InstallContext,
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 500;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${what}`);
    await sleep(delay, ctx.opts.signal);
    delay = Math.min(delay * 2, 5000);
  }
}
