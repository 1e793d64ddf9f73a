// What the storage stage must change to make the cluster's pools and SDS devices what the stack
// declares, decided from what the MDM reports, pure. Only additions are made on their own:
// a pool, an SDS, a device. A device the cluster has in another pool than the config says, or a
// pool the config dropped that still holds volumes, is refused (every refusal together, before
// any change): moving a device or removing a pool with data is the user's decision.
import type { NodeDevices, StoragePoolSpec } from "../pools";
import type { SdsDeviceInfo, SystemInfo, VolumeInfo } from "../scli";

/** An SDS node as the cluster has it: its SDS name, protection domain and devices (if any). */
export interface SdsNow {
  node: string;
  sdsName: string;
  protectionDomain?: string;
  devices: SdsDeviceInfo[];
}

/** What the storage stage does, in this order, once `refused` is empty. */
export interface PoolPlan {
  /** One sentence per refusal: what is wrong and the fix. */
  refused: string[];
  addPds: string[];
  addPools: StoragePoolSpec[];
  /** New SDSs: the node, its protection domain and devices with their pools. */
  addSds: NodeDevices[];
  /** Devices to add to SDSs that exist. */
  addDevices: { sdsName: string; node: string; path: string; pool: string }[];
  /** Pools the config no longer has and that hold no volume: their devices, then the pool. */
  removePools: {
    protectionDomain: string;
    name: string;
    devices: { sdsName: string; path: string }[];
  }[];
}

/** The pools the stack's SDSs hold devices in that the config does not declare, by PD. */
function droppedPools(
  pools: StoragePoolSpec[],
  sdsNow: SdsNow[],
): Map<
  string,
  { protectionDomain: string; name: string; devices: { sdsName: string; path: string }[] }
> {
  const declared = new Set(pools.map((p) => `${p.protectionDomain}/${p.name}`));
  const dropped = new Map<
    string,
    { protectionDomain: string; name: string; devices: { sdsName: string; path: string }[] }
  >();
  for (const s of sdsNow)
    for (const d of s.devices) {
      const k = `${s.protectionDomain}/${d.pool}`;
      if (!d.pool || !s.protectionDomain || declared.has(k)) continue;
      const entry = dropped.get(k) ?? {
        protectionDomain: s.protectionDomain,
        name: d.pool,
        devices: [],
      };
      entry.devices.push({ sdsName: s.sdsName, path: d.path });
      dropped.set(k, entry);
    }
  return dropped;
}

/** Devices the config puts in another pool than the cluster has them in, with the fix. */
function movedDevices(want: NodeDevices[], sdsNow: SdsNow[]): string[] {
  const refused: string[] = [];
  for (const n of want) {
    const now = sdsNow.find((s) => s.node === n.node);
    if (!now) continue;
    if (now.protectionDomain && now.protectionDomain !== n.protectionDomain)
      refused.push(
        `node ${n.node}'s SDS ${now.sdsName} is in protection domain ${now.protectionDomain}, but its pools are in ${n.protectionDomain}: an SDS cannot change protection domain. Put its devices in pools of ${now.protectionDomain}, or remove the SDS first (scli --remove_sds --sds_name ${now.sdsName})`,
      );
    for (const d of n.devices) {
      const has = now.devices.find((x) => x.path === d.path);
      if (has?.pool && has.pool !== d.pool)
        refused.push(
          `device ${d.path} of ${n.node} is in storage pool ${has.pool}, but the config puts it in ${d.pool}: ScaleIO does not move a device between pools. Keep it in ${has.pool} in storagePools, or take it out of ${has.pool} first (scli --remove_sds_device --sds_name ${now.sdsName} --device_path ${d.path}, which moves its data to the pool's other devices) and run again`,
        );
    }
  }
  return refused;
}

/**
 * The plan from the declared pools and device assignment (install/pools.ts assignDevices), the
 * cluster's `--query_all`, each stack SDS's `--query_sds` and the volumes (`--query_all_volumes`).
 */
export function planPools(
  pools: StoragePoolSpec[],
  want: NodeDevices[],
  all: SystemInfo,
  sdsNow: SdsNow[],
  volumes: VolumeInfo[],
): PoolPlan {
  const has = (pd: string, sp?: string) => {
    const d = all.protectionDomains.find((p) => p.name === pd);
    return sp === undefined ? d !== undefined : (d?.pools.some((p) => p.name === sp) ?? false);
  };
  const refused = movedDevices(want, sdsNow);
  const removePools: PoolPlan["removePools"] = [];
  for (const gone of droppedPools(pools, sdsNow).values()) {
    const vols = volumes.filter(
      (v) =>
        !v.snapshot && v.protectionDomain === gone.protectionDomain && v.storagePool === gone.name,
    );
    if (vols.length > 0)
      refused.push(
        `storage pool ${gone.name} (protection domain ${gone.protectionDomain}) is no longer in storagePools but holds ${vols.length} volume(s): ${vols.map((v) => v.name ?? v.id).join(", ")}. Keep the pool in storagePools, or move or remove those volumes first (docker volume rm, or scli --remove_volume) and run again`,
      );
    else removePools.push(gone);
  }
  const pds = [...new Set(pools.map((p) => p.protectionDomain))];
  const addDevices: PoolPlan["addDevices"] = [];
  for (const n of want) {
    const now = sdsNow.find((s) => s.node === n.node);
    // An SDS always has a device (it is added with them): none listed means a --query_sds
    // layout without device lines, never "add them all again".
    if (!now || now.devices.length === 0) continue;
    for (const d of n.devices.filter((x) => !now.devices.some((y) => y.path === x.path)))
      addDevices.push({ sdsName: now.sdsName, node: n.node, path: d.path, pool: d.pool });
  }
  return {
    refused,
    addPds: pds.filter((pd) => !has(pd)),
    addPools: pools.filter((p) => !has(p.protectionDomain, p.name)),
    addSds: want.filter((n) => !sdsNow.some((s) => s.node === n.node)),
    addDevices,
    removePools,
  };
}
