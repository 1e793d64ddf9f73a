// Reading /proc: which processes exist, who their parents are, which are PID-namespace inits.
import * as fs from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

export function readProc(pid: number): Proc | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: it runs to the last ")".
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  return { pid, ppid: Number(rest[1]), comm, state: rest[0] };
}

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const p = readProc(pid);
  return p !== undefined && p.state !== "Z" && p.state !== "X";
}

/** All descendants of pid (children first-level first). */
export function descendants(pid: number, procs: Proc[] = listProcs()): Proc[] {
  const byParent = new Map<number, Proc[]>();
  for (const p of procs) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const out: Proc[] = [];
  const queue = [pid];
  while (queue.length) {
    const cur = queue.shift() as number;
    for (const c of byParent.get(cur) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** True when the process is PID 1 of a PID namespace below ours (a container's init). */
export function isNamespaceInit(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const line = status.split("\n").find((l) => l.startsWith("NSpid:"));
    if (!line) return false;
    const ids = line.slice(6).trim().split(/\s+/);
    return ids.length === 2 && ids[1] === "1";
  } catch {
    return false;
  }
}

/** The init (PID 1 inside) of the container that nspawn process `nspawnPid` runs. */
export function containerInit(nspawnPid: number): number | undefined {
  return descendants(nspawnPid).find((p) => isNamespaceInit(p.pid))?.pid;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
