// The install plan, pure: ordered stages, the hosts each runs on, and whether its per-host
// work may run in parallel. Per-host work (prepare, packages, gateway, docker) runs in
// parallel; cluster-wide scli work runs one command at a time on the master.
import type { NodeRoles, ServiceRole } from "../machine";

export type StageName =
  | "prepare"
  | "packages"
  | "cluster"
  | "storage"
  | "volumes"
  | "gateway"
  | "docker"
  | "volumeplugin"
  | "verify";

export const STAGES: readonly StageName[] = [
  "prepare",
  "packages",
  "cluster",
  "storage",
  "volumes",
  "gateway",
  "docker",
  "volumeplugin",
  "verify",
];

/** What shapes the plan besides the roles. */
export interface PlanOptions {
  /** The Docker volume plugin on every Docker host (default true; needs a gateway node). */
  volumePlugin?: boolean;
}

export interface PlanPhase {
  stage: StageName;
  /** "host": work on each listed host; "cluster": scli work run from the master. */
  scope: "host" | "cluster";
  parallel: boolean;
  /** Node names the stage works on (for cluster scope: the subject nodes, e.g. Docker hosts for volumes). */
  hosts: string[];
}

/** The plan as stages in order (for reports and host-by-host runs), read off `planTasks`. */
export function planInstall(nodes: NodeRoles[], opts: PlanOptions = {}): PlanPhase[] {
  const master = nodes.find((n) => n.mdm === "master");
  if (!master) throw new Error("plan: no master MDM");
  const docker = nodes.filter((n) => n.services.includes("docker")).map((n) => n.name);
  const phases: PlanPhase[] = [];
  for (const t of planTasks(nodes, opts)) {
    let phase = phases.find((p) => p.stage === t.stage);
    if (!phase) {
      phase = t.host
        ? { stage: t.stage, scope: "host", parallel: true, hosts: [] }
        : {
            stage: t.stage,
            scope: "cluster",
            parallel: false,
            // The volumes stage is about the Docker hosts; the others about the cluster.
            hosts: t.stage === "volumes" ? docker : [master.name],
          };
      phases.push(phase);
    }
    if (t.host) phase.hosts.push(t.host);
  }
  return phases;
}

/**
 * The same plan as a graph: one task per stage and host (one per cluster-wide stage), each
 * starting as soon as what it needs is done. So a host's packages wait only for its own
 * preparation, the cluster only for the MDM hosts' packages, the gateway only for the cluster,
 * and Docker hosts do not wait for the gateway; a host's volume plugin waits for its Docker and
 * the gateway (it needs the gateway's address and certificate). The Pulumi resources (resources.ts) follow the
 * same dependencies, one resource per task or group of tasks.
 */
export interface PlanTask {
  id: string;
  stage: StageName;
  /** The host of a per-host task; undefined for cluster-wide tasks. */
  host?: string;
  /** Ids of the tasks that must finish first. */
  after: string[];
}

export function taskId(stage: StageName, host?: string): string {
  return host ? `${stage}:${host}` : stage;
}

/** The plan's tasks in a valid order, each with the ids it waits for. */
export function planTasks(nodes: NodeRoles[], opts: PlanOptions = {}): PlanTask[] {
  const has = (n: NodeRoles, s: ServiceRole) => n.services.includes(s);
  const pkgs = (ns: NodeRoles[]) => ns.map((n) => taskId("packages", n.name));
  const docker = nodes.filter((n) => has(n, "docker"));
  const gateways = nodes.filter((n) => has(n, "gateway"));
  const tasks: PlanTask[] = [];
  for (const n of nodes) {
    tasks.push({ id: taskId("prepare", n.name), stage: "prepare", host: n.name, after: [] });
    tasks.push({
      id: taskId("packages", n.name),
      stage: "packages",
      host: n.name,
      after: [taskId("prepare", n.name)],
    });
  }
  tasks.push({ id: "cluster", stage: "cluster", after: pkgs(nodes.filter((n) => n.mdm)) });
  tasks.push({
    id: "storage",
    stage: "storage",
    after: ["cluster", ...pkgs(nodes.filter((n) => has(n, "sds")))],
  });
  if (docker.length > 0)
    tasks.push({ id: "volumes", stage: "volumes", after: ["storage", ...pkgs(docker)] });
  for (const n of gateways) {
    tasks.push({
      id: taskId("gateway", n.name),
      stage: "gateway",
      host: n.name,
      after: ["cluster", taskId("packages", n.name)],
    });
  }
  for (const n of docker) {
    tasks.push({ id: taskId("docker", n.name), stage: "docker", host: n.name, after: ["volumes"] });
  }
  // The plugin talks to the gateway: without a gateway node there is no plugin.
  if (opts.volumePlugin !== false && gateways.length > 0) {
    for (const n of docker) {
      tasks.push({
        id: taskId("volumeplugin", n.name),
        stage: "volumeplugin",
        host: n.name,
        after: [taskId("docker", n.name), ...gateways.map((g) => taskId("gateway", g.name))],
      });
    }
  }
  tasks.push({
    id: "verify",
    stage: "verify",
    after: tasks.filter((t) => t.stage !== "prepare" && t.stage !== "packages").map((t) => t.id),
  });
  return tasks;
}
