// One install run, as the stages see it: the spec, the hosts (a HostRunner: SSH, or a scripted
// fake in unit tests), the journal of changes, the facts found so far, scli's session, the log
// and the abort signal. Each part lives in its own module; this one puts them together.
import type { Machine } from "../machine";
import { FactCache, Journal, type CommandOptions, type HostRunner } from "./host-runner";
import { Redactor, stepLog, type LogSink, type StepLog } from "./log";
import type { RpmSet } from "./rpms";
import { Scli, ScliSession } from "./scli";
import { managerIps, secretsOf, type InstallSpec } from "./spec";
import { abortError, sleep, type ExecResult, type SshSession } from "./ssh";
import { SshRunner } from "./ssh-runner";
import type { StageFile } from "./upload";

export type { Change } from "./host-runner";
export { SCLI_TIMEOUT_MS, ScliError } from "./scli";
export { SECRET_VARS } from "./ssh-runner";

export interface RunOptions {
  log: LogSink;
  signal?: AbortSignal;
  /**
   * Called before every step on every host (tests use it to abort at a chosen point).
   * Throwing stops the run like a crash would.
   */
  beforeStep?: (host: string, step: string) => void | Promise<void>;
  /**
   * A read-only run (`pulumi refresh`, observe/): no host lock is taken, and a command marked
   * as a change, an upload or a recorded change is refused with an error before it is sent.
   */
  readOnly?: boolean;
}

/** A read-only run was asked to change a host (a bug in a probe, never the host's doing). */
export class ReadOnlyError extends Error {
  constructor(host: string, step: string, what: string) {
    super(`[${host}] ${step}: refused in a read-only run (refresh changes nothing): ${what}`);
    this.name = "ReadOnlyError";
  }
}

export class InstallContext {
  readonly redactor: Redactor;
  readonly journal: Journal;
  readonly facts: FactCache;
  /** scli's command builder for this cluster and dialect. */
  readonly scli: Scli;
  /** scli on the hosts: answers, logins held, renewal. */
  readonly scliSession: ScliSession;
  readonly hosts: HostRunner;
  /** The SSH transport, unless the run was given other hosts (a test's fake). */
  private readonly ssh?: SshRunner;

  constructor(
    readonly spec: InstallSpec,
    readonly rpms: RpmSet,
    readonly opts: RunOptions,
    hosts?: HostRunner,
  ) {
    this.redactor = new Redactor(secretsOf(spec));
    const redact = (t: string) => this.redactor.redact(t);
    this.journal = new Journal(redact);
    this.facts = new FactCache(this.journal);
    this.scli = new Scli(rpms.dialect, managerIps(spec.machines));
    this.scliSession = new ScliSession((h, st, line, o) => this.run(h, st, line, o), redact);
    // Aborted (the engine went away): the SSH runner ends its sessions, and so a command in flight.
    this.ssh = hosts
      ? undefined
      : new SshRunner({
          spec,
          machine: (n) => this.machine(n),
          log: (h, st) => this.log(h, st),
          redact,
          signal: opts.signal,
          locks: !opts.readOnly,
        });
    this.hosts = hosts ?? this.ssh!;
  }

  /** Changes made so far (the same array throughout the run). */
  get changes(): InstallContext["journal"]["changes"] {
    return this.journal.changes;
  }

  /** Remote commands run so far (a no-op re-run is judged by how few it needs). */
  get commands(): number {
    return this.journal.commands;
  }

  /** Host keys seen this run (node -> key line), to store in state. */
  get hostKeys(): Record<string, string> {
    return this.ssh?.hostKeys ?? {};
  }

  /** scli logins that succeeded this run (host -> system ID). */
  get scliLogins(): Map<string, string> {
    return this.scliSession.logins;
  }

  machine(name: string): Machine {
    // A departing node (day 2) is reached like the others until it is out of the cluster.
    const m =
      this.spec.machines.find((x) => x.name === name) ??
      this.spec.departing?.find((x) => x.name === name);
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
   * Run a command on a host as root. `change: true` marks a command that alters the host; it
   * is recorded in the journal (a re-run that changes nothing must record none).
   */
  async run(
    host: string,
    step: string,
    command: string,
    o: Omit<CommandOptions, "sending"> & { change?: boolean } = {},
  ): Promise<ExecResult> {
    this.checkAbort();
    const { change, ...rest } = o;
    if (change && this.opts.readOnly)
      throw new ReadOnlyError(host, step, this.redactor.redact(command));
    return this.hosts.run(host, step, command, {
      ...rest,
      sending: () => {
        this.journal.commands++;
        if (change) this.journal.record(host, step, command);
      },
    });
  }

  /** Stage files on a host for root (upload.ts); returns how many were sent. */
  async upload(host: string, step: string, files: StageFile[]): Promise<number> {
    this.checkAbort();
    if (this.opts.readOnly) throw new ReadOnlyError(host, step, `upload ${files.length} file(s)`);
    return this.hosts.upload(host, step, files);
  }

  /** A file's content as root, or undefined when it cannot be read. */
  async readFile(host: string, step: string, path: string): Promise<string | undefined> {
    this.checkAbort();
    this.journal.commands++;
    return this.hosts.readFile(host, step, path);
  }

  /** How many changes this run has made: a fact read now is as fresh as this count. */
  get changeCount(): number {
    return this.facts.version;
  }

  /** Record a change made other than by a command (an upload, a gateway API call). */
  record(host: string, step: string, what: string): void {
    if (this.opts.readOnly) throw new ReadOnlyError(host, step, this.redactor.redact(what));
    this.journal.record(host, step, what);
  }

  remember<T>(key: string, value: T, asOfChanges?: number): T {
    return this.facts.remember(key, value, asOfChanges);
  }

  recall<T>(key: string): T | undefined {
    return this.facts.recall(key);
  }

  memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    return this.facts.memo(key, make);
  }

  scliRun(...a: Parameters<ScliSession["run"]>): ReturnType<ScliSession["run"]> {
    return this.scliSession.run(...a);
  }

  scliMust(...a: Parameters<ScliSession["must"]>): Promise<string> {
    return this.scliSession.must(...a);
  }

  scliError(...a: Parameters<ScliSession["error"]>): ReturnType<ScliSession["error"]> {
    return this.scliSession.error(...a);
  }

  /** The SSH session to a node, for what is not a command (a TCP tunnel to the gateway). */
  session(name: string): Promise<SshSession> {
    if (!this.ssh) throw new Error(`no SSH session to ${name}: this run's hosts are not SSH`);
    return this.ssh.session(name);
  }

  /**
   * Hold the cluster lock (on the MDM master) until close(): taken before a step that changes or
   * reads the whole cluster, so two runs never change it at the same time.
   */
  lockCluster(): Promise<void> {
    return this.ssh?.lockCluster() ?? Promise.resolve();
  }

  /** Ends every session and releases this run's locks. */
  close(): void {
    this.hosts.close();
  }
}

/**
 * What a stage sees of its run: the spec, commands, uploads and file reads on the hosts, the
 * journal's one call (`record`), the facts, scli, the log. Not the sessions' lifetime, the locks
 * or the journal itself; `session` only for a TCP tunnel (the gateway's API).
 */
export type StageContext = Pick<
  InstallContext,
  | "spec"
  | "rpms"
  | "opts"
  | "redactor"
  | "machine"
  | "log"
  | "step"
  | "run"
  | "upload"
  | "readFile"
  | "record"
  | "changeCount"
  | "remember"
  | "recall"
  | "memo"
  | "scli"
  | "scliSession"
  | "scliLogins"
  | "scliRun"
  | "scliMust"
  | "scliError"
  | "session"
>;

/** Poll `probe` until it returns a value or `timeoutMs` passes; then throw `what`. */
export async function waitFor<T>(
  ctx: Pick<InstallContext, "opts">,
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
