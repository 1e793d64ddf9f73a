// The install plan, pure: ordered stages, the hosts each runs on, and whether its per-host
// work may run in parallel. Per-host work (prepare, packages, gateway, docker) runs in
// parallel; cluster-wide scli work runs one command at a time on the master.
import type { NodeRoles } from "../machine";

export type StageName =
  "prepare" | "packages" | "cluster" | "storage" | "volumes" | "gateway" | "docker" | "verify";

export const STAGES: readonly StageName[] = [
  "prepare",
  "packages",
  "cluster",
  "storage",
  "volumes",
  "gateway",
  "docker",
  "verify",
];

export interface PlanPhase {
  stage: StageName;
  /** "host": work on each listed host; "cluster": scli work run from the master. */
  scope: "host" | "cluster";
  parallel: boolean;
  /** Node names the stage works on (for cluster scope: the subject nodes, e.g. Docker hosts for volumes). */
  hosts: string[];
}

export function planInstall(nodes: NodeRoles[]): PlanPhase[] {
  const master = nodes.find((n) => n.mdm === "master");
  if (!master) throw new Error("plan: no master MDM");
  const all = nodes.map((n) => n.name);
  const docker = nodes.filter((n) => n.services.includes("docker")).map((n) => n.name);
  const gateway = nodes.filter((n) => n.services.includes("gateway")).map((n) => n.name);
  const phases: PlanPhase[] = [
    { stage: "prepare", scope: "host", parallel: true, hosts: all },
    { stage: "packages", scope: "host", parallel: true, hosts: all },
    { stage: "cluster", scope: "cluster", parallel: false, hosts: [master.name] },
    { stage: "storage", scope: "cluster", parallel: false, hosts: [master.name] },
    { stage: "volumes", scope: "cluster", parallel: false, hosts: docker },
    { stage: "gateway", scope: "host", parallel: true, hosts: gateway },
    { stage: "docker", scope: "host", parallel: true, hosts: docker },
    { stage: "verify", scope: "cluster", parallel: false, hosts: [master.name] },
  ];
  return phases.filter((p) => p.hosts.length > 0);
}
