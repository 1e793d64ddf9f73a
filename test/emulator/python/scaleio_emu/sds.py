"""The SDS daemon: answers the MDM about its devices and remembers which system adopted it.

Real SDSs store the volume data on these devices; the emulator only checks and reports them
(volume data lives on the SDC host, see sdc.py), so nothing is ever written to an SDS device.
"""

import os
import stat
import time

from . import common
from .common import fail, ok

NAME = "sds"
DATA = common.root("/var/lib/scaleio-emu/sds")
STATE_FILE = os.path.join(DATA, "state.json")


def describe(path):
    full = common.root(path)
    info = {"path": path, "exists": os.path.exists(full), "block": False, "size": 0,
            "in_use": None}
    if not info["exists"]:
        return info
    info["block"] = stat.S_ISBLK(os.stat(full).st_mode)
    try:
        fd = os.open(full, os.O_RDONLY)
        try:
            info["size"] = os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
    except OSError as e:
        info["in_use"] = "cannot open: %s" % e.strerror
    if info["block"] and is_mounted(full):
        info["in_use"] = "mounted"
    return info


def is_mounted(dev_path):
    try:
        rdev = os.stat(dev_path).st_rdev
        with open("/proc/self/mountinfo") as f:
            for line in f:
                major, minor = line.split()[2].split(":")
                if os.makedev(int(major), int(minor)) == rdev:
                    return True
    except (OSError, ValueError):
        pass
    return False


class Sds:
    def __init__(self):
        self.version = common.installed_version("sds")
        self.state = common.load_json(STATE_FILE, {})

    def dispatch(self, request, peer, local, port):
        op = request.get("op")
        if op == "describe":
            return ok(devices=[describe(p) for p in request.get("devices", [])],
                      system_id=self.state.get("system_id"), version=self.version)
        if op == "adopt":
            if self.state.get("system_id") not in (None, request["system_id"]):
                return fail("this SDS already belongs to system %s" % self.state["system_id"])
            self.state = {"system_id": request["system_id"], "sds_id": request["sds_id"],
                          "mdm_ips": request["mdm_ips"]}
            common.save_json(STATE_FILE, self.state)
            return ok()
        if op == "release":
            if self.state.get("system_id") == request.get("system_id"):
                self.state = {}
                common.save_json(STATE_FILE, self.state)
            return ok()
        if op == "ping":
            if self.state.get("system_id") != request.get("system_id"):
                return fail("not a member of system %s" % request.get("system_id"))
            return ok(sds_id=self.state["sds_id"])
        return fail("Unknown request %r" % op, code=1)


def main():
    sds = Sds()
    common.serve("0.0.0.0", common.SDS_PORT, sds.dispatch)
    common.log(NAME, "listening on %d" % common.SDS_PORT)
    while True:
        time.sleep(3600)
