"""MDM commands on volume trees: snapshots, growth, removal modes and mapping access modes.

A mixin of the Mdm class (mdm.py): every `cmd_<name>` here is an MDM management command, called
with the scli/gateway arguments and answering `common.ok(...)` or `common.fail(...)`.

State kept on each volume (besides mdm.py's id/name/size_gb/pool/thin/mapped):
  "vtree"        the volume tree (VTree) id; a base volume's tree has the base volume's id.
  "ancestor"     the volume this one is a snapshot of, or None for a base volume; when that
                 volume is removed with ONLY_ME the snapshot moves up to its grandparent.
  "snap_of"      the volume whose data this snapshot copied (never changes; the SDCs copy it).
  "group"        the consistency group id of the snapshot call that made it.
  "access_limit" ReadWrite | ReadOnly (a snapshot's accessModeLimit; base volumes ReadWrite).
  "access_modes" {sdcId: ReadWrite | ReadOnly | NoAccess}: the access mode of each mapping.
Sources: README "Sources" (snapshots: CoprHD ScaleIOSnapshot*Command; growth: CoprHD
ScaleIOModifyVolumeCapacityCommand; removal flags: the labbuildr ScaleIO PowerShell module;
REST forms: goscaleio v1.20.0 types).
"""

import math
import time

from . import common
from .common import fail, ok

# Snapshots per volume tree on 2.x/3.x (dvol-reference §2: 126 per volume tree up to 4.x).
MAX_SNAPSHOTS_PER_VTREE = 126
REMOVE_MODES = ("ONLY_ME", "INCLUDING_DESCENDANTS", "DESCENDANTS_ONLY", "WHOLE_VTREE")
# scli's flags for the removal modes (labbuildr ScaleIO PowerShell module).
REMOVE_FLAGS = {"remove_with_descendant_snapshots": "INCLUDING_DESCENDANTS",
                "remove_descendant_snapshots_only": "DESCENDANTS_ONLY",
                "remove_entire_snapshot_tree": "WHOLE_VTREE"}
# Mapping access modes: the REST spelling, and scli's (--access_mode) mapped onto it.
ACCESS_MODES = {"ReadWrite": "ReadWrite", "ReadOnly": "ReadOnly", "NoAccess": "NoAccess",
                "READ_WRITE": "ReadWrite", "READ_ONLY": "ReadOnly", "NO_ACCESS": "NoAccess"}


def remove_mode_of(args):
    """The removal mode of a --remove_volume / removeVolume request (default ONLY_ME)."""
    for flag, mode in REMOVE_FLAGS.items():
        if args.get(flag):
            return mode
    return args.get("remove_mode") or "ONLY_ME"


def vtree_of(vol):
    """The VTree id of a volume (a base volume's tree is named after it)."""
    return vol.get("vtree") or vol["id"]


def volume_label(vol):
    return vol["name"] or vol["id"]


class VolumeOps:
    """Volume-tree commands; expects self.state, self.commit() and self.find_volume()."""

    def descendants(self, vol):
        """Every snapshot below vol (children first, then theirs)."""
        out, todo = [], [vol["id"]]
        while todo:
            parent = todo.pop(0)
            kids = [v for v in self.state["volumes"] if v.get("ancestor") == parent]
            out += kids
            todo += [k["id"] for k in kids]
        return out

    def cmd_snapshot_volume(self, args):
        """--snapshot_volume --volume_id a[,b] [--snapshot_name s1[,s2]]: one consistency group.

        Each snapshot is a thin volume of the source's size in the source's pool and VTree, with
        ancestor = the source. Names are unique system-wide like every volume name.
        """
        ids = [x for x in (args.get("volume_id") or "").split(",") if x]
        names_in = [x for x in (args.get("volume_name") or "").split(",") if x]
        sources = [next((v for v in self.state["volumes"] if v["id"] == i), None) for i in ids]
        sources += [next((v for v in self.state["volumes"] if v["name"] == n), None)
                    for n in names_in]
        if not sources or any(v is None for v in sources):
            return fail("Could not find the volume")
        snap_names = [x for x in (args.get("snapshot_name") or "").split(",") if x]
        if snap_names and len(snap_names) != len(sources):
            return fail("--snapshot_name needs one name per volume (%d names for %d volumes)"
                        % (len(snap_names), len(sources)), code=1)
        for name in snap_names:
            if any(v["name"] == name for v in self.state["volumes"]):
                return fail("A volume with the name %s already exists" % name)
        if len(set(snap_names)) != len(snap_names):
            return fail("A volume with the name %s already exists" % snap_names[0])
        access = ACCESS_MODES.get(args.get("access_mode") or "ReadWrite")
        if access not in ("ReadWrite", "ReadOnly"):
            return fail("The snapshot access mode must be ReadWrite or ReadOnly", code=1)
        for src in sources:
            tree = [v for v in self.state["volumes"] if vtree_of(v) == vtree_of(src)
                    and v.get("ancestor")]
            if len(tree) >= MAX_SNAPSHOTS_PER_VTREE:
                return fail("The volume tree of %s already has %d snapshots, the maximum"
                            % (volume_label(src), MAX_SNAPSHOTS_PER_VTREE))
        group = common.new_id()
        made = []
        for i, src in enumerate(sources):
            snap = {"id": common.new_id(), "name": snap_names[i] if snap_names else None,
                    "size_gb": src["size_gb"], "pool": src["pool"], "thin": True, "mapped": [],
                    "ancestor": src["id"], "snap_of": src["id"], "vtree": vtree_of(src),
                    "group": group, "access_limit": access, "created": int(time.time())}
            self.state["volumes"].append(snap)
            made.append((src, snap))
        self.commit()
        lines = ["Snapshot created successfully" if len(made) == 1 else
                 "Snapshots on %d volumes created successfully." % len(made),
                 "Consistency group ID: %s" % group]
        lines += ["    Source volume with ID %s => %s %s" % (src["id"], snap["id"],
                                                            snap["name"] or "")
                  for src, snap in made]
        return ok(message="\n".join(lines), ids=[s["id"] for _, s in made], group=group)

    def cmd_modify_volume_capacity(self, args):
        """--modify_volume_capacity --volume_id|_name --size_gb N: grow to N rounded up to 8 GB.

        A smaller size than the current one is refused (volumes only grow); a thick volume must
        fit the pool's free capacity, as at creation.
        """
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        try:
            requested = math.ceil(float(args.get("size_gb")))
        except (TypeError, ValueError):
            return fail("--size_gb must be a number", code=1)
        size = int(math.ceil(requested / 8.0) * 8)
        if size < vol["size_gb"]:
            return fail("The volume %s is %d GB: its size can only be increased (asked for %d GB)"
                        % (volume_label(vol), vol["size_gb"], requested))
        if not vol["thin"]:
            free = self.pool_capacity_gb(vol["pool"]) - self.thick_used_gb(vol["pool"])
            if size - vol["size_gb"] > free:
                pool = next(p for p in self.state["pools"] if p["id"] == vol["pool"])
                return fail("Not enough capacity in Storage Pool %s: %d GB requested, %d GB free"
                            % (pool["name"], size - vol["size_gb"], max(free, 0)))
        vol["size_gb"] = size
        self.commit()
        lines = ["Rounding up volume size to %d GB" % size] if size != requested else []
        lines.append("Successfully modified volume size to %d GB" % size)
        return ok(message="\n".join(lines))

    def cmd_remove_volume_tree(self, args):
        """Remove a volume by removal mode (ONLY_ME, INCLUDING_DESCENDANTS, DESCENDANTS_ONLY,
        WHOLE_VTREE). ONLY_ME keeps the volume's snapshots: they move up to its ancestor and
        the VTree lives on. Every volume to remove must be unmapped first.
        """
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        mode = args.get("remove_mode") or "ONLY_ME"
        if mode not in REMOVE_MODES:
            return fail("removeMode should get one of the following values: %s, but its value "
                        "is %s." % (", ".join(REMOVE_MODES), mode), code=1)
        if mode == "WHOLE_VTREE":
            doomed = [v for v in self.state["volumes"] if vtree_of(v) == vtree_of(vol)]
        elif mode == "ONLY_ME":
            doomed = [vol]
        else:
            doomed = self.descendants(vol) + ([vol] if mode == "INCLUDING_DESCENDANTS" else [])
        for v in doomed:
            if v["mapped"]:
                return fail("The volume %s is mapped to %d SDC(s); unmap it first"
                            % (volume_label(v), len(v["mapped"])))
        gone = {v["id"] for v in doomed}
        for v in self.state["volumes"]:
            if v.get("ancestor") in gone and v["id"] not in gone:
                v["ancestor"] = vol.get("ancestor")  # ONLY_ME: children move up a level
        self.state["volumes"] = [v for v in self.state["volumes"] if v["id"] not in gone]
        self.commit()
        return ok(message="Successfully removed volume %s" % volume_label(vol)
                  if len(doomed) == 1 else "Successfully removed %d volumes" % len(doomed))

    def cmd_set_volume_access_mode_limit(self, args):
        """The most a mapping of this volume may allow: ReadWrite | ReadOnly (accessModeLimit)."""
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        limit = ACCESS_MODES.get(args.get("access_mode") or "")
        if limit not in ("ReadWrite", "ReadOnly"):
            return fail("accessModeLimit must be ReadWrite or ReadOnly (got %r)"
                        % args.get("access_mode"), code=1)
        vol["access_limit"] = limit
        self.commit()
        return ok(message="Successfully set the access mode limit of volume %s to %s"
                  % (volume_label(vol), limit))

    def cmd_set_volume_mapping_access_mode(self, args):
        """The access mode of one mapping: ReadWrite | ReadOnly | NoAccess (or scli's forms)."""
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        sdc = self.find_sdc(args)
        if not sdc:
            return fail("Could not find the SDC")
        if sdc["id"] not in vol["mapped"]:
            return fail("The volume is not mapped to this SDC")
        mode = ACCESS_MODES.get(args.get("access_mode") or "")
        if mode is None:
            return fail("accessMode must be ReadWrite, ReadOnly or NoAccess (got %r)"
                        % args.get("access_mode"), code=1)
        if mode == "ReadWrite" and vol.get("access_limit") == "ReadOnly":
            return fail("The volume %s is read-only (accessModeLimit ReadOnly) and cannot be "
                        "mapped ReadWrite" % volume_label(vol))
        vol.setdefault("access_modes", {})[sdc["id"]] = mode
        self.commit()
        return ok(message="Successfully set the access mode of volume %s on SDC %s to %s"
                  % (volume_label(vol), sdc["ip"], mode))


def mapping_access_mode(vol, sdc_id):
    """The access mode of a live mapping (ReadWrite unless set otherwise)."""
    return (vol.get("access_modes") or {}).get(sdc_id, "ReadWrite")


def snapshot_sources(state):
    """{snapshotId: the volume it copied} for the SDCs, which copy the data (sdc.py)."""
    return {v["id"]: v["snap_of"] for v in state["volumes"] if v.get("snap_of")}
