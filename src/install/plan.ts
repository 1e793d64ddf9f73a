// The install plan, pure, read off the stage registry (registry.ts): one task per stage and
// host (one per cluster-wide stage), each starting as soon as what it needs is done. So a host's
// packages wait only for its own preparation, the cluster only for the MDM hosts' packages, the
// gateway only for the cluster, and Docker hosts do not wait for the gateway. The Pulumi
// resources follow the same graph (`planResources`), one resource per task or group of tasks.
import type { NodeRoles } from "../machine";
import { resourceOf, STAGE_NAMES, stage, taskId, type StageName, type StepKind } from "./registry";

export { taskId, type StageName } from "./registry";

/** What shapes the plan besides the roles. */
export interface PlanOptions {
  /** The Docker volume plugin on every Docker host (default true; needs a gateway node). */
  volumePlugin?: boolean;
}

export interface PlanTask {
  id: string;
  stage: StageName;
  /** The host of a per-host task; undefined for cluster-wide tasks. */
  host?: string;
  /** Ids of the tasks that must finish first. */
  after: string[];
}

/** The plan's tasks in a valid order (the registry's), each with the ids it waits for. */
export function planTasks(nodes: NodeRoles[], opts: PlanOptions = {}): PlanTask[] {
  const p = { nodes, volumePlugin: opts.volumePlugin };
  const tasks: PlanTask[] = [];
  for (const name of STAGE_NAMES) {
    const def = stage(name);
    const hosts = def.hosts(p);
    if (def.scope === "host") {
      for (const h of hosts)
        tasks.push({ id: taskId(name, h), stage: name, host: h, after: def.after(h, p, tasks) });
    } else if (hosts.length > 0) {
      const after = [...new Set(hosts.flatMap((h) => def.after(h, p, tasks)))];
      tasks.push({ id: name, stage: name, after });
    }
  }
  return tasks;
}

/** One Pulumi resource of the install: its stage's task on one host, or the cluster-wide one. */
export interface PlannedResource {
  /** `${kind}:${host}`, unique. */
  key: string;
  kind: StepKind;
  /** The node it is about (the master for cluster-wide ones). */
  host: string;
  /** Its name after the cluster's (e.g. "prep-node1"). */
  name: string;
  /** Keys of the resources it depends on. */
  after: string[];
}

/**
 * The plan as Pulumi resources: one per task (planTasks), each waiting for the resources of
 * the tasks its task waits for (from planTasks, nothing else).
 */
export function planResources(nodes: NodeRoles[], opts: PlanOptions = {}): PlannedResource[] {
  const tasks = planTasks(nodes, opts);
  const master = nodes.find((n) => n.mdm === "master")!.name;
  const keyOf = (t: PlanTask) => `${t.stage}:${t.host ?? master}`;
  const byId = new Map(tasks.map((t) => [t.id, keyOf(t)]));
  return tasks.map((t) => ({
    key: keyOf(t),
    kind: t.stage,
    host: t.host ?? master,
    name: resourceOf(t.stage).name(t.host ?? master),
    after: t.after.map((id) => byId.get(id)!),
  }));
}

/** The plan as stages in order, each with its hosts (for reports and the host-by-host bench). */
export interface PlanPhase {
  stage: StageName;
  /** "host": work on each listed host; "cluster": scli work run from the master. */
  scope: "host" | "cluster";
  parallel: boolean;
  /** Node names the stage works on (for cluster scope: its subjects, e.g. Docker hosts for volumes). */
  hosts: string[];
}

export function planInstall(nodes: NodeRoles[], opts: PlanOptions = {}): PlanPhase[] {
  const p = { nodes, volumePlugin: opts.volumePlugin };
  const stages = [...new Set(planTasks(nodes, opts).map((t) => t.stage))];
  return stages.map((name) => {
    const { scope } = stage(name);
    return { stage: name, scope, parallel: scope === "host", hosts: stage(name).hosts(p) };
  });
}
