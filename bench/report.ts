// Figures: printed as a table for people and appended to bench/results.json (one JSON object
// per line) for tools. Every figure carries the load average at the moment it was taken,
// because on a shared 2-core machine the load explains more of a time than the code does.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const RESULTS_FILE = path.join(__dirname, "results.json");

export interface Comparison {
  name: string;
  value: number;
  unit: string;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  comparison?: Comparison;
  /** The goal in words, e.g. "<= 1.5x the 3-host time"; absent for informative figures. */
  goal?: string;
  met?: boolean;
  hosts: number;
  date: string;
  /** 1, 5 and 15 minute load averages when the figure was taken. */
  load: number[];
  machine: { cpus: number; memGb: number; node: string };
  note?: string;
}

export type NewFigure = Omit<Figure, "date" | "load" | "machine">;

const figures: Figure[] = [];

export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Record one figure: keep it for the final table and append it to results.json now. */
export function record(f: NewFigure): Figure {
  const full: Figure = {
    ...f,
    value: round(f.value),
    comparison: f.comparison && { ...f.comparison, value: round(f.comparison.value) },
    date: new Date().toISOString(),
    load: loadAverage(),
    machine: {
      cpus: os.cpus().length,
      memGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
  };
  figures.push(full);
  // Appended one at a time so a bench run killed halfway keeps what it measured.
  fs.appendFileSync(RESULTS_FILE, JSON.stringify(full) + "\n");
  console.log(`  ${line(full)}`);
  return full;
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 1000) / 1000;
}

function line(f: Figure): string {
  const cmp = f.comparison
    ? ` (vs ${f.comparison.name}: ${f.comparison.value} ${f.comparison.unit})`
    : "";
  const goal = f.goal ? ` goal ${f.goal}: ${f.met ? "met" : "MISSED"}` : "";
  return `${f.name} [${f.hosts} hosts] = ${f.value} ${f.unit}${cmp}${goal} load ${f.load[0]}`;
}

/** The human table of everything recorded in this run. */
/** Print every figure; `startLoad` is the load average before the first lab host started. */
export function printTable(startLoad: number[]): void {
  if (figures.length === 0) return;
  const rows = figures.map((f) => [
    f.name,
    String(f.hosts),
    `${f.value} ${f.unit}`,
    f.comparison ? `${f.comparison.name}: ${f.comparison.value} ${f.comparison.unit}` : "",
    f.goal ?? "",
    f.goal ? (f.met ? "met" : "MISSED") : "",
    f.load.map((l) => l.toFixed(2)).join(" "),
  ]);
  const head = ["figure", "hosts", "value", "compared with", "goal", "", "load 1/5/15"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  console.log("");
  console.log(fmt(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(fmt(r));
  // The load columns include the bench's own lab hosts; what else ran shows in the load before.
  console.log(`\nLoad average before the benchmarks started: ${startLoad.join(" ")}.`);
  if (startLoad[0] > os.cpus().length * 0.75) {
    console.log(
      `It exceeded ${(os.cpus().length * 0.75).toFixed(1)}: something else was running, ` +
        "these figures were taken on a busy machine and are not representative.",
    );
  }
}
