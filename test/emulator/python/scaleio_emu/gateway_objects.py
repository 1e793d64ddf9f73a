"""Gateway types and calls beyond volumes: Device, FaultSet and VTree instances, the MDM cluster
(queryMdmCluster), system limits (querySystemLimits), SDC lookup by IP (queryIdByKey), and the
removal and setters of protection domains, storage pools, fault sets and devices.

Shapes as goscaleio v1.20.0 sends and reads them (types/v1/types.go: Device, DeviceParam,
FaultSet, FaultSetParam, MdmCluster, Mdm, QuerySystemLimitsResponse, GetSdcIDByIPParam;
vTreeTypes.go: VTreeDetails). `s` is the MDM's state as `query` returns it; `mdm(cmd, args,
token)` runs an MDM command (gateway.mdm); `error(status, message)` builds gateway.ApiError.
"""

from . import common, mdm_volumes

# PowerFlex 3.x: volumes up to 1 PB (1,048,576 GB); the type name goscaleio's GetMaxVol reads.
MAX_VOLUME_GB = 1024 * 1024
CLUSTER_MODES = {"1_node": "OneNode", "3_node": "ThreeNodes", "5_node": "FiveNodes"}
KINDS = ("Device", "FaultSet", "VTree")


def _pool_of(s, sds, dev):
    pool_id = dev.get("pool") or sds.get("pool")
    return next((p for p in s["pools"] if p["id"] == pool_id), None)


def devices(s):
    """Every SDS device as a REST Device (without links)."""
    out = []
    for sds in s["sds"]:
        for dev in sds["devices"]:
            pool = _pool_of(s, sds, dev)
            out.append({"id": dev["id"], "name": dev.get("name"), "sdsId": sds["id"],
                        "storagePoolId": pool["id"] if pool else None,
                        "deviceCurrentPathName": dev["path"],
                        "deviceOriginalPathName": dev["path"],
                        "maxCapacityInKb": dev["size"] // 1024,
                        "capacityLimitInKb": dev["size"] // 1024,
                        "mediaType": pool["media_type"] if pool else "HDD",
                        "deviceState": "Normal", "errorState": "None",
                        "aggregatedState": "Normal", "deviceType": "Unknown"})
    return out


def vtrees(s):
    """One VTree per tree of volumes: its base volume (while it exists) and pool."""
    trees = {}
    for v in s["volumes"]:
        tid = mdm_volumes.vtree_of(v)
        tree = trees.setdefault(tid, {"id": tid, "name": None, "storagePoolId": v["pool"],
                                      "baseVolumeId": None, "rootVolumes": [],
                                      "dataLayout": "MediumGranularity",
                                      "compressionMethod": "NotApplicable",
                                      "inDeletion": False})
        if v["id"] == tid:  # a VTree is named after its base volume
            tree.update(baseVolumeId=v["id"], name=v["name"])
        if not v.get("ancestor"):
            tree["rootVolumes"].append(v["id"])
    return list(trees.values())


def instances(kind, s):
    """The REST objects of one of KINDS (without links)."""
    if kind == "Device":
        return devices(s)
    if kind == "FaultSet":
        return [{"id": f["id"], "name": f.get("name"), "protectionDomainId": f["pd"]}
                for f in s.get("fault_sets", [])]
    return vtrees(s)


def mdm_cluster(s):
    """POST /api/instances/System/queryMdmCluster: the members by role, as types.MdmCluster."""
    def member(m):
        role = "TieBreaker" if not m.get("manager", True) else "Manager"
        return {"id": m["id"], "name": m.get("name"), "port": common.MDM_PORT, "ips": m["ips"],
                "managementIPs": m.get("mgmt_ips") or [], "role": role,
                "status": "Normal" if s["up"].get(m["id"], False) else "Disconnected",
                "virtualInterfaces": m.get("vip_interfaces") or [],
                "versionInfo": common.release_string(s["system"]["version"])}
    by_role = {r: [member(m) for m in s["members"] if m["role"] == r]
               for r in ("master", "slave", "tb", "standby")}
    voters = [m for m in s["members"] if m["role"] in ("master", "slave", "tb")]
    good = [m for m in voters if s["up"].get(m["id"], False)]
    degraded = len(good) < len(voters)
    return {"id": s["system"]["id"],
            "clusterMode": CLUSTER_MODES.get(s["mode"], s["mode"]),
            "clusterState": "NotClustered" if s["mode"] == "1_node" else
            ("ClusteredDegraded" if degraded else "ClusteredNormal"),
            "goodNodesNum": len(good),
            "goodReplicasNum": len([m for m in good if m["role"] in ("master", "slave")]),
            "virtualIps": s["system"].get("virtual_ips") or [],
            "master": by_role["master"][0], "slaves": by_role["slave"],
            "tieBreakers": by_role["tb"], "standbyMDMs": by_role["standby"]}


def system_limits():
    """POST /api/instances/System/action/querySystemLimits (types.QuerySystemLimitsResponse)."""
    return {"systemLimitEntryList": [
        {"type": "volumeSizeGb", "description": "Maximum volume size in GB",
         "maxVal": str(MAX_VOLUME_GB)},
        {"type": "snapshotsPerVtree", "description": "Maximum snapshots per volume tree",
         "maxVal": str(mdm_volumes.MAX_SNAPSHOTS_PER_VTREE)},
    ]}


def sdc_id_by_ip(s, body, error):
    """POST /api/types/Sdc/instances/action/queryIdByKey {ip} -> the SDC's id."""
    if not body.get("ip"):
        raise error(400, "ip is required")
    sdc = next((c for c in s["sdcs"] if c["ip"] == body["ip"]), None)
    if sdc is None:
        raise error(500, "Could not find the SDC")
    return sdc["id"]


def create(kind, body, mdm, token, error):
    """POST /api/types/{FaultSet,Device}/instances -> {id}."""
    if kind == "FaultSet":
        reply = mdm("add_fault_set", {"protection_domain_id": body.get("protectionDomainId"),
                                      "fault_set_name": body.get("name")}, token)
        return {"id": reply["message"].rsplit(" ", 1)[-1]}
    if not body.get("deviceCurrentPathname"):
        raise error(400, "deviceCurrentPathname is required")
    reply = mdm("add_sds_device", {"sds_id": body.get("sdsId"),
                                   "storage_pool_id": body.get("storagePoolId"),
                                   "device_path": body["deviceCurrentPathname"],
                                   "device_name": body.get("name")}, token)
    return {"id": reply["message"].rsplit(" ", 1)[-1]}


# (type, action) -> (MDM command, its id argument, {body field: MDM argument}, required fields)
ACTIONS = {
    ("ProtectionDomain", "removeProtectionDomain"): ("remove_protection_domain",
                                                     "protection_domain_id", {}),
    ("StoragePool", "removeStoragePool"): ("remove_storage_pool", "storage_pool_id", {}),
    ("StoragePool", "setStoragePoolName"): ("rename_storage_pool", "storage_pool_id",
                                            {"name": "new_name"}),
    ("StoragePool", "setMediaType"): ("set_storage_pool_media_type", "storage_pool_id",
                                      {"mediaType": "media_type"}),
    ("FaultSet", "removeFaultSet"): ("remove_fault_set", "fault_set_id", {}),
    ("FaultSet", "setFaultSetName"): ("rename_fault_set", "fault_set_id",
                                      {"newName": "new_name"}),
    ("FaultSet", "setSdsPerformanceParameters"): ("set_fault_set_performance_profile",
                                                  "fault_set_id",
                                                  {"perfProfile": "perf_profile"}),
    ("Device", "setDeviceName"): ("rename_device", "device_id", {"newName": "new_name"}),
}


def action(kind, name, obj_id, body, mdm, token, error):
    """POST /api/instances/<kind>::<id>/action/<name> for the ACTIONS above; None if unknown."""
    if (kind, name) == ("Device", "removeDevice"):  # the MDM selects the SDS, then its device
        dev = next(d for d in devices(mdm("query", {}, token)["state"]) if d["id"] == obj_id)
        mdm("remove_sds_device", {"sds_id": dev["sdsId"], "device_id": obj_id}, token)
        return {}
    spec = ACTIONS.get((kind, name))
    if spec is None:
        return None
    cmd, id_arg, fields = spec
    args = {id_arg: obj_id}
    for field, arg in fields.items():
        if body.get(field) in (None, ""):
            raise error(400, "%s is required" % field)
        args[arg] = body[field]
    mdm(cmd, args, token)
    return {"id": obj_id} if kind == "StoragePool" else {}
