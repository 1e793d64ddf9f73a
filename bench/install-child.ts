// Runs one install in its own process so the benchmark can read that process's memory peak
// (VmHWM) without the lab's or the parent's memory in it.
//   node --import tsx bench/install-child.ts <result.json>   (spec + mode as JSON on stdin)
// mode "parallel": runInstall, as users run it. mode "sequential": the same plan with every
// per-host stage run one host at a time (the installer has no concurrency option, so this
// drives its public runSelected per stage and host).
import * as fs from "node:fs";
import { planInstall, type StageName } from "../src/install/plan";
import { runInstall, runSelected, type InstallResult } from "../src/install/runner";
import type { InstallSpec } from "../src/install/spec";
import type { LogLine } from "../src/install/log";

export interface ChildInput {
  spec: InstallSpec;
  mode: "parallel" | "sequential";
}

export interface StepSpan {
  host: string;
  step: string;
  /** ms since the install started. */
  first: number;
  last: number;
}

export interface ChildOutput {
  ok: boolean;
  error?: string;
  durationMs: number;
  timings: Partial<Record<StageName, number>>;
  changes: number;
  /** Remote commands the install ran. */
  commands: number;
  spans: StepSpan[];
  /** Peak resident set of this process, kB (from /proc/self/status VmHWM). */
  vmHwmKb: number;
  maxRssKb: number;
  /** CPU time of this process (user + system), ms: low means the time went to the hosts. */
  cpuMs: number;
}

function vmHwmKb(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}

async function sequential(
  spec: InstallSpec,
  log: (l: LogLine) => void,
): Promise<{ timings: InstallResult["timings"]; changes: number }> {
  const timings: Partial<Record<StageName, number>> = {};
  let changes = 0;
  for (const phase of planInstall(spec.machines)) {
    const t0 = Date.now();
    // Cluster-scoped stages already run one command at a time; host stages go host by host.
    const runs = phase.scope === "host" ? phase.hosts.map((h) => [h]) : [undefined];
    for (const hosts of runs) {
      const r = await runSelected(spec, { stages: [phase.stage], hosts }, { log });
      changes += r.changes.length;
    }
    timings[phase.stage] = Date.now() - t0;
  }
  return { timings, changes };
}

async function main(): Promise<void> {
  const outFile = process.argv[2];
  if (!outFile) throw new Error("usage: install-child.ts <result.json> (input on stdin)");
  const input = JSON.parse(fs.readFileSync(0, "utf8")) as ChildInput;
  const spans = new Map<string, StepSpan>();
  const t0 = Date.now();
  // Only timestamps are kept: the text is not needed and holding it would inflate the peak.
  const log = (l: LogLine) => {
    const k = `${l.host}\0${l.step}`;
    const now = Date.now() - t0;
    const s = spans.get(k);
    if (s) s.last = now;
    else spans.set(k, { host: l.host, step: l.step, first: now, last: now });
  };
  const out: ChildOutput = {
    ok: false,
    durationMs: 0,
    timings: {},
    changes: 0,
    commands: 0,
    spans: [],
    vmHwmKb: 0,
    maxRssKb: 0,
    cpuMs: 0,
  };
  try {
    if (input.mode === "sequential") {
      const r = await sequential(input.spec, log);
      out.timings = r.timings;
      out.changes = r.changes;
    } else {
      const r = await runInstall(input.spec, { log });
      out.timings = r.timings;
      out.changes = r.changes.length;
      out.commands = r.commands;
    }
    out.ok = true;
  } catch (e) {
    out.error = (e as Error).message;
  }
  out.durationMs = Date.now() - t0;
  out.spans = [...spans.values()];
  out.vmHwmKb = vmHwmKb();
  const ru = process.resourceUsage();
  out.maxRssKb = ru.maxRSS;
  out.cpuMs = Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000);
  fs.writeFileSync(outFile, JSON.stringify(out));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
