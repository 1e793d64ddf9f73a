"""The gateway's `Statistics` relationships of System, ProtectionDomain, StoragePool, Sdc, Volume.

Field names as goscaleio v1.20.0 reads them (types/v1/types.go `Statistics`, `SdcStatistics`,
`VolumeStatistics`). Capacities in KB from the emulator's model (mdm.py): raw = the pool's SDS
devices; spare 10 %; two copies; thick volumes reserve their size; thin volumes and snapshots
allocate nothing the MDM knows of (their data lives on the SDC hosts). So
`capacityAvailableForVolumeAllocationInKb` is exactly what a thick volume may still take before
the MDM refuses it ("Not enough capacity in Storage Pool ..."). I/O counters (the `*Bwc` fields)
are zero: the emulator does not count I/O.
"""

KB_PER_GB = 1024 ** 2
SPARE_FRACTION = 0.10  # as mdm.SPARE_FRACTION


def pool_raw_kb(s, pool_id):
    return sum(d["size"] for sds in s["sds"] for d in sds["devices"]
               if (d.get("pool") or sds.get("pool")) == pool_id) // 1024


def capacity(s, pool_ids):
    """Capacity fields (KB) and volume counts over the given storage pools."""
    raw = sum(pool_raw_kb(s, p) for p in pool_ids)
    vols = [v for v in s["volumes"] if v["pool"] in pool_ids]
    thick_kb = sum(v["size_gb"] for v in vols if not v["thin"]) * KB_PER_GB
    usable_kb = sum(s["capacity_gb"].get(p, 0) for p in pool_ids) * KB_PER_GB
    free_kb = max(usable_kb - thick_kb, 0)
    spare = int(raw * SPARE_FRACTION)
    snaps = [v for v in vols if v.get("ancestor")]
    base = [v for v in vols if not v.get("ancestor")]
    return {
        "maxCapacityInKb": raw, "capacityLimitInKb": raw, "spareCapacityInKb": spare,
        "capacityInUseInKb": 2 * thick_kb, "thickCapacityInUseInKb": 2 * thick_kb,
        "thinCapacityInUseInKb": 0, "snapCapacityInUseInKb": 0,
        "snapCapacityInUseOccupiedInKb": 0, "unusedCapacityInKb": max(raw - spare - 2 * thick_kb, 0),
        "netCapacityInUseInKb": thick_kb, "netUnusedCapacityInKb": free_kb,
        "netUserDataCapacityInKb": thick_kb,
        "capacityAvailableForVolumeAllocationInKb": free_kb,
        "volumeAllocationLimitInKb": usable_kb,
        "volumeAddressSpaceInKb": sum(v["size_gb"] for v in vols) * KB_PER_GB,
        "numOfVolumes": len(vols), "numOfSnapshots": len(snaps),
        "numOfVtrees": len({v.get("vtree") or v["id"] for v in vols}),
        "numOfThickBaseVolumes": len([v for v in base if not v["thin"]]),
        "numOfThinBaseVolumes": len([v for v in base if v["thin"]]),
        "numOfMappedToAllVolumes": 0,
        "numOfUnmappedVolumes": len([v for v in vols if not v["mapped"]]),
        "numOfDevices": sum(1 for sds in s["sds"] for d in sds["devices"]
                            if (d.get("pool") or sds.get("pool")) in pool_ids),
    }


def statistics(kind, s, obj_id):
    """The Statistics object of one System / ProtectionDomain / StoragePool / Sdc / Volume."""
    if kind == "StoragePool":
        return capacity(s, [obj_id])
    if kind == "ProtectionDomain":
        pools = [p["id"] for p in s["pools"] if p["pd"] == obj_id]
        out = capacity(s, pools)
        out.update(numOfStoragePools=len(pools),
                   numOfSds=len([d for d in s["sds"] if d["pd"] == obj_id]))
        return out
    if kind == "System":
        out = capacity(s, [p["id"] for p in s["pools"]])
        out.update(numOfProtectionDomains=len(s["pds"]), numOfStoragePools=len(s["pools"]),
                   numOfSds=len(s["sds"]), numOfSdc=len(s["sdcs"]),
                   numOfFaultSets=len(s.get("fault_sets", [])))
        return out
    if kind == "Sdc":
        ids = [v["id"] for v in s["volumes"] if obj_id in v["mapped"]]
        return {"volumeIds": ids, "numOfMappedVolumes": len(ids)}
    if kind == "Volume":
        vol = next(v for v in s["volumes"] if v["id"] == obj_id)
        return {"mappedSdcIds": list(vol["mapped"]), "numOfMappedSdcs": len(vol["mapped"])}
    return None
