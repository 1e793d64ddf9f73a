// Watches the Pulumi program's own process (Pulumi's runtime, `@pulumi/pulumi/cmd/run`, started
// by the language host) while a CLI command runs: how long it lived and its peak memory (VmHWM),
// read from /proc. Linux only; bench only.
import * as fs from "node:fs";

/** What the sampler saw of the program's processes during one command. */
export interface ProgramProbe {
  /** Seconds from the first sample that saw a program process to the last one (0: none seen). */
  liveSeconds: number;
  /** Largest VmHWM of any program process seen, in MB. */
  peakMb: number;
}

const PROGRAM_MARK = "@pulumi/pulumi/cmd/run";

/** The pids whose command line runs Pulumi's Node.js program runner. */
function programPids(): string[] {
  return fs.readdirSync("/proc").filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(PROGRAM_MARK);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** VmHWM of a process in MB (0 when it is gone). */
function peakMbOf(pid: string): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples every `everyMs` while `work` runs; returns its result and what was seen. */
export async function probeProgram<T>(
  work: () => Promise<T>,
  everyMs = 100,
): Promise<{ result: T; probe: ProgramProbe }> {
  let first = 0;
  let last = 0;
  let peakMb = 0;
  const timer = setInterval(() => {
    const pids = programPids();
    if (pids.length === 0) return;
    const now = Date.now();
    first ||= now;
    last = now;
    for (const p of pids) peakMb = Math.max(peakMb, peakMbOf(p));
  }, everyMs);
  try {
    const result = await work();
    return { result, probe: { liveSeconds: (last - first) / 1000, peakMb } };
  } finally {
    clearInterval(timer);
  }
}
