// Runs the plan over SSH without Pulumi: `runInstall(spec, { log })` from any TS program.
// Everything is checked before any host is touched (topology, RPM set); then each stage runs
// in plan order. Every stage is idempotent, so a run killed anywhere is completed by re-running.
import * as path from "path";
import { InstallContext, type Change, type RunOptions } from "./context";
import { planInstall, type StageName } from "./plan";
import { selectRpms, type Component, type RpmSet } from "./rpms";
import { componentsOf, dockerHosts, mdmNodes, validateTopology, type InstallSpec } from "./spec";
import { formCluster, type ClusterResult } from "./stages/cluster";
import { setupDocker, teardownDocker } from "./stages/docker";
import { configureGateway } from "./stages/gateway";
import { installPackages, removePackages } from "./stages/packages";
import { prepareHost } from "./stages/prepare";
import { configureStorage } from "./stages/storage";
import { verify, type Verification } from "./stages/verify";
import { dropVolume, ensureVolume, type VolumeResult } from "./stages/volumes";

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

/** Run `fn` for each host, in parallel or one by one; all finish before the first error is thrown. */
async function forHosts<T>(
  hosts: string[],
  parallel: boolean,
  fn: (h: string) => Promise<T>,
): Promise<T[]> {
  if (!parallel) {
    const out: T[] = [];
    for (const h of hosts) out.push(await fn(h));
    return out;
  }
  const settled = await Promise.allSettled(hosts.map(fn));
  const errors = settled
    .filter((s): s is PromiseRejectedResult => s.status === "rejected")
    .map((s) => s.reason as Error);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    const e = new Error(errors.map((x) => x.message).join("\n"));
    (e as Error & { errors: Error[] }).errors = errors;
    throw e;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

export interface StageSelection {
  /** Only these stages (default: all). */
  stages?: StageName[];
  /** Only these hosts for per-host stages and volumes (default: all). */
  hosts?: string[];
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
    timings: {},
    durationMs: 0,
  };
  const only = (hosts: string[]) =>
    sel.hosts ? hosts.filter((h) => sel.hosts!.includes(h)) : hosts;
  for (const phase of planInstall(ctx.spec.machines)) {
    if (sel.stages && !sel.stages.includes(phase.stage)) continue;
    const t0 = Date.now();
    const hosts =
      phase.scope === "host" || phase.stage === "volumes" ? only(phase.hosts) : phase.hosts;
    switch (phase.stage) {
      case "prepare":
        await forHosts(hosts, true, (h) => prepareHost(ctx, h));
        break;
      case "packages":
        await forHosts(hosts, true, (h) => installPackages(ctx, h));
        break;
      case "cluster":
        res.cluster = await formCluster(ctx);
        res.systemId = res.cluster.systemId;
        break;
      case "storage":
        await configureStorage(ctx);
        break;
      case "volumes":
        for (const v of await forHosts(hosts, false, (h) => ensureVolume(ctx, h)))
          res.volumes[v.node] = v;
        break;
      case "gateway":
        for (const g of await forHosts(hosts, true, (h) => configureGateway(ctx, h)))
          res.gatewayUrl = g.url;
        break;
      case "docker":
        await forHosts(hosts, true, async (h) => {
          // Run alone (e.g. from a Pulumi resource) the volume is looked up (query only) first.
          const v = res.volumes[h] ?? (res.volumes[h] = await ensureVolume(ctx, h));
          return setupDocker(ctx, h, v);
        });
        break;
      case "verify":
        // Run alone, the Docker hosts' volumes are looked up (query only) first.
        for (const m of dockerHosts(ctx.spec.machines))
          res.volumes[m.name] ??= await ensureVolume(ctx, m.name);
        res.verification = await verify(ctx, Object.values(res.volumes));
        break;
    }
    res.timings[phase.stage] = Date.now() - t0;
  }
  res.durationMs = Date.now() - started;
  return res;
}

/** Check the spec, then run every stage. The one entry point for a full install. */
export async function runInstall(spec: InstallSpec, opts: RunOptions): Promise<InstallResult> {
  validateTopology(spec.machines);
  const rpms = rpmsFor(spec);
  const ctx = new InstallContext(spec, rpms, opts);
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
  const ctx = new InstallContext(spec, rpmsFor(spec), opts);
  try {
    return await runStages(ctx, sel);
  } finally {
    ctx.close();
  }
}

/** Undo what the stack installed on adopted hosts (delete). Volumes are removed only with deleteVolumes. */
export async function runUninstall(
  spec: InstallSpec,
  hosts: string[],
  opts: RunOptions,
): Promise<Change[]> {
  const ctx = new InstallContext(spec, rpmsFor(spec), opts);
  try {
    for (const h of hosts) {
      if (!ctx.machine(h).services.includes("docker")) continue;
      await teardownDocker(ctx, h);
      await dropVolume(ctx, h, !!spec.deleteVolumes);
    }
    if (spec.deleteVolumes) await forHosts(hosts, true, (h) => removePackages(ctx, h));
    return ctx.changes;
  } finally {
    ctx.close();
  }
}
