// `npm run bench`: Arrowhead's benchmarks on lab hosts (needs root, like the lab tests).
//   npm run bench -- [--only install,noop,upload,memory,serial,engine,day2] [--hosts 3,6,12] [--quick] [--profile]
// Prints a table and appends one JSON object per figure to bench/results.json. Nothing here
// asserts a time: goals are reported as met or missed, with the load average beside each figure.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  cpuFloorMs,
  describeTimings,
  installInChild,
  serialMs,
  serialStages,
  slowestSpans,
  type ChildRun,
} from "./install";
import { emulatorRpms, specFor, tempDir, withLab } from "./lab";
import { loadAverage, printTable, record, RESULTS_FILE } from "./report";
import { benchExecLatency } from "./exec";
import { benchUpload } from "./upload";
import { benchDay2 } from "./day2";
import { benchEngine } from "./engine";

const ALL = ["install", "noop", "upload", "memory", "serial", "engine", "day2"] as const;
type Bench = (typeof ALL)[number];

const USAGE =
  "usage: npm run bench -- [--only " + ALL.join(",") + "] [--hosts 3,6,12] [--quick] [--profile]";

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      hosts: { type: "string", default: "3,6,12" },
      quick: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = (values.only ? values.only.split(",") : [...ALL]).map((s) => s.trim());
  for (const b of only)
    if (!(ALL as readonly string[]).includes(b))
      throw new Error(`unknown benchmark "${b}"\n${USAGE}`);
  const hosts = values.quick ? [3] : values.hosts.split(",").map(Number);
  for (const n of hosts)
    if (!Number.isInteger(n) || n < 3 || n > 40)
      throw new Error(`--hosts takes counts from 3 to 40, got "${values.hosts}"\n${USAGE}`);
  return {
    only: new Set(only as Bench[]),
    hosts: [...new Set(hosts)].sort((a, b) => a - b),
    profileDir: values.profile ? path.join(os.tmpdir(), `ah-bench-prof-${process.pid}`) : undefined,
  };
}

function describeMachineCpu(r: ChildRun): string {
  const busy = r.machine.busyMs / (r.processMs * r.machine.cpus);
  return (
    `machine CPU busy ${(busy * 100).toFixed(0)}% of ${r.machine.cpus} CPUs while it ran: ` +
    `${(r.machine.busyMs / 1000).toFixed(1)} CPU-s, at least ${(cpuFloorMs(r) / 1000).toFixed(1)} s of wall time here`
  );
}

/**
 * The work's CPU time over the machine's CPUs: the least wall time this install can take on
 * this machine, however well it is parallelized (the lab hosts share the machine's CPUs).
 */
function recordCpuFloor(what: string, r: ChildRun, hosts: number): void {
  record({
    name: `${what}: CPU-bound floor (machine busy CPU time / CPUs)`,
    value: cpuFloorMs(r) / 1000,
    unit: "s",
    comparison: { name: `${what} process wall time`, value: r.processMs / 1000, unit: "s" },
    hosts,
    note: `${(r.machine.busyMs / 1000).toFixed(1)} CPU-s on ${r.machine.cpus} CPUs`,
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the benchmarks start lab hosts: run them as root");
  const opt = options();
  const want = (b: Bench) => opt.only.has(b);
  const largest = opt.hosts[opt.hosts.length - 1];
  const tmp = tempDir();
  const started = Date.now();
  const startLoad = loadAverage();
  const full: Record<number, ChildRun> = {};
  const failures: string[] = [];
  console.log(`benchmarks: ${[...opt.only].join(", ")} on ${opt.hosts.join(", ")} host(s)`);
  try {
    const rpmDir = await emulatorRpms(tmp);
    for (const n of opt.hosts) {
      const install =
        want("install") ||
        want("noop") ||
        (want("memory") && n === largest) ||
        (want("serial") && n === 3);
      const upload = want("upload") && n === 3;
      if (!install && !upload) continue;
      console.log(`\n== ${n} hosts ==`);
      await withLab(`bench${n}`, n, async (lab) => {
        const spec = specFor(lab, rpmDir);
        if (install) {
          const r = await installInChild(spec, "parallel", { tmp, cpuProfDir: opt.profileDir });
          full[n] = r;
          console.log(`  full install: ${describeTimings(r)}; installer CPU ${r.cpuMs} ms`);
          console.log(`  ${describeMachineCpu(r)}`);
          console.log(`  longest steps: ${slowestSpans(r)}`);
          const base = full[3];
          record({
            name: "full install",
            value: r.durationMs / 1000,
            unit: "s",
            comparison:
              base && n !== 3
                ? { name: "3-host install", value: base.durationMs / 1000, unit: "s" }
                : undefined,
            hosts: n,
            note: `${describeTimings(r)}; process incl. start-up ${(r.processMs / 1000).toFixed(1)} s; installer CPU ${(r.cpuMs / 1000).toFixed(1)} s`,
          });
          recordCpuFloor("full install", r, n);
          if (base && n !== 3) {
            const ratio = r.durationMs / base.durationMs;
            record({
              name: "full install / 3-host install",
              value: ratio,
              unit: "x",
              goal: n === 12 ? "<= 1.5x" : undefined,
              met: n === 12 ? ratio <= 1.5 : undefined,
              hosts: n,
            });
          }
          if (want("memory") && n === largest) {
            record({
              name: "installer peak memory (VmHWM, child process)",
              value: r.vmHwmKb / 1024,
              unit: "MB",
              comparison: { name: "maxRSS", value: r.maxRssKb / 1024, unit: "MB" },
              goal: n === 12 ? "< 300 MB" : undefined,
              met: n === 12 ? r.vmHwmKb / 1024 < 300 : undefined,
              hosts: n,
            });
          }
          if (want("serial") && n === 3) {
            const ms = serialMs(r, spec);
            record({
              name: `serial critical path (${serialStages(spec).join("+")})`,
              value: ms / 1000,
              unit: "s",
              comparison: { name: "full install", value: r.durationMs / 1000, unit: "s" },
              hosts: n,
            });
          }
        }
        if (want("noop") && install) {
          // A failing re-run is a finding, not a reason to lose the remaining figures.
          try {
            const r = await installInChild(spec, "parallel", { tmp });
            console.log(
              `  no-op re-run: ${describeTimings(r)}; changes ${r.changes}; ${r.commands} remote commands; installer CPU ${r.cpuMs} ms`,
            );
            console.log(`  ${describeMachineCpu(r)}`);
            recordCpuFloor("no-op re-run", r, n);
            if (r.changes !== 0) console.log(`  WARNING: the re-run changed ${r.changes} thing(s)`);
            const ratio = r.durationMs / full[n].durationMs;
            record({
              name: "no-op re-run",
              value: r.durationMs / 1000,
              unit: "s",
              comparison: { name: "full install", value: full[n].durationMs / 1000, unit: "s" },
              goal: n === 3 ? "< 5 s and < 5% of full" : "< 5% of full",
              met: ratio < 0.05 && (n !== 3 || r.durationMs < 5000),
              hosts: n,
              note: `${(ratio * 100).toFixed(1)}% of the full install; ${r.commands} remote commands; ${describeTimings(r)}`,
            });
            if (n === 3) await benchExecLatency(lab);
            record({
              name: "no-op re-run / full install",
              value: ratio * 100,
              unit: "%",
              goal: "< 5%",
              met: ratio < 0.05,
              hosts: n,
            });
          } catch (e) {
            const msg = `no-op re-run on ${n} hosts FAILED: ${(e as Error).message}`;
            failures.push(msg);
            console.log(`  ${msg}`);
          }
        }
        if (upload) {
          console.log("  upload: 300 MB to 3 hosts, installer vs scp");
          await benchUpload(lab, tmp);
        }
      });
    }
    if (want("serial")) {
      console.log("\n== 3 hosts, parallelism off ==");
      await withLab("benchseq", 3, async (lab) => {
        const spec = specFor(lab, rpmDir);
        const r = await installInChild(spec, "sequential", { tmp });
        console.log(`  sequential install: ${describeTimings(r)}`);
        const par = full[3];
        record({
          name: "install with parallelism off (host by host)",
          value: r.durationMs / 1000,
          unit: "s",
          comparison: par
            ? { name: "parallel install", value: par.durationMs / 1000, unit: "s" }
            : undefined,
          hosts: 3,
          note: "the installer has no concurrency option: runSelected per stage and host",
        });
        if (par) {
          record({
            name: "parallel / sequential install",
            value: par.durationMs / r.durationMs,
            unit: "x",
            hosts: 3,
          });
        }
      });
    }
    if (want("engine")) {
      console.log("\n== 3 hosts, the existing stack through the real Pulumi engine ==");
      try {
        await withLab("benchengin", 3, (lab) => benchEngine(lab, rpmDir, tmp));
      } catch (e) {
        const msg = `engine benchmark FAILED: ${(e as Error).message}`;
        failures.push(msg);
        console.log(`  ${msg}`);
      }
    }
    if (want("day2")) {
      console.log("\n== day 2 through the real Pulumi engine (5 lab hosts, then 7) ==");
      try {
        await withLab("benchday2", 5, (lab) => benchDay2(lab, rpmDir, tmp));
      } catch (e) {
        const msg = `day-2 benchmark FAILED: ${(e as Error).message}`;
        failures.push(msg);
        console.log(`  ${msg}`);
      }
    }
  } finally {
    printTable(startLoad);
    for (const f of failures) console.log(`\n${f}`);
    console.log(
      `\nresults appended to ${RESULTS_FILE}; total ${((Date.now() - started) / 60000).toFixed(1)} min`,
    );
    if (opt.profileDir) console.log(`CPU profiles of the install processes: ${opt.profileDir}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench failed: ${e.message}`);
    process.exit(1);
  },
);
