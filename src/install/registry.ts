// The stage registry: every install stage declared once. The plan (plan.ts), the runner
// (runner.ts), the Pulumi resources and their dependsOn (resources.ts), the diff and the delete
// (provider.ts) are all read off this table. Adding a stage: one entry here, and the stage's own
// file under stages/. The key is the stage's one name: in the plan, the logs, the timings, and
// its Pulumi type (arrowhead:scaleio:<key>), which users' state holds: never rename a key.
import type { Machine, NodeRoles, ServiceRole } from "../machine";
import type { InstallContext } from "./context";
import { observeMdmCluster, observeStorage, observeVerification } from "./observe/cluster";
import { observeDockerVolume } from "./observe/docker";
import { observeHostPackages, observeHostPrep } from "./observe/hosts";
import type { Probe } from "./observe/probe";
import { observeGateway, observeVolumePlugin } from "./observe/services";
import type { InstallResult } from "./runner";
import { dockerVolumePool, poolsDiffKey, volumePluginPool } from "./pools";
import { dockerHosts, gatewayNode, managerIps, volumePluginOn, type InstallSpec } from "./spec";
import { formCluster } from "./stages/cluster";
import { setupDocker, teardownDocker } from "./stages/docker";
import { configureGateway } from "./stages/gateway";
import { installPackages, removePackages } from "./stages/packages";
import { prepareHost } from "./stages/prepare";
import { removeDeparted } from "./stages/membership";
import { configureStorage } from "./stages/storage";
import { verify } from "./stages/verify";
import { setupVolumePlugin, teardownVolumePlugin } from "./stages/volume-plugin";
import { dropVolume, ensureVolumes } from "./stages/volumes";

/** What the plan is made from: the nodes' roles and whether the volume plugin is on. */
export interface PlanInput {
  nodes: NodeRoles[];
  /** The Docker volume plugin on every Docker host (default true; needs a gateway node). */
  volumePlugin?: boolean;
}

/** What a stage's task gets when it runs. */
export interface TaskRun {
  ctx: InstallContext;
  res: InstallResult;
  /** The task's host (per host), or the master (cluster-wide). */
  host: string;
  /** The hosts selected for this run among the stage's hosts (all of them in a full install). */
  hosts: string[];
}

/** The stage's Pulumi resource (its type is arrowhead:scaleio:<stage>). */
export interface ResourceDef {
  /** The resource's name after the cluster's ("scaleio-" + this): in users' state too. */
  name: (host: string) => string;
  /**
   * What in the spec the resource depends on, as one comparable value (provider.ts diff): a
   * change anywhere else leaves it alone. Secrets only as hashes (`hash`).
   */
  relevant: (s: InstallSpec, node: NodeView | undefined, hash: (x: string) => string) => unknown;
  /** Undo its share on adopted hosts (delete); machines the stack created just go away. */
  undo?: (ctx: InstallContext, host: string) => Promise<void>;
  /**
   * `pulumi refresh`: what its stage would change on the hosts now, read-only (observe/); a
   * non-empty drift makes the next `up` run the stage again.
   */
  observe: Probe;
}

export interface StageDef {
  /** "host": one task per host; "cluster": one task, scli work from the master. */
  scope: "host" | "cluster";
  /** Per host: the hosts it exists for. Cluster-wide: its subject hosts (none: no task). */
  hosts: (p: PlanInput) => string[];
  /** Task ids it waits for, for one of its hosts (planTasks takes the union for a cluster task). */
  after: (
    host: string,
    p: PlanInput,
    earlier: readonly { id: string; stage: string }[],
  ) => string[];
  /** Changes or reads the whole cluster: runs under the cluster lock. */
  clusterLock: boolean;
  run: (t: TaskRun) => Promise<void>;
  /** Its Pulumi resource: one per host, or one for the cluster (named after the master). */
  resource: ResourceDef;
}

/** The node fields every per-host resource compares. */
export interface NodeView {
  name: string;
  mdm: Machine["mdm"];
  services: string[];
  addr: unknown[];
  disks: string[];
}

export function taskId(stage: string, host?: string): string {
  return host ? `${stage}:${host}` : stage;
}

/** `{pools}` when the stack declares storage tiers; {} for the single pool of the old keys. */
function withPools(s: InstallSpec): { pools?: unknown } {
  const pools = poolsDiffKey(s);
  return pools === undefined ? {} : { pools };
}

const named = (p: PlanInput, role: ServiceRole) =>
  p.nodes.filter((n) => n.services.includes(role)).map((n) => n.name);
const all = (p: PlanInput) => p.nodes.map((n) => n.name);
const packagesOf = (hosts: string[]) => hosts.map((h) => taskId("HostPackages", h));
function master(p: PlanInput): string[] {
  const m = p.nodes.find((n) => n.mdm === "master");
  if (!m) throw new Error("plan: no master MDM");
  return [m.name];
}
const pluginHosts = (p: PlanInput) =>
  volumePluginOn({ machines: p.nodes, volumePlugin: p.volumePlugin }) ? named(p, "docker") : [];
const isDocker = (ctx: InstallContext, h: string) => ctx.machine(h).services.includes("docker");

/** One volume check at a time per run: the volumes are created from the master, one by one. */
const volumeQueue = new WeakMap<InstallContext, Promise<unknown>>();

/** Fill in `res.volumes` for `hosts` that this run has not handled yet. */
async function volumesOf({ ctx, res }: TaskRun, hosts: string[]): Promise<void> {
  const turn = (volumeQueue.get(ctx) ?? Promise.resolve()).then(async () => {
    const missing = hosts.filter((h) => !res.volumes[h]);
    for (const v of await ensureVolumes(ctx, missing)) res.volumes[v.node] = v;
  });
  volumeQueue.set(
    ctx,
    turn.catch(() => undefined),
  );
  await turn;
}

/** The stages in plan order. */
export const STAGES = {
  HostPrep: {
    scope: "host",
    hosts: all,
    after: () => [],
    clusterLock: false,
    run: async ({ ctx, host }) => void (await prepareHost(ctx, host)),
    resource: {
      name: (h) => `prep-${h}`,
      observe: observeHostPrep,
      relevant: (s, node) => ({ node, os: s.os, vault: s.vaultUrl ?? "" }),
    },
  },
  HostPackages: {
    scope: "host",
    hosts: all,
    after: (h) => [taskId("HostPrep", h)],
    clusterLock: false,
    run: async ({ ctx, host }) => void (await installPackages(ctx, host)),
    resource: {
      name: (h) => `packages-${h}`,
      observe: observeHostPackages,
      relevant: (s, node, hash) => ({
        node,
        rpmDir: s.rpmDir,
        mgr: managerIps(s.machines),
        lia: hash(s.liaToken ?? ""),
        // Read by delete(): the engine hands delete the last outputs, so a changed setting
        // must reach the state through an update.
        deleteVolumes: s.deleteVolumes ?? false,
      }),
      // Only with deleteVolumes: removing the MDMs ends the cluster and its data.
      undo: async (ctx, h) => {
        if (!ctx.spec.deleteVolumes) return;
        await ctx.lockCluster();
        await removePackages(ctx, h);
      },
    },
  },
  MdmCluster: {
    scope: "cluster",
    hosts: master,
    after: (_h, p) => packagesOf(p.nodes.filter((n) => n.mdm).map((n) => n.name)),
    clusterLock: true,
    run: async ({ ctx, res }) => {
      res.cluster = await formCluster(ctx);
      res.systemId = res.cluster.systemId;
    },
    resource: {
      name: () => "mdm-cluster",
      observe: observeMdmCluster,
      relevant: (s, _node, hash) => ({
        mdms: s.machines.filter((x) => x.mdm).map((x) => [x.name, x.mdm, x.privateAddress]),
        name: s.clusterName,
        pw: hash(s.mdmPassword),
      }),
    },
  },
  StorageLayout: {
    scope: "cluster",
    hosts: master,
    after: (_h, p) => ["MdmCluster", ...packagesOf(named(p, "sds"))],
    clusterLock: true,
    // New SDSs first, then nodes gone from the stack leave (day 2: stages/membership.ts).
    run: async ({ ctx }) => {
      await configureStorage(ctx);
      await removeDeparted(ctx);
    },
    resource: {
      name: () => "storage",
      observe: observeStorage,
      relevant: (s) => ({
        sds: s.machines
          .filter((x) => x.services.includes("sds"))
          .map((x) => [x.name, x.privateAddress, x.dataDisks]),
        pd: s.protectionDomain,
        sp: s.storagePool,
        media: s.mediaType,
        // Storage tiers only: the single pool of the old keys leaves the diff as it was.
        ...withPools(s),
      }),
    },
  },
  Gateway: {
    scope: "host",
    hosts: (p) => named(p, "gateway"),
    after: (h) => ["MdmCluster", taskId("HostPackages", h)],
    clusterLock: false,
    run: async ({ ctx, res, host }) => {
      res.gatewayUrl = (await configureGateway(ctx, host)).url;
    },
    resource: {
      name: (h) => `gateway-${h}`,
      observe: observeGateway,
      relevant: (s, node, hash) => ({
        node,
        mgr: managerIps(s.machines),
        gw: hash(s.gatewayPassword),
      }),
    },
  },
  // The host's ScaleIO volume (created from the master, under the cluster lock), then Docker
  // on it.
  DockerVolume: {
    scope: "host",
    hosts: (p) => named(p, "docker"),
    after: (h) => ["StorageLayout", taskId("HostPackages", h)],
    clusterLock: true,
    run: async (t) => {
      await volumesOf(t, [t.host]);
      await setupDocker(t.ctx, t.host, t.res.volumes[t.host]);
    },
    resource: {
      name: (h) => `docker-${h}`,
      observe: observeDockerVolume,
      relevant: (s, node) => ({
        node,
        gb: s.dockerVolumeGb,
        pd: dockerVolumePool(s).protectionDomain,
        sp: dockerVolumePool(s).name,
        pk: s.dockerPackages,
        deleteVolumes: s.deleteVolumes ?? false,
      }),
      // Docker's service and /var/lib/docker mount, then the plugin (its containers are
      // stopped by then), and the host's volume mapping (the volume only with deleteVolumes).
      undo: async (ctx, h) => {
        await ctx.lockCluster();
        if (!isDocker(ctx, h)) return;
        await teardownDocker(ctx, h);
        await teardownVolumePlugin(ctx, h, { refuseMounted: false });
        await dropVolume(ctx, h, !!ctx.spec.deleteVolumes);
      },
    },
  },
  // The plugin talks to the gateway: without a gateway node there is no plugin.
  VolumePlugin: {
    scope: "host",
    hosts: pluginHosts,
    after: (h, p) => [
      taskId("DockerVolume", h),
      ...named(p, "gateway").map((g) => taskId("Gateway", g)),
    ],
    clusterLock: false,
    run: async ({ ctx, host }) => void (await setupVolumePlugin(ctx, host)),
    resource: {
      name: (h) => `volume-plugin-${h}`,
      observe: (ctx, h) => observeVolumePlugin(ctx, h),
      relevant: (s, node, hash) => {
        const gw = gatewayNode(s.machines);
        return {
          node,
          gateway: gw && [gw.name, gw.privateAddress],
          system: s.clusterName,
          pd: volumePluginPool(s).protectionDomain,
          sp: volumePluginPool(s).name,
          // The plugin logs in with the MDM admin password; a new binary is a new install.
          pw: hash(s.mdmPassword),
          binary: s.volumePluginBinary?.sha256 ?? "",
        };
      },
      // Refused while it has volumes mounted for containers.
      undo: async (ctx, h) => {
        if (isDocker(ctx, h)) await teardownVolumePlugin(ctx, h, { refuseMounted: true });
      },
    },
  },
  Verification: {
    scope: "cluster",
    hosts: master,
    after: (_h, _p, earlier) =>
      earlier.filter((t) => t.stage !== "HostPrep" && t.stage !== "HostPackages").map((t) => t.id),
    clusterLock: true,
    run: async (t) => {
      await volumesOf(
        t,
        dockerHosts(t.ctx.spec.machines).map((m) => m.name),
      );
      t.res.verification = await verify(t.ctx, Object.values(t.res.volumes));
    },
    resource: {
      name: () => "verify",
      observe: observeVerification,
      relevant: (s) => s.machines.map((x) => [x.name, x.mdm, x.services, x.privateAddress]),
    },
  },
} as const satisfies Record<string, StageDef>;

export type StageName = keyof typeof STAGES;
export const STAGE_NAMES = Object.keys(STAGES) as StageName[];

/** The stage's definition, typed as the interface (the table's literal types are narrower). */
export function stage(name: StageName): StageDef {
  return STAGES[name];
}

/** A Pulumi resource type (arrowhead:scaleio:<StepKind>): a stage's one name. */
export type StepKind = StageName;

export function resourceOf(name: StageName): ResourceDef {
  return STAGES[name].resource;
}

/** Every resource kind, in plan order. */
export const STEP_KINDS: readonly StepKind[] = STAGE_NAMES;

/** Hosts one resource of this stage exists for (the master for a cluster-wide one). */
export function resourceHosts(
  name: StageName,
  spec: Pick<InstallSpec, "machines" | "volumePlugin">,
): string[] {
  const p = { nodes: spec.machines, volumePlugin: spec.volumePlugin };
  return stage(name).scope === "host" ? stage(name).hosts(p) : master(p);
}
