// Runs the plan over SSH without Pulumi: `runInstall(spec, { log })` from any TS program.
// Everything is checked before any host is touched (topology, RPM set); then each task of the
// plan (a stage on a host, or a cluster-wide stage) runs as soon as the tasks it needs are done.
// Every stage is idempotent, so a run killed anywhere is completed by re-running.
import * as fs from "fs";
import { InstallContext, type Change, type RunOptions } from "./context";
import { throwAll } from "./parallel";
import { planTasks, type PlanTask, type StageName } from "./plan";
import { selectRpms, type Component, type RpmSet } from "./rpms";
import { ensurePluginBinary } from "./plugin-build";
import { resourceOf, stage, type STAGES } from "./registry";
import {
  componentsOf,
  DEFAULTS,
  mdmNodes,
  validateTopology,
  volumePluginOn,
  type InstallSpec,
} from "./spec";
import type { ClusterResult } from "./stages/cluster";
import type { Verification } from "./stages/verify";
import type { VolumeResult } from "./stages/volumes";

export type { RunOptions } from "./context";

export interface InstallResult {
  systemId?: string;
  cluster?: ClusterResult;
  gatewayUrl?: string;
  volumes: Record<string, VolumeResult>;
  verification?: Verification;
  /** Host keys seen (node -> OpenSSH line): store them to verify the next run. */
  hostKeys: Record<string, string>;
  /** State-changing commands this run issued (0 on a no-op re-run). */
  changes: Change[];
  /** Remote commands this run issued through the context (queries included; not the upload's own). */
  commands: number;
  /** Milliseconds per stage. */
  timings: Partial<Record<StageName, number>>;
  durationMs: number;
}

/** The RPM set for a spec, validated before any host is touched. */
export function rpmsFor(spec: InstallSpec): RpmSet {
  const comps = new Set<Component>();
  for (const m of spec.machines) for (const c of componentsOf(m)) comps.add(c);
  return selectRpms(spec.rpmDir || DEFAULTS.rpmDir, spec.os, {
    components: [...comps],
    tiebreaker: mdmNodes(spec.machines).tbs.length > 0,
  });
}

export interface StageSelection {
  /** Only these stages (default: all). */
  stages?: StageName[];
  /** Only these hosts for per-host stages and volumes (default: all). */
  hosts?: string[];
}

/** Skipped because a task it needed failed (that failure is reported, not this). */
class Skipped extends Error {}

/**
 * Run tasks as soon as their dependencies are done. A failed task stops only what depends on
 * it; everything else still runs, so a re-run has less left to do. Then the failures are thrown.
 */
export async function runGraph(
  tasks: PlanTask[],
  run: (t: PlanTask) => Promise<void>,
): Promise<void> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const started = new Map<string, Promise<void>>();
  const errors: Error[] = [];
  const start = (t: PlanTask): Promise<void> => {
    let p = started.get(t.id);
    if (!p) {
      p = (async () => {
        const deps = t.after.filter((d) => byId.has(d)).map((d) => start(byId.get(d)!));
        const settled = await Promise.allSettled(deps);
        if (settled.some((s) => s.status === "rejected")) throw new Skipped(t.id);
        await run(t);
      })();
      p.catch((e: Error) => {
        if (!(e instanceof Skipped)) errors.push(e);
      });
      started.set(t.id, p);
    }
    return p;
  };
  await Promise.allSettled(tasks.map(start));
  throwAll(errors);
}

/** Run (part of) the plan with an existing context. */
export async function runStages(
  ctx: InstallContext,
  sel: StageSelection = {},
): Promise<InstallResult> {
  const started = Date.now();
  const res: InstallResult = {
    volumes: {},
    hostKeys: ctx.hostKeys,
    changes: ctx.changes,
    commands: 0,
    timings: {},
    durationMs: 0,
  };
  const wanted = (h: string) => !sel.hosts || sel.hosts.includes(h);
  const tasks = planTasks(ctx.spec.machines, { volumePlugin: ctx.spec.volumePlugin }).filter(
    (t) => (!sel.stages || sel.stages.includes(t.stage)) && (!t.host || wanted(t.host)),
  );
  // A stage's time runs from its first task's start to its last task's end.
  const spans: Partial<Record<StageName, [number, number]>> = {};
  await runGraph(tasks, async (t) => {
    const t0 = Date.now();
    try {
      await runTask(ctx, res, t, wanted);
    } finally {
      const span = spans[t.stage];
      spans[t.stage] = [Math.min(span?.[0] ?? t0, t0), Date.now()];
    }
  });
  for (const [stage, [a, b]] of Object.entries(spans) as [StageName, [number, number]][])
    res.timings[stage] = b - a;
  res.durationMs = Date.now() - started;
  res.commands = ctx.commands;
  return res;
}

/** One task: under the cluster lock when its stage asks for it, then the stage's own work. */
async function runTask(
  ctx: InstallContext,
  res: InstallResult,
  t: PlanTask,
  wanted: (host: string) => boolean,
): Promise<void> {
  const def = stage(t.stage);
  if (def.clusterLock) await ctx.lockCluster();
  const p = { nodes: ctx.spec.machines, volumePlugin: ctx.spec.volumePlugin };
  const host = t.host ?? mdmNodes(ctx.spec.machines).master.name;
  const hosts = t.host ? [t.host] : def.hosts(p).filter(wanted);
  await def.run({ ctx, res, host, hosts });
}

/** A context for `spec`, closed (its SSH sessions and locks released) when `fn` is done. */
async function withContext<T>(
  spec: InstallSpec,
  rpms: RpmSet,
  opts: RunOptions,
  fn: (ctx: InstallContext) => Promise<T>,
): Promise<T> {
  const ctx = new InstallContext(spec, rpms, opts);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}

/**
 * The spec with the volume plugin's binary, built now when the plugin is on and the caller has
 * not built it (a missing Go or a failed build stops the run before any host is touched).
 */
export function withPluginBinary(spec: InstallSpec): InstallSpec {
  if (!volumePluginOn(spec)) return spec;
  // Given (built at preflight) and still in the cache: used as it is.
  if (spec.volumePluginBinary && fs.existsSync(spec.volumePluginBinary.path)) return spec;
  return { ...spec, volumePluginBinary: ensurePluginBinary() };
}

/** Check the spec, then run every stage. The one entry point for a full install. */
export async function runInstall(spec: InstallSpec, opts: RunOptions): Promise<InstallResult> {
  return runSelected(spec, {}, opts);
}

/** Run selected stages (what each Pulumi resource does). */
export async function runSelected(
  spec: InstallSpec,
  sel: StageSelection,
  opts: RunOptions,
): Promise<InstallResult> {
  validateTopology(spec.machines);
  const rpms = rpmsFor(spec);
  const plugin = !sel.stages || sel.stages.includes("VolumePlugin");
  const full = plugin ? withPluginBinary(spec) : spec;
  return withContext(full, rpms, opts, (ctx) => runStages(ctx, sel));
}

/** The stages whose resource undoes its share on delete (registry.ts `undo`). */
export type UninstallPart = {
  [S in StageName]: (typeof STAGES)[S]["resource"] extends { undo: unknown } ? S : never;
}[StageName];

/**
 * Undo what the stack installed on adopted hosts (delete): `part`'s share on each host, as its
 * registry entry says ("VolumePlugin": the plugin, refused while it has volumes mounted;
 * "DockerVolume": Docker's mount, the plugin and the volume mapping; "HostPackages": the ScaleIO packages,
 * only with deleteVolumes). The engine deletes the resources in parallel where they do not
 * depend on each other, so each part touches only its own host's share: a host's packages go
 * when its HostPackages is deleted, after every step that needs them.
 */
export async function runUninstall(
  spec: InstallSpec,
  hosts: string[],
  part: UninstallPart,
  opts: RunOptions,
): Promise<Change[]> {
  const undo = resourceOf(part).undo!;
  return withContext(spec, rpmsFor(spec), opts, async (ctx) => {
    for (const h of hosts) await undo(ctx, h);
    return ctx.changes;
  });
}
