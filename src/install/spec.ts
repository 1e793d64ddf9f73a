// What the installer needs to know, resolved (no Pulumi Outputs), and the pure role queries on
// it. `InstallSpec` is the contract between the Pulumi resources (or any caller) and the runner.
import { DEFAULTS as CONFIG_DEFAULTS } from "../config/defaults";
import type { Machine, OsName } from "../machine";
import { resolveProjectPath } from "../project-dir";
import type { StoragePoolSpec } from "./pools";
import type { Component } from "./rpms";
import type { MediaType } from "./scli";

export const DEFAULT_VAULT_URL = CONFIG_DEFAULTS.centos7VaultUrl;

/**
 * The installer's own defaults, for a caller that leaves a field out. The stack config's
 * defaults (config/defaults.ts) are applied before, so the program passes every value.
 */
export const DEFAULTS = {
  /** The stack config's default (assets/rpms), resolved as config resolves it. */
  rpmDir: resolveProjectPath(CONFIG_DEFAULTS.rpmDir),
  /** Only with a gateway node (volumePluginOn). */
  volumePlugin: true,
} as const satisfies Partial<InstallSpec>;

export interface InstallSpec {
  machines: Machine[];
  /** OpenSSH private key accepted by every machine's sshUser. Secret. */
  privateKey: string;
  os: OsName;
  /** Directory with the vendor RPMs (default assets/rpms). */
  rpmDir: string;
  clusterName: string;
  /** The default protection domain; with `storagePools`, each pool names its own. */
  protectionDomain: string;
  /** The single pool (no `storagePools`), else the first pool's name. */
  storagePool: string;
  /** Used from ScaleIO 3.x on (2.x has no media types). */
  mediaType: MediaType;
  /**
   * Storage tiers: every pool with its media, protection domain and devices (pools.ts). Absent:
   * one pool, `storagePool` in `protectionDomain`, with every data disk (the stacks before tiers).
   */
  storagePools?: StoragePoolSpec[];
  /** The pool of the Docker hosts' /var/lib/docker volumes (default: the first pool). */
  dockerVolumePool?: string;
  /** The volume plugin's default pool, its config's storagePool (default: the first pool). */
  volumePluginPool?: string;
  /** Size of each Docker host's volume (rounded up to 8 GB by ScaleIO). */
  dockerVolumeGb: number;
  /** MDM admin password (6-31 characters). Secret. */
  mdmPassword: string;
  /** Gateway admin password. Secret. */
  gatewayPassword: string;
  /** LIA token; defaults to the MDM password. Secret. */
  liaToken?: string;
  /** CentOS 7 vault base URL (repo files are rewritten to it). */
  vaultUrl?: string;
  /** Existing hosts (not created by this stack): host keys must be configured, never pinned. */
  adopted?: boolean;
  /**
   * SDS devices Arrowhead may erase (wipefs -a) when they hold a file system or a partition
   * table, by node name: `{node2: ["/dev/sdb"]}` (config key `wipeDevices`). Any other device
   * that is not empty is refused. Never covers a mounted or in-use device.
   */
  wipeDevices?: Record<string, string[]>;
  /** On delete, also remove the Docker volumes (data!) and the ScaleIO packages. */
  deleteVolumes?: boolean;
  /** Host keys known from earlier runs (node name -> "ssh-ed25519 AAAA..."), pinned in state. */
  pinnedHostKeys?: Record<string, string>;
  /** Docker packages to install (default: docker on el7, docker-ce elsewhere). */
  dockerPackages?: string[];
  /** How long to wait for a machine's SSH (default 10 min). */
  connectTimeoutMs?: number;
  /**
   * The Docker volume plugin "scaleio" (driver/) on every Docker host; on unless false (config
   * `volumePlugin`). Needs a gateway node: without one there is nothing for it to talk to.
   */
  volumePlugin?: boolean;
  /** The plugin binary built for this run (path on this machine, sha256); built when absent. */
  volumePluginBinary?: { path: string; sha256: string };
  /**
   * Nodes the last `up` had and this one does not (set by provider.ts from the resource's last
   * outputs, never by config): the cluster-wide update takes them out of the cluster
   * (stages/membership.ts). Commands reach them by name like any node, with a short SSH wait.
   */
  departing?: Machine[];
  /**
   * Staying nodes that had an MDM role at the last `up` and have none now (names; set by
   * provider.ts like `departing`): each loses its MDM package once the MDM cluster no longer
   * lists it, also when an earlier, interrupted `up` already removed it as a standby.
   */
  demoted?: string[];
}

export function mdmNodes(ms: Machine[]) {
  const master = ms.filter((m) => m.mdm === "master");
  const slaves = ms.filter((m) => m.mdm === "slave");
  const tbs = ms.filter((m) => m.mdm === "tiebreaker");
  return { master: master[0], slaves, tbs };
}

/** The manager IPs (master + slaves): every scli command gets them all (failover). */
export function managerIps(ms: Machine[]): string[] {
  const { master, slaves } = mdmNodes(ms);
  return [master, ...slaves].filter(Boolean).map((m) => m.privateAddress);
}

export function clusterMode(ms: Machine[]): "3_node" | "5_node" {
  return mdmNodes(ms).slaves.length >= 2 ? "5_node" : "3_node";
}

/** The packages a node needs, in install order (MDM first: other packages talk to it). */
export function componentsOf(m: Machine): Component[] {
  const c: Component[] = [];
  if (m.mdm) c.push("mdm");
  for (const s of ["sds", "sdc", "lia", "gateway"] as const) if (m.services.includes(s)) c.push(s);
  if (m.services.includes("docker") && !c.includes("sdc")) c.push("sdc");
  return c;
}

export function dockerHosts(ms: Machine[]): Machine[] {
  return ms.filter((m) => m.services.includes("docker"));
}

/** The gateway node (the first with role "gateway"), or undefined when there is none. */
export function gatewayNode<M extends Pick<Machine, "services">>(ms: M[]): M | undefined {
  return ms.find((m) => m.services.includes("gateway"));
}

/** Whether the volume plugin is installed: on unless turned off, and only with a gateway. */
export function volumePluginOn(spec: {
  machines: Pick<Machine, "services">[];
  volumePlugin?: boolean;
}): boolean {
  return spec.volumePlugin !== false && gatewayNode(spec.machines) !== undefined;
}

/** Check the roles make one valid cluster; errors name the node and the fix. */
export function validateTopology(ms: Machine[]): void {
  const names = new Set<string>();
  for (const m of ms) {
    if (names.has(m.name))
      throw new Error(`two machines are named "${m.name}"; node names must be unique`);
    names.add(m.name);
  }
  const { master, slaves, tbs } = mdmNodes(ms);
  const masters = ms.filter((m) => m.mdm === "master").length;
  if (masters !== 1) throw new Error(`the cluster needs exactly one master MDM, got ${masters}`);
  const ok = (slaves.length === 1 && tbs.length === 1) || (slaves.length === 2 && tbs.length === 2);
  if (!ok) {
    throw new Error(
      `MDM roles must be 1 slave + 1 tie-breaker (3_node) or 2 + 2 (5_node); got ${slaves.length} slave(s) ` +
        `and ${tbs.length} tie-breaker(s) besides master ${master.name}`,
    );
  }
  for (const m of ms) {
    if (m.services.includes("sds") && m.dataDisks.length === 0) {
      throw new Error(`node ${m.name} runs an SDS but has no data disks (dataDisks)`);
    }
  }
  if (!ms.some((m) => m.services.includes("sds"))) throw new Error("no node runs an SDS");
}

export function secretsOf(spec: InstallSpec): string[] {
  return [spec.mdmPassword, spec.gatewayPassword, spec.liaToken ?? "", spec.privateKey].filter(
    Boolean,
  );
}
