"""Gateway actions on volume trees: snapshotVolumes, setVolumeSize, removeVolume (removeMode),
setVolumeMappingAccessMode, and the extra Volume fields they show.

Request and reply shapes as goscaleio v1.20.0 sends and reads them (types/v1/types.go:
SnapshotVolumesParam/Resp, SetVolumeSizeParam, RemoveVolumeParam, MapVolumeSdcParam,
SetVolumeMappingAccessModeParam). The MDM does the work (mdm_volumes.py); `mdm` is the
gateway's call into the master MDM (gateway.mdm), errors are gateway.ApiError.
"""

from . import mdm_volumes

REMOVE_MODES = mdm_volumes.REMOVE_MODES


def volume_fields(s, vol):
    """The Volume attributes of snapshots and trees (merged into gateway.to_rest's Volume)."""
    return {"ancestorVolumeId": vol.get("ancestor"), "vtreeId": mdm_volumes.vtree_of(vol),
            "consistencyGroupId": vol.get("group"),
            "accessModeLimit": vol.get("access_limit") or "ReadWrite",
            "creationTime": vol.get("created", 0), "notGenuineSnapshot": False,
            "useRmcache": False, "mappingToAllSdcsEnabled": False, "dataLayout": "MediumGranularity"}


def parent_links(vol):
    """A Volume's links to its VTree and pool (goscaleio's GetVTree follows the first)."""
    return [{"rel": "/api/parent/relationship/vtreeId",
             "href": "/api/instances/VTree::%s" % mdm_volumes.vtree_of(vol)},
            {"rel": "/api/parent/relationship/storagePoolId",
             "href": "/api/instances/StoragePool::%s" % vol["pool"]}]


def snapshot_volumes(body, mdm, token, error):
    """POST /api/instances/System::<id>/action/snapshotVolumes -> {volumeIdList, snapshotGroupId}.

    body: {"snapshotDefs": [{"volumeId", "snapshotName"?}], "accessModeLimit"?: ReadWrite|
    ReadOnly, "retentionPeriodInMin"?}. One consistency group for all the definitions.
    """
    defs = body.get("snapshotDefs")
    if not isinstance(defs, list) or not defs or not all(isinstance(d, dict) for d in defs):
        raise error(400, "snapshotDefs is required: a list of {volumeId, snapshotName}")
    if any(not d.get("volumeId") for d in defs):
        raise error(400, "snapshotDefs[].volumeId is required")
    names = [d.get("snapshotName") or "" for d in defs]
    if any(names) and not all(names):
        raise error(400, "Give every snapshotDefs entry a snapshotName, or none")
    args = {"volume_id": ",".join(d["volumeId"] for d in defs),
            "access_mode": body.get("accessModeLimit") or "ReadWrite"}
    if all(names):
        args["snapshot_name"] = ",".join(names)
    reply = mdm("snapshot_volume", args, token)
    return {"volumeIdList": reply["ids"], "snapshotGroupId": reply["group"]}


def set_volume_size(vol_id, body, mdm, token, error):
    """POST .../action/setVolumeSize {sizeInGB}: grow (rounded up to 8 GB); shrink refused."""
    size = str(body.get("sizeInGB") or "")
    if not size.isdigit() or int(size) <= 0:
        raise error(400, "sizeInGB must be a positive whole number of GB, not %r"
                    % body.get("sizeInGB"))
    mdm("modify_volume_capacity", {"volume_id": vol_id, "size_gb": size}, token)
    return {}


def remove_volume(vol_id, body, mdm, token, error):
    """POST .../action/removeVolume {removeMode}: ONLY_ME | INCLUDING_DESCENDANTS |
    DESCENDANTS_ONLY | WHOLE_VTREE. Any other value: HTTP 400 with the real gateway's text
    (goscaleio volume_test.go mock of the real answer)."""
    mode = body.get("removeMode")
    if mode not in REMOVE_MODES:
        raise error(400, "removeMode should get one of the following values: %s, but its value "
                    "is %s." % (", ".join(REMOVE_MODES), mode if mode is not None else "null"))
    mdm("remove_volume_tree", {"volume_id": vol_id, "remove_mode": mode}, token)
    return {}


def set_mapping_access_mode(vol_id, body, mdm, token, error):
    """POST .../action/setVolumeMappingAccessMode {sdcId, accessMode}."""
    if not body.get("sdcId"):
        raise error(400, "sdcId is required")
    if body.get("accessMode") not in ("ReadWrite", "ReadOnly", "NoAccess"):
        raise error(400, "accessMode must be ReadWrite, ReadOnly or NoAccess, not %r"
                    % body.get("accessMode"))
    mdm("set_volume_mapping_access_mode", {"volume_id": vol_id, "sdc_id": body["sdcId"],
                                           "access_mode": body["accessMode"]}, token)
    return {}


def set_access_mode_limit(vol_id, body, mdm, token, error):
    """POST .../action/setVolumeAccessModeLimit {accessModeLimit: ReadWrite|ReadOnly}."""
    if body.get("accessModeLimit") not in ("ReadWrite", "ReadOnly"):
        raise error(400, "accessModeLimit must be ReadWrite or ReadOnly, not %r"
                    % body.get("accessModeLimit"))
    mdm("set_volume_access_mode_limit", {"volume_id": vol_id,
                                         "access_mode": body["accessModeLimit"]}, token)
    return {}


def add_mapped_sdc_args(vol_id, body, error):
    """The MDM arguments of addMappedSdc {sdcId, allowMultipleMappings, accessMode?}."""
    if not body.get("sdcId"):
        raise error(400, "sdcId is required")
    mode = body.get("accessMode")
    if mode is not None and mode not in ("ReadWrite", "ReadOnly", "NoAccess"):
        raise error(400, "accessMode must be ReadWrite, ReadOnly or NoAccess, not %r" % mode)
    args = {"volume_id": vol_id, "sdc_id": body["sdcId"],
            "allow_multi_map": str(body.get("allowMultipleMappings", "FALSE")).upper() == "TRUE"}
    if mode:
        args["access_mode"] = mode
    return args
