// HostRunner over SSH: one session per host, opened on first use and shared by every step of a
// run, handed out only once the run holds the host's lock (host-lock.ts); secrets resolved here
// and sent on stdin; an abort (the engine went away) ends every session, and so the command in
// flight.
import type { Machine } from "../machine";
import type { CommandOptions, HostRunner } from "./host-runner";
import { CLUSTER_LOCK, HOST_LOCK, holdLock, lockTarget, type LockLease } from "./host-lock";
import type { StepLog } from "./log";
import { q } from "./shell";
import { mdmNodes, type InstallSpec } from "./spec";
import { SshSession, type ExecResult } from "./ssh";
import { stageFiles, type StageFile } from "./upload";

/** Secret variable names the commands refer to ("$MDM_PASSWORD" etc.). */
export const SECRET_VARS = {
  mdmPassword: "MDM_PASSWORD",
  defaultPassword: "MDM_DEFAULT_PASSWORD",
  gatewayPassword: "GATEWAY_ADMIN_PASSWORD",
  liaToken: "TOKEN",
} as const;

export interface SshRunnerOptions {
  spec: InstallSpec;
  machine: (name: string) => Machine;
  log: (host: string, step: string) => StepLog;
  redact: (s: string) => string;
  signal?: AbortSignal;
  /** Take each host's lock before its first command (default true; false: read-only runs). */
  locks?: boolean;
}

export class SshRunner implements HostRunner {
  /** Host keys seen this run (node -> key line), to store in state. */
  readonly hostKeys: Record<string, string> = {};
  private readonly sessions = new Map<string, Promise<SshSession>>();
  /** Host and cluster locks this run holds (see host-lock.ts); released by close(). */
  private readonly leases: LockLease[] = [];
  private clusterLease?: Promise<void>;
  private closed = false;
  private readonly onAbort = () => this.close();

  constructor(private readonly o: SshRunnerOptions) {
    o.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /**
   * The SSH session to a node, opened on first use; handed out only once this run holds the
   * node's lock (HOST_LOCK), so no command runs while another run acts on the host.
   * Errors: connection, host key, privileges, the lock's.
   */
  session(name: string): Promise<SshSession> {
    let s = this.sessions.get(name);
    if (!s) {
      s = this.connect(name).then(async (sess) => {
        this.hostKeys[name] = sess.hostKey;
        if (this.o.locks === false) return sess;
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
    const { spec } = this.o;
    const m = this.o.machine(name);
    const configured = m.hostKey && m.hostKey.trim() !== "" ? m.hostKey : undefined;
    const pinned = spec.pinnedHostKeys?.[name];
    return SshSession.connect(
      {
        name,
        host: m.sshHost,
        port: m.sshPort,
        user: m.sshUser,
        privateKey: spec.privateKey,
        hostKey: configured ?? pinned,
        hostKeyFrom: configured ? "config" : pinned ? "state" : undefined,
        mayPin: !spec.adopted,
      },
      {
        log: this.o.log(name, "connect"),
        signal: this.o.signal,
        timeoutMs: connectWait(spec, name),
      },
      this.o.redact,
    );
  }

  /** Hold `file` on the host of `sess` until close() (see host-lock.ts). */
  private async lock(sess: SshSession, file: string): Promise<void> {
    const lease = await holdLock({
      target: lockTarget(sess),
      file,
      log: this.o.log(sess.name, "lock"),
      signal: this.o.signal,
      connectTimeoutMs: this.o.spec.connectTimeoutMs,
      redact: this.o.redact,
    });
    if (this.closed) lease.release();
    else this.leases.push(lease);
  }

  /** Hold the cluster lock (CLUSTER_LOCK on the MDM master) until close(). */
  lockCluster(): Promise<void> {
    if (this.o.locks === false) return Promise.resolve();
    this.clusterLease ??= (async () => {
      const master = mdmNodes(this.o.spec.machines).master.name;
      await this.lock(await this.session(master), CLUSTER_LOCK);
    })();
    this.clusterLease.catch(() => (this.clusterLease = undefined));
    return this.clusterLease;
  }

  /** The secrets a command may read, by variable name. */
  private secretValues(names: string[]): Record<string, string> {
    const { spec } = this.o;
    const all: Record<string, string> = {
      [SECRET_VARS.mdmPassword]: spec.mdmPassword,
      [SECRET_VARS.defaultPassword]: "admin",
      [SECRET_VARS.gatewayPassword]: spec.gatewayPassword,
      [SECRET_VARS.liaToken]: spec.liaToken ?? spec.mdmPassword,
    };
    const out: Record<string, string> = {};
    for (const n of names) {
      if (!(n in all)) throw new Error(`unknown secret variable ${n}`);
      out[n] = all[n];
    }
    return out;
  }

  async run(
    host: string,
    step: string,
    command: string,
    o: CommandOptions = {},
  ): Promise<ExecResult> {
    const s = await this.session(host);
    o.sending?.();
    return s.exec(command, {
      log: this.o.log(host, step),
      check: o.check,
      secrets: this.secretValues(o.secrets ?? []),
      timeoutMs: o.timeoutMs,
      quiet: o.quiet,
      signal: this.o.signal,
    });
  }

  async upload(host: string, step: string, files: StageFile[]): Promise<number> {
    return stageFiles(await this.session(host), files, this.o.log(host, step));
  }

  async readFile(host: string, step: string, path: string): Promise<string | undefined> {
    const r = await this.run(host, step, `cat -- ${q(path)}`, { check: false, quiet: true });
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Ends every session and releases this run's locks. */
  close(): void {
    this.closed = true;
    // The signal may serve many runs (the provider process's): no listener left behind.
    this.o.signal?.removeEventListener("abort", this.onAbort);
    for (const p of this.sessions.values()) p.then((s) => s.close()).catch(() => undefined);
    this.sessions.clear();
    for (const l of this.leases.splice(0)) l.release();
  }
}

/**
 * How long to wait for a node's SSH: spec.connectTimeoutMs (default in ssh.ts), but at most
 * DEPARTING_CONNECT_MS for a node leaving the cluster (day 2): a dead node is then removed by
 * the MDM alone instead of holding the run for the full wait.
 */
export function connectWait(spec: InstallSpec, name: string): number | undefined {
  if (!spec.departing?.some((m) => m.name === name)) return spec.connectTimeoutMs;
  return Math.min(spec.connectTimeoutMs ?? DEPARTING_CONNECT_MS, DEPARTING_CONNECT_MS);
}

/** The SSH wait for a departing node (see connectWait). */
export const DEPARTING_CONNECT_MS = 20_000;
