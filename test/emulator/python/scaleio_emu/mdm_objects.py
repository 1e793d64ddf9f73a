"""MDM commands that remove or change protection domains, storage pools, fault sets and SDS
devices for the gateway's removeProtectionDomain, setStoragePoolName, setMediaType,
removeFaultSet, setFaultSetName, setSdsPerformanceParameters and setDeviceName (removeStoragePool
and removeDevice use mdm.py's cmd_remove_storage_pool and cmd_remove_sds_device). A mixin of the Mdm class (mdm.py): each `cmd_<name>` answers `ok(...)` or
`fail(...)`. Objects are selected by id (`<kind>_id`), as the REST calls name them.

Refusal texts are the emulator's own words where no public source gives the real ones (README,
"Messages"): the rules are that a container must be empty before it goes (a domain without
pools, SDSs or fault sets; a pool without volumes or devices; a fault set without SDSs) and that
removing a device must leave room for the thick volumes of its pool.
"""

from .common import fail, ok

MEDIA_TYPES = ("HDD", "SSD", "Transitional")
PERF_PROFILES = ("Default", "HighPerformance", "Compact")


def _label(obj):
    return obj.get("name") or obj["id"]


class ObjectOps:
    """Removal and changes; expects self.state and self.commit()."""

    def _by_id(self, kind, obj_id, what):
        found = next((o for o in self.state.get(kind, []) if o["id"] == obj_id), None)
        return found, (None if found else fail("Could not find the %s" % what))

    def cmd_remove_protection_domain(self, args):
        pd, error = self._by_id("pds", args.get("protection_domain_id"), "Protection Domain")
        if error:
            return error
        held = [("storage pool", p) for p in self.state["pools"] if p["pd"] == pd["id"]]
        held += [("SDS", s) for s in self.state["sds"] if s["pd"] == pd["id"]]
        held += [("fault set", f) for f in self.state.get("fault_sets", []) if f["pd"] == pd["id"]]
        if held:
            return fail("Protection Domain %s is not empty: remove its %s first"
                        % (_label(pd), ", ".join("%s %s" % (k, _label(o)) for k, o in held)))
        self.state["pds"].remove(pd)
        self.commit()
        return ok(message="Successfully removed protection domain %s" % _label(pd))

    def cmd_rename_storage_pool(self, args):
        pool, error = self._by_id("pools", args.get("storage_pool_id"), "Storage Pool")
        if error:
            return error
        name = args.get("new_name") or ""
        if not name:
            return fail("A new name is required", code=1)
        if any(p["name"] == name and p["pd"] == pool["pd"] and p is not pool
               for p in self.state["pools"]):
            return fail("A Storage Pool with the name %s already exists" % name)
        pool["name"] = name
        self.commit()
        return ok(message="Successfully renamed storage pool to %s" % name)

    def cmd_set_storage_pool_media_type(self, args):
        pool, error = self._by_id("pools", args.get("storage_pool_id"), "Storage Pool")
        if error:
            return error
        if args.get("media_type") not in MEDIA_TYPES:
            return fail("The media type must be HDD, SSD or Transitional", code=1)
        pool["media_type"] = args["media_type"]
        self.commit()
        return ok(message="Successfully set the media type of storage pool %s to %s"
                  % (_label(pool), pool["media_type"]))

    def cmd_remove_fault_set(self, args):
        fs, error = self._by_id("fault_sets", args.get("fault_set_id"), "Fault Set")
        if error:
            return error
        members = [s for s in self.state["sds"] if s.get("fault_set") == fs["id"]]
        if members:
            return fail("Fault Set %s has %d SDS(s): remove them first"
                        % (_label(fs), len(members)))
        self.state["fault_sets"].remove(fs)
        self.commit()
        return ok(message="Successfully removed fault set %s" % _label(fs))

    def cmd_rename_fault_set(self, args):
        fs, error = self._by_id("fault_sets", args.get("fault_set_id"), "Fault Set")
        if error:
            return error
        name = args.get("new_name") or ""
        if not name:
            return fail("A new name is required", code=1)
        if any(f["name"] == name and f["pd"] == fs["pd"] and f is not fs
               for f in self.state["fault_sets"]):
            return fail("A Fault Set with the name %s already exists" % name)
        fs["name"] = name
        self.commit()
        return ok(message="Successfully renamed fault set to %s" % name)

    def cmd_set_fault_set_performance_profile(self, args):
        """Recorded only: the emulator has no performance to tune (README, Differences)."""
        fs, error = self._by_id("fault_sets", args.get("fault_set_id"), "Fault Set")
        if error:
            return error
        if args.get("perf_profile") not in PERF_PROFILES:
            return fail("The performance profile must be Default, HighPerformance or Compact",
                        code=1)
        fs["perf_profile"] = args["perf_profile"]
        self.commit()
        return ok(message="Successfully set the performance profile")

    def _device(self, device_id):
        for sds in self.state["sds"]:
            for dev in sds["devices"]:
                if dev["id"] == device_id:
                    return sds, dev
        return None, None

    def cmd_rename_device(self, args):
        sds, dev = self._device(args.get("device_id"))
        if not dev:
            return fail("Could not find the device")
        name = args.get("new_name") or ""
        if not name:
            return fail("A new name is required", code=1)
        if any(d.get("name") == name and d is not dev for d in sds["devices"]):
            return fail("A device with the name %s already exists on SDS %s" % (name,
                                                                               _label(sds)))
        dev["name"] = name
        self.commit()
        return ok(message="Successfully renamed device to %s" % name)
