// Runs the plan over SSH without Pulumi: `runInstall(spec, { log })` from any TS program.
// Everything is checked before any host is touched (topology, RPM set); then each task of the
// plan (a stage on a host, or a cluster-wide stage) runs as soon as the tasks it needs are done.
// Every stage is idempotent, so a run killed anywhere is completed by re-running.
import * as fs from "fs";
import * as path from "path";
import { InstallContext, type Change, type RunOptions } from "./context";
import { forHosts, throwAll } from "./parallel";
import { planTasks, type PlanTask, type StageName } from "./plan";
import { selectRpms, type Component, type RpmSet } from "./rpms";
import { ensurePluginBinary } from "./plugin-build";
import {
  componentsOf,
  dockerHosts,
  mdmNodes,
  validateTopology,
  volumePluginOn,
  type InstallSpec,
} from "./spec";
import { formCluster, type ClusterResult } from "./stages/cluster";
import { setupDocker, teardownDocker } from "./stages/docker";
import { configureGateway } from "./stages/gateway";
import { installPackages, removePackages } from "./stages/packages";
import { prepareHost } from "./stages/prepare";
import { configureStorage } from "./stages/storage";
import { verify, type Verification } from "./stages/verify";
import { setupVolumePlugin, teardownVolumePlugin } from "./stages/volume-plugin";
import { dropVolume, ensureVolumes, type VolumeResult } from "./stages/volumes";

export type { RunOptions } from "./context";

export const DEFAULT_RPM_DIR = path.resolve(__dirname, "..", "..", "assets", "rpms");

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
  return selectRpms(spec.rpmDir || DEFAULT_RPM_DIR, spec.os, {
    components: [...comps],
    tiebreaker: mdmNodes(spec.machines).tbs.length > 0,
  });
}

/** Fill in `res.volumes` for `hosts` that this run has not handled yet. */
async function volumesOf(ctx: InstallContext, res: InstallResult, hosts: string[]): Promise<void> {
  const missing = hosts.filter((h) => !res.volumes[h]);
  for (const v of await ensureVolumes(ctx, missing)) res.volumes[v.node] = v;
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
  const dockerNodes = dockerHosts(ctx.spec.machines).map((m) => m.name);
  // A stage's time runs from its first task's start to its last task's end.
  const spans: Partial<Record<StageName, [number, number]>> = {};
  await runGraph(tasks, async (t) => {
    const t0 = Date.now();
    try {
      await runTask(ctx, res, t, dockerNodes.filter(wanted));
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

/** Stages that change or read the whole cluster: they run under the cluster lock. */
const CLUSTER_STAGES: StageName[] = ["cluster", "storage", "volumes", "docker", "verify"];

async function runTask(
  ctx: InstallContext,
  res: InstallResult,
  t: PlanTask,
  volumeHosts: string[],
): Promise<void> {
  if (CLUSTER_STAGES.includes(t.stage)) await ctx.lockCluster();
  switch (t.stage) {
    case "prepare":
      await prepareHost(ctx, t.host!);
      break;
    case "packages":
      await installPackages(ctx, t.host!);
      break;
    case "cluster":
      res.cluster = await formCluster(ctx);
      res.systemId = res.cluster.systemId;
      break;
    case "storage":
      await configureStorage(ctx);
      break;
    case "volumes":
      for (const v of await ensureVolumes(ctx, volumeHosts)) res.volumes[v.node] = v;
      break;
    case "gateway":
      res.gatewayUrl = (await configureGateway(ctx, t.host!)).url;
      break;
    case "docker":
      // Run alone (e.g. from a Pulumi resource) the volume is checked first (queries only
      // when it exists, as it does once the volumes stage has run).
      await volumesOf(ctx, res, [t.host!]);
      await setupDocker(ctx, t.host!, res.volumes[t.host!]);
      break;
    case "volumeplugin":
      await setupVolumePlugin(ctx, t.host!);
      break;
    case "verify":
      await volumesOf(
        ctx,
        res,
        dockerHosts(ctx.spec.machines).map((m) => m.name),
      );
      res.verification = await verify(ctx, Object.values(res.volumes));
      break;
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
  validateTopology(spec.machines);
  const rpms = rpmsFor(spec);
  const ctx = new InstallContext(withPluginBinary(spec), rpms, opts);
  try {
    return await runStages(ctx);
  } finally {
    ctx.close();
  }
}

/** Run selected stages (what each Pulumi resource does). */
export async function runSelected(
  spec: InstallSpec,
  sel: StageSelection,
  opts: RunOptions,
): Promise<InstallResult> {
  validateTopology(spec.machines);
  const plugin = !sel.stages || sel.stages.includes("volumeplugin");
  const ctx = new InstallContext(plugin ? withPluginBinary(spec) : spec, rpmsFor(spec), opts);
  try {
    return await runStages(ctx, sel);
  } finally {
    ctx.close();
  }
}

/** What a delete on adopted hosts undoes: one resource's share (see provider.ts remove()). */
export type UninstallPart = "docker" | "volumeplugin" | "packages";

/**
 * Undo what the stack installed on adopted hosts (delete). "volumeplugin": the Docker volume
 * plugin (refused while it has volumes mounted for containers); "docker": Docker's service and
 * /var/lib/docker mount, then the plugin (its containers are stopped by then), and the host's
 * volume mapping (the volume itself only with deleteVolumes); "packages": the
 * ScaleIO packages, only with deleteVolumes (removing the MDMs ends the cluster and its data).
 * The engine deletes the resources in parallel where they do not depend on each other, so each
 * part touches only its own host's share: a host's packages go when its HostPackages is
 * deleted, after every step that needs them (cluster, storage, every host's volume).
 */
export async function runUninstall(
  spec: InstallSpec,
  hosts: string[],
  part: UninstallPart,
  opts: RunOptions,
): Promise<Change[]> {
  const ctx = new InstallContext(spec, rpmsFor(spec), opts);
  try {
    if (part === "volumeplugin") {
      for (const h of hosts) {
        if (ctx.machine(h).services.includes("docker"))
          await teardownVolumePlugin(ctx, h, { refuseMounted: true });
      }
    }
    if (part === "docker") {
      await ctx.lockCluster();
      for (const h of hosts) {
        if (!ctx.machine(h).services.includes("docker")) continue;
        await teardownDocker(ctx, h);
        await teardownVolumePlugin(ctx, h, { refuseMounted: false });
        await dropVolume(ctx, h, !!spec.deleteVolumes);
      }
    }
    if (part === "packages" && spec.deleteVolumes) {
      await ctx.lockCluster();
      await forHosts(hosts, (h) => removePackages(ctx, h));
    }
    return ctx.changes;
  } finally {
    ctx.close();
  }
}
