// Two Arrowhead runs never act on one host at the same time: before a run's first command on a
// host it takes that host's lock, an exclusive `flock` on a root-only file under /run/arrowhead,
// held by a command that lives as long as an SSH channel of its own (`cat` reading the channel).
// When the holder's connection ends, however it ends (the process exits or is killed, the
// network drops), the command ends and the kernel releases the lock: no stale lock to clear.
// One lock of a host serves every install of this process (the resources of one `pulumi up`
// run side by side in one provider process), so a run never waits for itself.
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import type { ClientChannel } from "ssh2";
import type { StepLog } from "./log";
import { q } from "./shell";
import { abortError, SshSession, type SshTarget } from "./ssh";

export const LOCK_DIR = "/run/arrowhead";
/** Held by a run while it acts on the host. */
export const HOST_LOCK = `${LOCK_DIR}/host.lock`;
/** Held (on the MDM master) while a run changes the cluster: cluster, storage, volumes, verify. */
export const CLUSTER_LOCK = `${LOCK_DIR}/cluster.lock`;
/** The holder waits this long per attempt, then says again who holds the lock (seconds). */
export const LOCK_POLL_S = 10;
/**
 * Longest wait for a lock (ms): then the run fails, naming the holder (two runs taking hosts in
 * different orders could otherwise wait for each other for ever).
 */
export const LOCK_WAIT_MS = 30 * 60_000;
/** How long a lock no install of this process uses is kept (ms): the next step may need it. */
export const LOCK_LINGER_MS = 2000;

const BUSY = "arrowhead-lock busy";
const HELD = "arrowhead-lock held";

/** This process as lock holders name it: a run id, the pid, the machine and the user. */
export const RUN_ID = randomBytes(4).toString("hex");

/**
 * What the lock file says about its holder, e.g.
 * "run 1a2b3c4d: pid 4242 on laptop (alice) since 2026-12-06T10:00:00.000Z".
 */
export function ownerText(o: {
  runId: string;
  pid: number;
  host: string;
  user: string;
  since: Date;
}): string {
  return `run ${o.runId}: pid ${o.pid} on ${o.host} (${o.user}) since ${o.since.toISOString()}`;
}

/**
 * The remote command (POSIX sh, run as root) that takes the exclusive lock `file`, its folder
 * made root-only (0700); prints a BUSY line with the holder's text every LOCK_POLL_S seconds
 * while it waits (a waiter whose channel is gone dies on that write), then writes `owner` into
 * the file, prints HELD and keeps the lock until its stdin ends. Exit 127 when `flock` is missing.
 */
export function holdLockCommand(file: string, owner: string): string {
  const f = q(file);
  const dir = q(path.posix.dirname(file));
  return [
    `command -v flock >/dev/null || { echo 'flock not found on this host (util-linux)' >&2; exit 127; }`,
    `umask 077 && mkdir -p ${dir} && chmod 700 ${dir} && exec 9<>${f}`,
    `until flock -n -x 9 || { echo "${BUSY} $(head -c 400 ${f} | tr -d '\\n')"; flock -w ${LOCK_POLL_S} -x 9; }; do :; done`,
    `printf '%s\\n' ${q(owner)} > ${f} && echo '${HELD}' && exec cat >/dev/null`,
  ].join("\n");
}

/** One line of the holder's output: the lock is held, or busy (with the holder's text), or other. */
export function parseLockLine(
  line: string,
): { held: true } | { held: false; owner: string } | undefined {
  if (line.trim() === HELD) return { held: true };
  if (line.startsWith(BUSY)) return { held: false, owner: line.slice(BUSY.length).trim() };
  return undefined;
}

/** The progress line while waiting (`seconds` 0: the first one, without the time). */
export function waitingText(file: string, owner: string, seconds: number): string {
  const who = owner === "" ? "holder unknown" : owner;
  const waited = seconds > 0 ? ` ${seconds} s...` : "";
  return `waiting for another Arrowhead run holding ${file} (${who})${waited}`;
}

export interface LockRequest {
  /** The host, with the key the caller's own connection verified (see lockTarget). */
  target: SshTarget;
  file: string;
  /** Progress and waits go here (step "lock"). */
  log: StepLog;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  redact?: (s: string) => string;
  /** Default LOCK_WAIT_MS. */
  waitMs?: number;
}

/** A hold on a lock; release() once, when this install is done with the host. */
export interface LockLease {
  release(): void;
}

/** The target of a verified session, for the lock's own connection: the same key, never pinned. */
export function lockTarget(s: SshSession): SshTarget {
  return { ...s.target, hostKey: s.hostKey, hostKeyFrom: "state", mayPin: false };
}

interface Held {
  session: SshSession;
  channel: ClientChannel;
  refs: number;
  closed: boolean;
  linger?: NodeJS.Timeout;
}

/** This process's locks being taken or held, and those held, by host, port and file. */
const held = new Map<string, Promise<Held>>();
const live = new Map<string, Held>();

/** Marks `h` ended and forgets it, so the next install takes the lock again. */
function forget(key: string, h: Held): void {
  h.closed = true;
  if (live.get(key) !== h) return;
  live.delete(key);
  held.delete(key);
}

/**
 * Takes `file` on the target, or joins this process's hold of it. Waits (logging who holds it,
 * every LOCK_POLL_S seconds) while another process holds it. Errors: the connection's; the
 * lock command's (flock missing); the wait passing `waitMs`; the signal's abort reason.
 */
export async function holdLock(r: LockRequest): Promise<LockLease> {
  const key = `${r.target.host}:${r.target.port} ${r.file}`;
  for (;;) {
    let p = held.get(key);
    if (!p) {
      p = takeLock(r, key);
      held.set(key, p);
      p.catch(() => held.delete(key));
    }
    const h = await p;
    if (h.closed) continue; // released or lost meanwhile: take it again
    h.refs++;
    clearTimeout(h.linger);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (--h.refs > 0) return;
        h.linger = setTimeout(() => h.refs === 0 && !h.closed && drop(key, h), LOCK_LINGER_MS);
        h.linger.unref();
      },
    };
  }
}

function drop(key: string, h: Held): void {
  forget(key, h);
  h.channel.close();
  h.session.close();
}

async function takeLock(r: LockRequest, key: string): Promise<Held> {
  const session = await SshSession.connect(
    r.target,
    { log: r.log, signal: r.signal, timeoutMs: r.connectTimeoutMs },
    r.redact,
  );
  try {
    const owner = ownerText({
      runId: RUN_ID,
      pid: process.pid,
      host: os.hostname(),
      user: os.userInfo().username,
      since: new Date(),
    });
    const channel = await session.channel(holdLockCommand(r.file, owner));
    await untilHeld(channel, r);
    const h: Held = { session, channel, refs: 0, closed: false };
    live.set(key, h);
    channel.on("close", () => {
      if (h.closed) return;
      forget(key, h);
      r.log.info(`lost ${r.file} (the connection holding it ended)`);
      session.close();
    });
    return h;
  } catch (e) {
    session.close();
    throw e;
  }
}

/** Resolves when the holder prints HELD; logs each BUSY line with the time waited so far. */
function untilHeld(channel: ClientChannel, r: LockRequest): Promise<void> {
  const started = Date.now();
  const waitMs = r.waitMs ?? LOCK_WAIT_MS;
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    let owner = "";
    let settled = false;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      r.signal?.removeEventListener("abort", onAbort);
      if (e) reject(e);
      else resolve();
    };
    const onAbort = () => settle(abortError(r.signal!));
    const deadline = setTimeout(
      () =>
        settle(
          new Error(
            `[${r.target.name}] waited ${Math.round(waitMs / 60_000)} min for ${r.file}, held by ${owner || "an unknown holder"}: ` +
              `another Arrowhead run is acting on this host. Let it finish (or stop it: its pid and machine are named) and run again`,
          ),
        ),
      waitMs,
    );
    r.signal?.addEventListener("abort", onAbort, { once: true });
    if (r.signal?.aborted) onAbort();
    channel.stderr.on("data", (d: Buffer) => (err += d.toString()));
    channel.on("data", (d: Buffer) => {
      out += d.toString();
      const lines = out.split("\n");
      out = lines.pop() ?? "";
      for (const line of lines) {
        const l = parseLockLine(line);
        if (l?.held) return settle();
        if (l) {
          owner = l.owner;
          r.log.info(waitingText(r.file, owner, Math.round((Date.now() - started) / 1000)));
        }
      }
    });
    channel.on("close", (code: number | null) =>
      settle(
        new Error(
          `[${r.target.name}] could not take the lock ${r.file} (exit ${code ?? "none"}): ${err.trim() || "the lock command ended"}`,
        ),
      ),
    );
  });
}
