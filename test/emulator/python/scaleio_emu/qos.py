"""The SDC's per-mapping QoS limits, enforced with cgroup v1 blkio throttles on its loop devices.

Real ScaleIO keeps an IOPS and a bandwidth limit per (volume, SDC) mapping (REST
setMappedSdcLimits, read back as mappedSdcInfo[].limitIops / limitBwInMbps) and holds that SDC's
I/O to the volume under them. The emulator's volume is a loop device, so the SDC asks the kernel
to do it: for each mapped volume with limits it writes

    blkio.throttle.{read,write}_iops_device   "<major>:<minor> <iops>"
    blkio.throttle.{read,write}_bps_device    "<major>:<minor> <KB/s * 1024>"

into every blkio cgroup it can see (its host's whole cgroup v1 blkio tree: the host's own
processes and every Docker container's cgroup), and "<major>:<minor> 0" (no rule) when a limit
is lifted or the volume is unmapped. Measured on these machines (kernel 6.18, cgroup v1): a
throttle holds only for the tasks of the cgroup it is written in, never for its children (v1
blk-throttle is not hierarchical), so it must be in each container's own cgroup; new cgroups
(a container starting) get the rules from an inotify watch on the tree, within milliseconds,
and a full pass runs after every MDM sync as a backstop. The MDM pushes a change to the SDC at
once (push() below, answered by sdc.py on_limits), so a limit holds when setMappedSdcLimits
returns; each carries the MDM state's serial, so an older sync answer cannot undo it.

What this cannot show (README, Differences): the limit holds per cgroup, so two containers on
one host writing to one volume get the limit each (real ScaleIO: one limit for the mapping); the
IOPS limit is applied to reads and to writes separately (real: one count); only direct I/O (and
reads) are throttled: buffered writes reach the device through the kernel's writeback, which
cgroup v1 does not charge to the writer.
"""

import ctypes
import json
import os
import socket
import struct
import threading

from . import common

NAME = "scini"
FILES = {"iops": ("blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"),
         "bw_kbps": ("blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device")}
# inotify(7) constants
IN_MOVED_TO, IN_CREATE, IN_ONLYDIR = 0x80, 0x100, 0x01000000
IN_IGNORED, IN_Q_OVERFLOW, IN_ISDIR = 0x8000, 0x4000, 0x40000000
EVENT = struct.Struct("iIII")


def blkio_root(mountinfo="/proc/self/mountinfo"):
    """The mount point of the cgroup v1 blkio hierarchy as this process sees it, or None."""
    try:
        with open(mountinfo) as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                fields = post.split()
                if len(fields) >= 3 and fields[0] == "cgroup" and \
                        "blkio" in fields[2].split(","):
                    return pre.split()[4]
    except OSError:
        pass
    return None


def rule_values(limits):
    """{file name: value} for one mapping's limits ({"iops", "bw_kbps"}; 0 or absent = none)."""
    limits = limits or {}
    out = {}
    for key, names in FILES.items():
        value = int(limits.get(key) or 0)
        for name in names:
            out[name] = value * 1024 if key == "bw_kbps" else value
    return out


def push(ip, port, system_id, vol_id, limits, timeout=2.0):
    """The MDM's side: hands one mapping's limits to its SDC (sdc.py on_limits), which answers
    once its throttles are written. Returns None on success, else why not (the SDC then gets them
    at its next sync, as one that is down gets them when it comes back)."""
    ask = {"op": "limits", "system_id": system_id, "volume": vol_id, "limits": limits}
    try:
        with socket.create_connection((ip, port), timeout=timeout) as conn:
            conn.sendall((json.dumps(ask) + "\n").encode())
            reply = json.loads(conn.makefile("rb").readline() or b"{}")
    except (OSError, ValueError) as e:
        return "SDC at %s:%d not reached: %s" % (ip, port, e)
    return None if reply.get("ok") else reply.get("error", "no answer")


def read_rules(path):
    """The rules in one throttle file: {"major:minor": value}."""
    rules = {}
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) == 2 and ":" in words[0]:
                rules[words[0]] = int(words[1])
    return rules


class Throttle:
    """The limits this SDC wants on its loop devices, kept in force in every blkio cgroup.

    want(volume, "major:minor", limits) after each MDM sync; drop(volume) when a volume is
    detached (its device number may be reused by the next loop device). Errors (no blkio
    hierarchy, a read-only one) are logged once and kept in last_error; the devices keep working.
    """

    def __init__(self, root=None):
        self.root = root if root is not None else blkio_root()
        self.lock = threading.RLock()
        self.wanted = {}  # volume id -> (devno, {file: value})
        self.lifted = set()  # devnos whose rules must go from every cgroup
        self.last_error = None if self.root else "no cgroup v1 blkio hierarchy is mounted"

    def want(self, vol_id, devno, limits):
        """Sets the limits of one mapped volume's device; applied at the next apply_all()."""
        with self.lock:
            old = self.wanted.get(vol_id)
            if old and old[0] != devno:
                self.lifted.add(old[0])
            self.wanted[vol_id] = (devno, rule_values(limits))
            self.lifted.discard(devno)

    def drop(self, vol_id):
        """The volume is going: its device's rules are removed from every cgroup now."""
        with self.lock:
            old = self.wanted.pop(vol_id, None)
            if old and old[0] not in {d for d, _ in self.wanted.values()}:
                self.lifted.add(old[0])
            self.apply_all()

    def targets(self):
        """{devno: {file: value}} to enforce: wanted limits, and 0 (no rule) for lifted ones."""
        out = {devno: dict.fromkeys(rule_values(None), 0) for devno in self.lifted}
        out.update({devno: values for devno, values in self.wanted.values()})
        return out

    def apply_dir(self, cgroup, targets):
        """Writes the rules that differ into one cgroup directory; False if it vanished."""
        for name in rule_values(None):
            path = os.path.join(cgroup, name)
            try:
                current = read_rules(path)
                for devno, values in targets.items():
                    if current.get(devno, 0) != values[name]:
                        with open(path, "w") as f:
                            f.write("%s %d\n" % (devno, values[name]))
            except FileNotFoundError:
                return False  # a container's cgroup removed meanwhile
        return True

    def apply_all(self):
        """One pass over the whole blkio tree; returns True when every cgroup took the rules."""
        if not self.root:
            return False
        with self.lock:
            targets = self.targets()
            if not targets:
                return True
            try:
                for cgroup, _, _ in os.walk(self.root):
                    self.apply_dir(cgroup, targets)
            except OSError as e:
                return self.failed("blkio throttle in %s failed: %s" % (self.root, e))
            self.lifted.clear()
            self.last_error = None
            return True

    def failed(self, message):
        if message != self.last_error:
            common.log(NAME, message)
        self.last_error = message
        return False

    # ---------- new cgroups (containers starting) ----------
    def watch(self):
        """Runs forever: applies the rules to every new cgroup as it is created (inotify)."""
        if not self.root:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC)
        if fd < 0:
            self.failed("inotify_init1 failed (errno %d): new cgroups get the limits at the "
                        "next sync" % ctypes.get_errno())
            return
        dirs = {}

        def add(path):
            wd = libc.inotify_add_watch(fd, path.encode(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)
            if wd >= 0:
                dirs[wd] = path

        self.watch_tree(self.root, add, {})
        while True:
            data = os.read(fd, 65536)
            for name, wd, mask in self.events(data):
                if mask & IN_Q_OVERFLOW:
                    self.apply_all()
                elif mask & IN_IGNORED:  # the cgroup was removed (a container gone)
                    dirs.pop(wd, None)
                elif mask & IN_ISDIR and wd in dirs:
                    self.on_new_cgroup(os.path.join(dirs[wd], name), add)

    @staticmethod
    def events(data):
        """(name, wd, mask) of each inotify event in one read."""
        offset = 0
        while offset + EVENT.size <= len(data):
            wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
            name = data[offset + EVENT.size:offset + EVENT.size + length].rstrip(b"\0").decode()
            yield name, wd, mask
            offset += EVENT.size + length

    def on_new_cgroup(self, path, add):
        """Watches the new cgroup and those below it (e.g. Docker's docker/ made after we
        started: its containers must be seen too), and gives each the rules in force."""
        with self.lock:
            try:
                self.watch_tree(path, add, self.targets())
            except OSError as e:
                self.failed("blkio throttle in %s failed: %s" % (path, e))

    def watch_tree(self, path, add, targets):
        """Watch first, then list: a child made from then on is an event, one made before is
        listed here (runc makes docker/ and docker/<id> one right after the other: a walk that
        listed docker/ before watching it missed the first container in a lab run)."""
        add(path)
        if targets:
            self.apply_dir(path, targets)
        try:
            children = [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return  # removed meanwhile
        for child in children:
            self.watch_tree(child, add, targets)
