// Storage tiers: the storage pools of a stack and which SDS device goes into which. The stack
// config (`storagePools`, or the single-pool keys `storagePool`/`mediaType`) names the pools;
// this module resolves them against the machines' real data disks, pure, so that every conflict
// (a device in two pools, a disk number a node does not have, a node whose devices span two
// protection domains) is refused before any host changes.
import type { Machine } from "../machine";
import type { MediaType } from "./scli";

/**
 * One storage pool as the stack declares it. Which devices go in it: `disks` (1-based numbers
 * into every SDS node's data disks, as the cloud attaches them: 1 is the first), `devices` (per
 * node name, device paths that must be among that node's data disks), or neither: every data
 * disk no other pool takes (at most one pool may say neither).
 */
export interface StoragePoolSpec {
  /** A ScaleIO object name (names.ts), unique in the stack. */
  name: string;
  /**
   * `--add_storage_pool --media_type` on ScaleIO 3.x: HDD, SSD or Transitional (Dell's
   * terraform-provider-powerflex docs/resources/storage_pool.md: "Valid values are `HDD`, `SSD`
   * and `Transitional`"). 2.x pools have no media type: it is then not sent.
   */
  mediaType: MediaType;
  protectionDomain: string;
  disks?: number[];
  devices?: Record<string, string[]>;
}

/** The fields of an install spec the pools are read from. */
export interface PoolFields {
  protectionDomain: string;
  storagePool: string;
  mediaType: MediaType;
  /** Absent: one pool, `storagePool` in `protectionDomain`, with every data disk. */
  storagePools?: StoragePoolSpec[];
  /** The pool of the Docker hosts' /var/lib/docker volumes (default: the first pool). */
  dockerVolumePool?: string;
  /** The volume plugin's default pool (default: the first pool). */
  volumePluginPool?: string;
}

/** The stack's pools, in config order: the declared ones, or the single pool of the old keys. */
export function poolsOf(s: PoolFields): StoragePoolSpec[] {
  if (s.storagePools && s.storagePools.length > 0) return s.storagePools;
  return [{ name: s.storagePool, mediaType: s.mediaType, protectionDomain: s.protectionDomain }];
}

/**
 * What the pools add to a resource's diff: undefined when they are the single pool of the old
 * keys (so an existing stack's diff is unchanged), else every pool in a comparable form.
 */
export function poolsDiffKey(s: PoolFields): unknown {
  const pools = poolsOf(s);
  const p = pools[0];
  const legacy =
    pools.length === 1 &&
    p.name === s.storagePool &&
    p.mediaType === s.mediaType &&
    p.protectionDomain === s.protectionDomain &&
    !p.disks &&
    !p.devices;
  if (legacy) return undefined;
  return pools.map((x) => [
    x.name,
    x.mediaType,
    x.protectionDomain,
    x.disks ?? [],
    x.devices ?? {},
  ]);
}

/** A pool by name; throws naming the pools there are. */
export function poolNamed(s: PoolFields, name: string, what: string): StoragePoolSpec {
  const pools = poolsOf(s);
  const found = pools.find((p) => p.name === name);
  if (!found)
    throw new Error(
      `${what}: storage pool "${name}" is not one of the stack's pools (${pools.map((p) => p.name).join(", ")})`,
    );
  return found;
}

/** The pool of the Docker hosts' volumes (`dockerVolumePool`, default the first pool). */
export function dockerVolumePool(s: PoolFields): StoragePoolSpec {
  return s.dockerVolumePool ? poolNamed(s, s.dockerVolumePool, "dockerVolumePool") : poolsOf(s)[0];
}

/** The volume plugin's default pool (`volumePluginPool`, default the first pool). */
export function volumePluginPool(s: PoolFields): StoragePoolSpec {
  return s.volumePluginPool ? poolNamed(s, s.volumePluginPool, "volumePluginPool") : poolsOf(s)[0];
}

/** One SDS node's share: its protection domain and each device with its pool. */
export interface NodeDevices {
  node: string;
  protectionDomain: string;
  devices: { path: string; pool: string }[];
}

/** The devices a pool names on one machine, by number and by path; problems to `bad`. */
function namedDevices(p: StoragePoolSpec, m: Machine, bad: string[]): string[] {
  const out: string[] = [];
  for (const n of p.disks ?? []) {
    const d = m.dataDisks[n - 1];
    if (d) out.push(d);
    else
      bad.push(
        `storage pool ${p.name} takes data disk ${n} of every SDS node, but ${m.name} has ${m.dataDisks.length} (${m.dataDisks.join(", ") || "none"}): give every node that many disks (sdsDisks.count, or dataDisks), or change storagePools[].disks`,
      );
  }
  for (const d of p.devices?.[m.name] ?? []) {
    if (m.dataDisks.includes(d)) out.push(d);
    else
      bad.push(
        `storage pool ${p.name} lists ${d} on ${m.name}, which is not one of its data disks (${m.dataDisks.join(", ") || "none"}): add it to that host's dataDisks, or fix storagePools[].devices.${m.name}`,
      );
  }
  return out;
}

/**
 * Every SDS node's devices with their pool, in data disk order. Throws one error listing every
 * problem: a device in two pools, a disk number or path a node does not have, a device no pool
 * takes (when every pool names its devices), a node with no device, or a node whose devices
 * are in pools of two protection domains (an SDS belongs to one protection domain: it is added
 * to one with `--add_sds --protection_domain_name`, reference §4).
 */
export function assignDevices(s: PoolFields & { machines: Machine[] }): NodeDevices[] {
  const pools = poolsOf(s);
  const rest = pools.find((p) => !p.disks && !p.devices);
  const bad: string[] = [];
  const out: NodeDevices[] = [];
  for (const m of s.machines.filter((x) => x.services.includes("sds"))) {
    const owner = new Map<string, string>();
    for (const p of pools) {
      for (const d of namedDevices(p, m, bad)) {
        const was = owner.get(d);
        if (was && was !== p.name)
          bad.push(
            `${d} on ${m.name} is in two storage pools (${was} and ${p.name}): a device belongs to one pool`,
          );
        else owner.set(d, p.name);
      }
    }
    for (const d of m.dataDisks.filter((x) => !owner.has(x))) {
      if (rest) owner.set(d, rest.name);
      else
        bad.push(
          `${d} on ${m.name} is in no storage pool: name it in a pool's disks or devices, or leave one pool without disks/devices to take the rest`,
        );
    }
    const devices = m.dataDisks
      .filter((d) => owner.has(d))
      .map((d) => ({ path: d, pool: owner.get(d) as string }));
    const pds = [...new Set(devices.map((d) => pools.find((p) => p.name === d.pool)))].map(
      (p) => p?.protectionDomain,
    );
    const pdSet = [...new Set(pds)];
    if (devices.length === 0)
      bad.push(`${m.name} runs an SDS but no storage pool takes a device of it`);
    else if (pdSet.length > 1)
      bad.push(
        `${m.name}'s devices are in pools of protection domains ${pdSet.join(" and ")}, but an SDS belongs to one protection domain: put all of a node's devices in pools of one protection domain`,
      );
    out.push({ node: m.name, protectionDomain: pdSet[0] ?? s.protectionDomain, devices });
  }
  if (bad.length > 0) throw new Error(`storage pools: ${bad.join("; ")}. Nothing was changed.`);
  return out;
}
