// Install benchmarks: full install, no-op re-run, the serial critical path, and the installer's
// memory peak. Each install runs in a child process (install-child.ts) on hosts already up.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planInstall, type StageName } from "../src/install/plan";
import type { InstallSpec } from "../src/install/spec";
import type { ChildInput, ChildOutput } from "./install-child";

export interface ChildRun extends ChildOutput {
  /** Wall time of the whole child process (adds Node + tsx start-up to durationMs). */
  processMs: number;
  /**
   * CPU time the whole machine spent busy while the child ran (lab hosts, emulator, installer),
   * and the number of CPUs. busyMs / cpus is the least wall time that much work can take here:
   * when it is close to processMs, the install waited for CPUs, not for itself.
   */
  machine: { busyMs: number; cpus: number };
}

/** Busy and total CPU time of the machine so far, ms (the first line of /proc/stat). */
function machineCpuMs(): { busy: number; total: number } {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f.map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  // /proc/stat counts in USER_HZ, 100 per second on Linux.
  return { busy: busy * 10, total: (busy + idle + iowait) * 10 };
}

export function cpuFloorMs(r: ChildRun): number {
  return r.machine.busyMs / r.machine.cpus;
}

export interface ChildOptions {
  /** Write a V8 CPU profile of the installer process into this directory. */
  cpuProfDir?: string;
  tmp: string;
}

/** Run one install in a child process; throws with the installer's message when it fails. */
export async function installInChild(
  spec: InstallSpec,
  mode: ChildInput["mode"],
  opts: ChildOptions,
): Promise<ChildRun> {
  const outFile = path.join(opts.tmp, `child-${Date.now()}.json`);
  const args = ["--import", "tsx"];
  if (opts.cpuProfDir) {
    fs.mkdirSync(opts.cpuProfDir, { recursive: true });
    args.push("--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`);
  }
  args.push(path.join(__dirname, "install-child.ts"), outFile);
  const t0 = Date.now();
  const cpu0 = machineCpuMs();
  const child = spawn(process.execPath, args, {
    cwd: path.join(__dirname, ".."),
    stdio: ["pipe", "inherit", "inherit"],
  });
  // The spec holds the private key and passwords: stdin, never argv or env.
  child.stdin.end(JSON.stringify({ spec, mode } satisfies ChildInput));
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  const processMs = Date.now() - t0;
  const machine = { busyMs: machineCpuMs().busy - cpu0.busy, cpus: os.cpus().length };
  if (!fs.existsSync(outFile)) throw new Error(`install child exited with ${code} and no result`);
  const out = JSON.parse(fs.readFileSync(outFile, "utf8")) as ChildOutput;
  fs.rmSync(outFile, { force: true });
  if (!out.ok)
    throw new Error(`install (${mode}, ${spec.machines.length} hosts) failed: ${out.error}`);
  return { ...out, processMs, machine };
}

/** Stages that run one command at a time on the master, whatever the host count. */
export function serialStages(spec: InstallSpec): StageName[] {
  return planInstall(spec.machines)
    .filter((p) => !p.parallel)
    .map((p) => p.stage);
}

export function serialMs(run: ChildOutput, spec: InstallSpec): number {
  return serialStages(spec).reduce((a, s) => a + (run.timings[s] ?? 0), 0);
}

export function describeTimings(run: ChildOutput): string {
  return Object.entries(run.timings)
    .map(([k, v]) => `${k} ${((v ?? 0) / 1000).toFixed(1)}s`)
    .join(", ");
}

/** The slowest host per step name: where a parallel stage waits for its last host. */
export function slowestSpans(run: ChildOutput, n = 8): string {
  return [...run.spans]
    .sort((a, b) => b.last - b.first - (a.last - a.first))
    .slice(0, n)
    .map((s) => `${s.host}/${s.step} ${((s.last - s.first) / 1000).toFixed(1)}s`)
    .join(", ");
}
