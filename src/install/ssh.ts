// The SSH transport: connect (with retries while a machine boots), verify host keys, run
// commands (as root or through `sudo -n`), stream their output to a per-host, per-step log,
// put files over SFTP (as the login user), and forward a TCP connection through the host.
// Nothing here knows about ScaleIO or about staging (upload.ts).
import type { Duplex } from "stream";
import { Client, type ClientChannel, type ServerHostKeyAlgorithm, type SFTPWrapper } from "ssh2";
import { decideHostKey, serverHostKeyAlgorithms, type HostKeyExpectation } from "./hostkey";
import type { StepLog } from "./log";
import { assertEnvName, q } from "./shell";

export interface SshTarget {
  /** Node name, used in messages and logs. */
  name: string;
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** Known host key (configured or pinned); see hostkey.ts. */
  hostKey?: string;
  hostKeyFrom?: "config" | "state";
  /** True when this stack created the machine, so the first key seen may be pinned. */
  mayPin: boolean;
}

export interface ConnectOptions {
  /** Give up after this long in total (default 10 min: a cloud VM can take minutes to boot). */
  timeoutMs?: number;
  /** One attempt's handshake timeout (default 20 s). */
  attemptTimeoutMs?: number;
  /** Upper bound of the wait between attempts (default 10 s). */
  maxBackoffMs?: number;
  signal?: AbortSignal;
  log: StepLog;
}

export interface ExecOptions {
  log: StepLog;
  /** Per-command timeout (default 10 min). */
  timeoutMs?: number;
  /**
   * Secrets for the command: each is read from stdin into a shell variable of that name and
   * exported, so it is in no command line we send and in no argv of the shell that runs it.
   * The command refers to them as "$NAME"; a command that puts "$NAME" in a program's
   * arguments makes it visible in that program's argv (`ps`) while it runs, so commands pipe
   * secrets to programs that read them on stdin instead (see scli.ts).
   */
  secrets?: Record<string, string>;
  /** Reject on non-zero exit (default true). */
  check?: boolean;
  /** Log neither the command nor its stdout (stderr still is); for queries and polling. */
  quiet?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command failed: names host, step, command, exit status and the end of stderr. */
export class RemoteCommandError extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly command: string,
    readonly result: ExecResult,
    redact: (s: string) => string,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-8).join("\n");
    super(
      redact(
        `[${host}] ${step}: command failed with exit status ${result.code}: ${command}\n${tail}`,
      ),
    );
    this.name = "RemoteCommandError";
  }
}

export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostKeyError";
  }
}

export class SudoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SudoError";
  }
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error("install aborted");
}

/** Open one SSH connection, no retry. Rejects with HostKeyError when the key is refused. */
function connectOnce(
  t: SshTarget,
  attemptTimeoutMs: number,
): Promise<{ client: Client; hostKey: string; pinned: boolean }> {
  // A malformed known key is left to decideHostKey, which explains the problem when it is used.
  let hostKeyAlgorithms: ServerHostKeyAlgorithm[] | undefined;
  try {
    hostKeyAlgorithms = serverHostKeyAlgorithms(t.hostKey) as ServerHostKeyAlgorithm[] | undefined;
  } catch {
    hostKeyAlgorithms = undefined;
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    let refusal: string | undefined;
    let accepted: { key: string; pinned: boolean } | undefined;
    const exp: HostKeyExpectation = {
      name: t.name,
      address: `${t.host}:${t.port}`,
      knownKey: t.hostKey,
      knownFrom: t.hostKeyFrom,
      mayPin: t.mayPin,
    };
    client.on("ready", () => {
      if (!accepted) {
        client.end();
        return reject(new HostKeyError(`${t.name}: no host key was presented`));
      }
      resolve({ client, hostKey: accepted.key, pinned: accepted.pinned });
    });
    client.on("error", (err) => {
      client.end();
      reject(refusal ? new HostKeyError(refusal) : err);
    });
    client.connect({
      host: t.host,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      readyTimeout: attemptTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(hostKeyAlgorithms ? { algorithms: { serverHostKey: hostKeyAlgorithms } } : {}),
      hostVerifier: (key: Buffer) => {
        const d = decideHostKey(key, exp);
        if (d.accept) {
          accepted = { key: d.key, pinned: d.pinned };
          return true;
        }
        refusal = d.error;
        return false;
      },
    });
  });
}

/** Errors worth retrying while a machine boots (refused, reset, timed out, auth not ready yet). */
function retryable(err: Error): boolean {
  return (
    !(err instanceof HostKeyError) &&
    !/private key|Cannot parse privateKey|Unsupported key/i.test(err.message)
  );
}

export class SshSession {
  private sftpP?: Promise<SFTPWrapper>;

  private constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    /** The host key as an OpenSSH line: store it in state to verify later connections. */
    readonly hostKey: string,
    /** True when the key was pinned on this (first) contact. */
    readonly pinned: boolean,
    private sudo: boolean,
    private readonly redact: (s: string) => string,
  ) {}

  /**
   * Connect, retrying with bounded exponential backoff until the host answers or the timeout
   * passes. Then check that we are root or may `sudo -n`.
   */
  static async connect(
    t: SshTarget,
    opts: ConnectOptions,
    redact: (s: string) => string = (s) => s,
  ): Promise<SshSession> {
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    const maxBackoff = opts.maxBackoffMs ?? 10_000;
    let backoff = 500;
    let attempt = 0;
    let last: Error | undefined;
    for (;;) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      attempt++;
      try {
        const remaining = Math.max(1000, deadline - Date.now());
        const c = await connectOnce(t, Math.min(opts.attemptTimeoutMs ?? 20_000, remaining));
        if (c.pinned) opts.log.info(`pinned host key ${c.hostKey.split(" ")[0]} on first contact`);
        const s = new SshSession(t, c.client, c.hostKey, c.pinned, false, redact);
        await s.checkPrivileges(opts.log);
        return s;
      } catch (e) {
        const err = e as Error;
        if (!retryable(err)) throw err;
        // A host the stack did not create has its keys in place already: a refused login will
        // not get better by waiting (machines the stack creates may still be writing theirs).
        if (!t.mayPin && /authentication methods failed/i.test(err.message)) {
          throw new Error(
            `[${t.name}] SSH login refused for ${t.user}@${t.host}:${t.port}: the host does not accept the ` +
              `configured private key (${err.message}). Put its public half in ~${t.user}/.ssh/authorized_keys ` +
              `on the host, or set arrowhead:sshPublicKey and arrowhead:sshPrivateKey to a key it accepts.`,
          );
        }
        last = err;
        if (Date.now() + backoff > deadline) break;
        if (attempt === 1 || attempt % 5 === 0) {
          opts.log.info(
            `waiting for SSH on ${t.host}:${t.port} (${err.message}); attempt ${attempt}`,
          );
        }
        await sleep(backoff, opts.signal);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
    throw new Error(
      `[${t.name}] could not connect over SSH to ${t.user}@${t.host}:${t.port} after ${attempt} attempts ` +
        `in ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s (last error: ${last?.message}). ` +
        `Check that the machine is running, that port ${t.port} is reachable from here (firewall / security group), ` +
        `that sshd runs, and that user "${t.user}" accepts the configured private key.`,
    );
  }

  get name(): string {
    return this.target.name;
  }

  /** Root, or a user with passwordless sudo; anything else fails now, not halfway through. */
  private async checkPrivileges(log: StepLog): Promise<void> {
    const id = await this.raw("id -u", undefined, 30_000);
    if (id.code === 0 && id.stdout.trim() === "0") return;
    const s = await this.raw("sudo -n true", undefined, 30_000);
    if (s.code !== 0) {
      this.close();
      throw new SudoError(
        `[${this.name}] user "${this.target.user}" is not root and cannot run sudo without a password ` +
          `(sudo -n said: ${s.stderr.trim() || "exit " + s.code}). Log in as root, or allow the user ` +
          `passwordless sudo (e.g. "${this.target.user} ALL=(ALL) NOPASSWD:ALL" in /etc/sudoers.d/).`,
      );
    }
    this.sudo = true;
    log.info(`using sudo as ${this.target.user}`);
  }

  /** Run a command without privilege wrapping or logging (internal checks). */
  private raw(
    cmd: string,
    stdin: string | undefined,
    timeoutMs: number,
    onData?: (d: string, err: boolean) => void,
  ) {
    return new Promise<ExecResult>((resolve, reject) => {
      this.client.exec(cmd, (err, stream: ClientChannel) => {
        if (err) return reject(err);
        let stdout = "";
        let stderr = "";
        let done = false;
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          stream.close();
          reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        stream.on("data", (d: Buffer) => {
          const s = d.toString();
          stdout += s;
          onData?.(s, false);
        });
        stream.stderr.on("data", (d: Buffer) => {
          const s = d.toString();
          stderr += s;
          onData?.(s, true);
        });
        stream.on("close", (code: number | null, signal?: string) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve({ code: code ?? (signal ? 128 : 255), stdout, stderr });
        });
        stream.end(stdin ?? "");
      });
    });
  }

  /** The remote command line for `cmd` with its secrets and privilege wrapping. */
  static wrap(cmd: string, secretNames: string[], sudo: boolean): string {
    let script = cmd;
    if (secretNames.length > 0) {
      // `read -r` from stdin, then export: the values never appear in any argv.
      const reads = secretNames.map((n) => `IFS= read -r ${n} || exit 90; export ${n};`).join(" ");
      script = `${reads} ${cmd}`;
    }
    return sudo ? `sudo -n sh -c ${q(script)}` : `sh -c ${q(script)}`;
  }

  async exec(cmd: string, opts: ExecOptions): Promise<ExecResult> {
    const secrets = opts.secrets ?? {};
    const names = Object.keys(secrets);
    for (const n of names) {
      assertEnvName(n);
      if (/[\n\r]/.test(secrets[n])) throw new Error(`secret ${n} must not contain a line break`);
    }
    const stdin = names.length > 0 ? names.map((n) => secrets[n] + "\n").join("") : undefined;
    if (opts.signal?.aborted) throw abortError(opts.signal);
    if (!opts.quiet) opts.log.info(`$ ${cmd}`);
    const timeoutMs = opts.timeoutMs ?? 600_000;
    let res: ExecResult;
    try {
      res = await this.raw(SshSession.wrap(cmd, names, this.sudo), stdin, timeoutMs, (d, isErr) =>
        isErr ? opts.log.stderr(d) : opts.quiet ? undefined : opts.log.stdout(d),
      );
    } catch (e) {
      throw new Error(
        this.redact(`[${this.name}] ${opts.log.step}: ${(e as Error).message}: ${cmd}`),
      );
    }
    if (res.code !== 0 && opts.check !== false) {
      throw new RemoteCommandError(this.name, opts.log.step, cmd, res, this.redact);
    }
    return res;
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpP ??= new Promise((resolve, reject) =>
      this.client.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    return this.sftpP;
  }

  /**
   * Create folder `remote` over SFTP (as the login user) with `mode`; fails when it exists, so a
   * fresh random name gives a folder nobody else made.
   */
  async sftpMkdir(remote: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.mkdir(remote, { mode }, (err) =>
        err
          ? reject(new Error(`[${this.name}] cannot create ${remote} over SFTP: ${err.message}`))
          : resolve(),
      ),
    );
  }

  /** Copy local file `local` to `remote` over SFTP (as the login user). */
  async sftpPut(local: string, remote: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(local, remote, (err) =>
        err
          ? reject(new Error(`[${this.name}] upload of ${local} failed: ${err.message}`))
          : resolve(),
      ),
    );
  }

  /**
   * Starts `cmd` as root (like exec) and hands over its channel, which the caller reads and
   * closes: for a command that lives as long as the channel (a lock holder). Closing the
   * channel, or losing the connection, ends the command's stdin. Rejects when no channel opens.
   */
  channel(cmd: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) =>
      this.client.exec(SshSession.wrap(cmd, [], this.sudo), (err, ch) =>
        err ? reject(err) : resolve(ch),
      ),
    );
  }

  /** A TCP connection from the host to `host:port` (e.g. the gateway's 443 on its loopback). */
  forwardOut(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) =>
      this.client.forwardOut("127.0.0.1", 0, host, port, (err, ch) =>
        err
          ? reject(
              new Error(
                `[${this.name}] cannot forward to ${host}:${port} through SSH: ${err.message}`,
              ),
            )
          : resolve(ch),
      ),
    );
  }

  close(): void {
    this.client.end();
  }
}
