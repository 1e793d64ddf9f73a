"""The SDC daemon (service scini): registers with the MDM and turns mapped volumes into block devices.

Real ScaleIO has a kernel module that reads and writes the data on the SDS devices over the
network. The emulator keeps each mapped volume's data in a sparse file on the SDC host, attaches
it to a loop device, and publishes that device as /dev/scini<letter> (same major:minor) with the
stable /dev/disk/by-id/emc-vol-<systemId>-<volumeId> link. drv_cfg talks to this daemon over a
unix socket instead of the /dev/scini ioctl interface.

Data follows the mapping (as on real ScaleIO, where it lives on the SDSs): every copy of a volume
carries a generation number. When a volume is newly mapped here, the SDC asks its peers on the
cluster network (UDP broadcast on DATA_PORT, "who has volume X?") and copies the newest image
(only its data extents) over TCP before attaching it; the copy it then writes to is newer than
every other. A peer that is off cannot answer: its newer data is not seen (README: Differences).

Each mapping's QoS limits (IOPS, bandwidth) come from the MDM with the mappings and are enforced
on the volume's loop device by cgroup v1 blkio throttles in every cgroup of the host (qos.py).
"""

import ipaddress

import json
import os
import socket
import stat
import string
import subprocess
import threading
import time
import uuid

from . import common, qos

NAME = "scini"
CONF = common.root("/etc/emc/scaleio/drv_cfg.txt")
GUID_FILE = common.root("/etc/emc/scaleio/sdc_guid")
DATA = common.root("/var/lib/scaleio-emu/sdc")
STATE_FILE = os.path.join(DATA, "state.json")
SOCKET = common.root("/run/scaleio-emu/scini.sock")
DEV = common.root("/dev")
BY_ID = common.root("/dev/disk/by-id")
SYNC_S = 2.0
# Emulator-only port for copying volume images between SDC hosts (UDP discovery + TCP copy).
DATA_PORT = int(os.environ.get("SCALEIO_EMU_SDC_DATA_PORT", "7079"))
WHO_HAS_WAIT_S = 1.0


def read_mdm_systems(path=None):
    """The config file's `mdm` lines, one list of IPs per line (one MDM cluster each):
    `mdm ip1,ip2` (reference §5; EMC's puppet-scaleio matches `^mdm <ips>$`)."""
    systems = []
    try:
        with open(path or CONF) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "mdm":
                    systems.append([ip for ip in words[1].split(",") if ip])
    except OSError:
        pass
    return systems


def valid_ip(text):
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def modify_mdm_ips(systems, ip, new_ips):
    """`drv_cfg --mod_mdm_ip --ip <ip> --new_mdm_ip <new_ips>` on a list of systems: the one
    holding `ip` gets `new_ips` instead. Returns (systems, error)."""
    bad = [x for x in [ip] + new_ips if not valid_ip(x)]
    if bad or not new_ips:
        return systems, "invalid IP address: %s" % (",".join(bad) or "(empty list)")
    for i, s in enumerate(systems):
        if ip in s:
            return systems[:i] + [list(new_ips)] + systems[i + 1:], None
    known = ",".join(x for s in systems for x in s) or "none"
    return systems, "MDM IP %s is not one of this SDC's MDM IPs (%s)" % (ip, known)


def guid():
    """Created once and kept: the MDM knows an SDC by its GUID across restarts and IP changes."""
    try:
        with open(GUID_FILE) as f:
            value = f.read().strip()
        if value:
            return value
    except OSError:
        pass
    value = str(uuid.uuid4()).upper()
    os.makedirs(os.path.dirname(GUID_FILE), exist_ok=True)
    with open(GUID_FILE, "w") as f:
        f.write(value + "\n")
    return value


def run(args):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True).stdout.strip()


class Sdc:
    def __init__(self):
        self.guid = guid()
        self.version = common.installed_version("sdc")
        self.lock = threading.RLock()
        # volume id -> {"letter", "loop", "size_gb", "system_id"}; kept on disk so a restart
        # gives every volume its old name back.
        self.state = common.load_json(STATE_FILE, {"volumes": {}})
        self.system_id = self.state.get("system_id")
        self.sdc_id = self.state.get("sdc_id")
        self.mdms = []
        # The MDMs the running driver knows, one list per MDM cluster: read from the config file
        # when the service starts (as the real service loads it), changed live by
        # `drv_cfg --mod_mdm_ip` without --file. Editing the file alone changes nothing until
        # the service restarts.
        self.systems = read_mdm_systems()
        self.connected_ip = None
        self.last_error = None
        self.throttle = qos.Throttle()

    def save(self):
        self.state["system_id"] = self.system_id
        self.state["sdc_id"] = self.sdc_id
        common.save_json(STATE_FILE, self.state)

    # ---------- block devices ----------
    def backing_file(self, vol_id):
        return os.path.join(DATA, "%s.img" % vol_id)

    def loop_of(self, path):
        """The loop device already attached to path, if any (after a daemon restart)."""
        out = run(["losetup", "--noheadings", "--output", "NAME", "--associated", path])
        return out.splitlines()[0].strip() if out else None

    def attach(self, vol_id, info):
        path = self.backing_file(vol_id)
        size = info["size_gb"] * 1024**3
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.truncate(size)
        elif os.path.getsize(path) < size:
            os.truncate(path, size)
        loop = self.loop_of(path) or run(["losetup", "--find", "--show", "--partscan", path])
        self.fit_capacity(loop, size)
        info["loop"] = loop
        self.limit(vol_id, info)
        self.publish(vol_id, info)

    def fit_capacity(self, loop, size):
        """A volume grown on the MDM (setVolumeSize, --modify_volume_capacity): its file was
        extended above; tell the loop device, so the host sees the new size at this sync."""
        try:
            with open("/sys/block/%s/size" % os.path.basename(loop)) as f:
                current = int(f.read()) * 512
        except (OSError, ValueError):
            return
        if current < size:
            run(["losetup", "--set-capacity", loop])
            common.log(NAME, "%s grown to %d GB" % (loop, size // 1024**3))

    def copy_snapshots(self, sources):
        """New snapshots ({snapshotId: sourceId}, from the MDM) take the data of their source as
        this SDC holds it, once, the first time this SDC hears of them (within a sync period,
        SYNC_S, of the snapshot: README "Differences"). The copy has the source's generation,
        so the host holding the newest source data also holds the newest snapshot data."""
        images = self.state.setdefault("images", {})
        seen = self.state.setdefault("seen_snapshots", [])
        for snap_id, src in sources.items():
            if snap_id in seen:
                continue
            seen.append(snap_id)
            if snap_id in images or not images.get(src) or not os.path.exists(
                    self.backing_file(src)):
                continue
            tmp = self.backing_file(snap_id) + ".snap"
            subprocess.run(["cp", "--sparse=always", self.backing_file(src), tmp], check=True)
            os.replace(tmp, self.backing_file(snap_id))
            images[snap_id] = images[src]
            common.log(NAME, "snapshot %s: copied the data of %s" % (snap_id, src))
        self.state["seen_snapshots"] = [i for i in seen if i in sources]

    @staticmethod
    def take_limits(info, limits):
        """Keeps the newer of the held limits and these (by the MDM's serial): an MDM answer
        sent before a push can arrive after it."""
        limits = limits or {}
        if limits.get("serial", 0) >= (info.get("limits") or {}).get("serial", 0):
            info["limits"] = limits

    def limit(self, vol_id, info):
        """The mapping's QoS limits (from the MDM, kept in the state) on its loop device."""
        with open("/sys/block/%s/dev" % os.path.basename(info["loop"])) as f:
            devno = f.read().strip()
        self.throttle.want(vol_id, devno, info.get("limits"))

    def publish(self, vol_id, info):
        """(Re)create /dev/scini<x>[N] for the loop device and its partitions, and the by-id links."""
        loop_name = os.path.basename(info["loop"])
        node = os.path.join(DEV, "scini" + info["letter"])
        self.make_node(node, "/sys/block/%s/dev" % loop_name, info["loop"])
        os.makedirs(BY_ID, exist_ok=True)
        link = os.path.join(BY_ID, "emc-vol-%s-%s" % (info["system_id"], vol_id))
        self.make_link(link, "../../scini" + info["letter"])
        try:
            parts = sorted(p for p in os.listdir("/sys/block/%s" % loop_name)
                           if p.startswith(loop_name + "p"))
        except OSError:
            parts = []
        for part in parts:
            number = part[len(loop_name) + 1:]
            self.make_node(node + number, "/sys/block/%s/%s/dev" % (loop_name, part),
                           common.root("/dev/" + part))
            self.make_link("%s-part%s" % (link, number), "../../scini%s%s" % (info["letter"], number))

    def make_node(self, node, sys_dev, fallback):
        try:
            with open(sys_dev) as f:
                major, minor = (int(x) for x in f.read().strip().split(":"))
            rdev = os.makedev(major, minor)
        except OSError:
            rdev = os.stat(common.root(fallback)).st_rdev
        try:
            st = os.stat(node)
            if stat.S_ISBLK(st.st_mode) and st.st_rdev == rdev:
                return
            os.remove(node)
        except FileNotFoundError:
            pass
        os.mknod(node, 0o660 | stat.S_IFBLK, rdev)
        os.chmod(node, 0o660)  # mknod honours the umask; the real nodes are 660

    def make_link(self, link, target):
        if os.path.islink(link) and os.readlink(link) == target:
            return
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)

    def detach(self, vol_id, info, delete_data):
        node = os.path.join(DEV, "scini" + info["letter"])
        for name in os.listdir(DEV):
            if name == "scini" + info["letter"] or (
                    name.startswith("scini" + info["letter"]) and name[6:].isdigit()):
                os.remove(os.path.join(DEV, name))
        if os.path.isdir(BY_ID):
            prefix = "emc-vol-%s-%s" % (info["system_id"], vol_id)
            for name in os.listdir(BY_ID):
                if name == prefix or name.startswith(prefix + "-part"):
                    os.remove(os.path.join(BY_ID, name))
        self.throttle.drop(vol_id)  # before the loop device can be reused for another volume
        loop = self.loop_of(self.backing_file(vol_id))
        if loop:
            subprocess.run(["losetup", "--detach", loop], check=False)
        if delete_data:
            try:
                os.remove(self.backing_file(vol_id))
            except FileNotFoundError:
                pass
        common.log(NAME, "detached %s (%s)" % (vol_id, node))

    def free_letter(self):
        used = {v["letter"] for v in self.state["volumes"].values()}
        for a in [""] + list(string.ascii_lowercase):
            for b in string.ascii_lowercase:
                if a + b not in used:
                    return a + b
        raise RuntimeError("no free scini device names")

    # ---------- talking to the MDM ----------
    def sync(self):
        """Register with the master MDM and make the local devices match its mappings."""
        with self.lock:
            ips = [ip for s in self.systems for ip in s]
            if not ips:
                self.last_error = ("no MDM configured in the driver (%s had no line mdm <ip1>,<ip2> "
                                   "when scini started)" % CONF)
                return False
            reply = None
            for ip in ips:
                try:
                    answer, _ = common.call(ip, common.MDM_PORT,
                                            {"op": "sdc_register", "guid": self.guid,
                                             "version": self.version}, timeout=2.0, tls=True)
                except common.RpcError:
                    continue
                if answer.get("ok"):
                    reply, self.connected_ip = answer, ip
                    break
            if reply is None:
                self.connected_ip = None
                self.last_error = "no master MDM answered at %s" % ",".join(ips)
                return False
            self.last_error = None
            self.system_id, self.sdc_id, self.mdms = (reply["system_id"], reply["sdc_id"],
                                                      reply["mdms"])
            wanted = {v["id"]: v for v in reply["volumes"]}
            existing = set(reply["all_volume_ids"])
            self.copy_snapshots(reply.get("snapshots", {}))
            for vol_id in list(self.state["volumes"]):
                if vol_id not in wanted:
                    info = self.state["volumes"].pop(vol_id)
                    self.detach(vol_id, info, delete_data=vol_id not in existing)
            images = self.state.setdefault("images", {})
            for vol_id in list(images):
                if vol_id not in existing:
                    images.pop(vol_id)
                    try:
                        os.remove(self.backing_file(vol_id))
                    except FileNotFoundError:
                        pass
            for vol_id, vol in wanted.items():
                info = self.state["volumes"].get(vol_id)
                if info is None:
                    self.fetch_newest(vol_id, vol["size_gb"])
                    info = {"letter": self.free_letter(), "size_gb": vol["size_gb"],
                            "system_id": self.system_id}
                    self.state["volumes"][vol_id] = info
                info["size_gb"] = vol["size_gb"]
                self.take_limits(info, vol.get("limits"))
                self.attach(vol_id, info)
            self.throttle.apply_all()
            self.save()
            return True

    def restore(self):
        """At start: give back the devices of the last known mappings, even before the MDM answers."""
        with self.lock:
            for vol_id, info in self.state["volumes"].items():
                try:
                    self.attach(vol_id, info)
                except (OSError, subprocess.CalledProcessError) as e:
                    common.log(NAME, "could not re-attach %s: %s" % (vol_id, e))
            self.throttle.apply_all()

    def refresh_partitions(self):
        with self.lock:
            for vol_id, info in self.state["volumes"].items():
                if info.get("loop"):
                    try:
                        self.publish(vol_id, info)
                    except OSError as e:
                        common.log(NAME, "publish %s failed: %s" % (vol_id, e))

    # ---------- volume data between SDC hosts ----------
    def broadcast_address(self):
        """The broadcast address of the interface that reaches the MDM."""
        ips = [ip for s in self.systems for ip in s]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.connect((ips[0], common.MDM_PORT))
                local = probe.getsockname()[0]
            for line in run(["ip", "-o", "-4", "addr", "show"]).splitlines():
                words = line.split()
                if "inet" in words:
                    iface = ipaddress.ip_interface(words[words.index("inet") + 1])
                    if str(iface.ip) == local and iface.network.prefixlen < 31:
                        return str(iface.network.broadcast_address)
        except (OSError, IndexError, ValueError, subprocess.CalledProcessError):
            pass
        return "255.255.255.255"

    def fetch_newest(self, vol_id, size_gb):
        """Before attaching a newly mapped volume: copy the newest image any peer holds."""
        images = self.state.setdefault("images", {})
        mine = images.get(vol_id, 0) if os.path.exists(self.backing_file(vol_id)) else 0
        best = None
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                s.settimeout(0.2)
                ask = json.dumps({"op": "who_has", "volume": vol_id, "guid": self.guid}).encode()
                s.sendto(ask, (self.broadcast_address(), DATA_PORT))
                end = time.time() + WHO_HAS_WAIT_S
                while time.time() < end:
                    try:
                        data, (peer, _) = s.recvfrom(4096)
                    except socket.timeout:
                        continue
                    reply = json.loads(data)
                    if reply.get("guid") != self.guid and reply.get("gen", 0) > (best or {}).get(
                            "gen", mine):
                        best = dict(reply, ip=peer)
        except (OSError, ValueError) as e:
            common.log(NAME, "asking peers for volume %s failed: %s" % (vol_id, e))
        newest = mine
        if best:
            try:
                self.copy_from(best["ip"], vol_id, size_gb)
                newest = best["gen"]
                common.log(NAME, "copied volume %s (generation %d) from %s" % (
                    vol_id, newest, best["ip"]))
            except (OSError, ValueError) as e:
                common.log(NAME, "copying volume %s from %s failed: %s" % (vol_id, best["ip"], e))
        # This copy is the one written from now on: newer than every other.
        images[vol_id] = newest + 1

    def copy_from(self, ip, vol_id, size_gb):
        """Copy a peer's image: a JSON header line with the data extents, then their bytes."""
        path = self.backing_file(vol_id)
        tmp = path + ".copy"
        with socket.create_connection((ip, DATA_PORT), timeout=30) as conn, \
                open(tmp, "wb") as out:
            conn.sendall((json.dumps({"op": "get", "volume": vol_id}) + "\n").encode())
            f = conn.makefile("rb")
            header = json.loads(f.readline())
            if not header.get("ok"):
                raise ValueError(header.get("error", "peer refused"))
            out.truncate(max(header["size"], size_gb * 1024**3))
            for offset, length in header["extents"]:
                out.seek(offset)
                while length:
                    chunk = f.read(min(length, 1 << 20))
                    if not chunk:
                        raise ValueError("peer closed the connection early")
                    out.write(chunk)
                    length -= len(chunk)
        os.replace(tmp, path)

    def extents(self, path):
        """The (offset, length) data extents of a sparse file (SEEK_DATA / SEEK_HOLE)."""
        out = []
        with open(path, "rb") as f:
            fd, end, pos = f.fileno(), os.fstat(f.fileno()).st_size, 0
            while pos < end:
                try:
                    start = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:
                    break
                stop = os.lseek(fd, start, os.SEEK_HOLE)
                out.append([start, stop - start])
                pos = stop
        return out

    def serve_peers(self):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.bind(("0.0.0.0", DATA_PORT))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", DATA_PORT))
        tcp.listen(4)
        threading.Thread(target=self.answer_copies, args=(tcp,), daemon=True).start()
        while True:
            try:
                data, addr = udp.recvfrom(4096)
                ask = json.loads(data)
                if ask.get("op") != "who_has" or ask.get("guid") == self.guid:
                    continue
                gen = self.state.get("images", {}).get(ask.get("volume"))
                if not gen:  # perhaps a snapshot made since the last sync: sync now
                    self.sync()
                    gen = self.state.get("images", {}).get(ask.get("volume"))
                if gen and os.path.exists(self.backing_file(ask["volume"])):
                    udp.sendto(json.dumps({"guid": self.guid, "gen": gen}).encode(), addr)
            except (OSError, ValueError) as e:
                common.log(NAME, "peer question failed: %s" % e)

    def answer_copies(self, tcp):
        while True:
            conn, (peer, _) = tcp.accept()
            threading.Thread(target=self.answer_peer, args=(conn, peer), daemon=True).start()

    def answer_peer(self, conn, peer):
        """One request on the data port: a copy of an image ("get"), or new limits ("limits")."""
        with conn:
            try:
                ask = json.loads(conn.makefile("rb").readline())
            except (OSError, ValueError) as e:
                common.log(NAME, "peer request failed: %s" % e)
                return
            if ask.get("op") == "limits":
                reply = self.on_limits(ask, peer)
                conn.sendall((json.dumps(reply) + "\n").encode())
            else:
                self.send_copy(conn, ask)

    def on_limits(self, ask, peer):
        """New limits of one of our mappings, pushed by the master MDM when they are set: in
        force when we answer. Only from an MDM of our system; without our state lock (a sync
        holding it may be waiting on that MDM); take_limits keeps a sync answered before the
        push from putting the old limits back."""
        mdm_ips = {ip for m in self.mdms or [] for ip in m.get("ips", [])}
        if peer not in mdm_ips or ask.get("system_id") != self.system_id:
            return {"ok": False, "error": "limits are taken from this system's MDMs only"}
        info = self.state["volumes"].get(str(ask.get("volume")))
        if not info or not info.get("loop"):
            return {"ok": False, "error": "volume %s is not mapped here" % ask.get("volume")}
        self.take_limits(info, ask.get("limits"))
        self.limit(ask["volume"], info)
        if not self.throttle.apply_all():
            return {"ok": False, "error": self.throttle.last_error}
        return {"ok": True}

    def send_copy(self, conn, ask):
        try:
            path = self.backing_file(str(ask.get("volume")))
            if not os.path.exists(path):
                conn.sendall(b'{"ok": false, "error": "no image"}\n')
                return
            extents = self.extents(path)
            header = {"ok": True, "size": os.path.getsize(path), "extents": extents}
            conn.sendall((json.dumps(header) + "\n").encode())
            with open(path, "rb") as f:
                for offset, length in extents:
                    f.seek(offset)
                    while length:
                        chunk = f.read(min(length, 1 << 20))
                        if not chunk:
                            return
                        conn.sendall(chunk)
                        length -= len(chunk)
        except (OSError, ValueError) as e:
            common.log(NAME, "sending a copy failed: %s" % e)

    # ---------- drv_cfg ----------
    def control(self, request):
        op = request.get("op")
        if op == "rescan":
            if not self.sync():
                return {"ok": False, "error": self.last_error}
            return {"ok": True}
        if op == "query_vols":
            with self.lock:
                return {"ok": True, "system_id": self.system_id,
                        "volumes": sorted(self.state["volumes"])}
        if op == "query_guid":
            return {"ok": True, "guid": self.guid}
        if op == "mod_mdm_ip":
            with self.lock:
                systems, error = modify_mdm_ips(self.systems, str(request.get("ip")),
                                                [str(x) for x in request.get("new") or []])
                if error:
                    return {"ok": False, "error": error}
                self.systems = systems
                common.log(NAME, "MDMs now %s" % ";".join(",".join(s) for s in systems))
            return {"ok": True}
        if op == "query_mdms":
            return {"ok": True, "system_id": self.system_id, "sdc_id": self.sdc_id,
                    "systems": self.systems, "mdms": self.mdms,
                    "connected_ip": self.connected_ip, "error": self.last_error,
                    "qos_error": self.throttle.last_error}
        return {"ok": False, "error": "unknown request %r" % op}

    def serve_control(self):
        os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
        try:
            os.remove(SOCKET)
        except FileNotFoundError:
            pass
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(SOCKET)
        os.chmod(SOCKET, 0o600)
        server.listen(8)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        with conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            try:
                reply = self.control(json.loads(data))
            except Exception as e:  # noqa: BLE001 - drv_cfg must get an answer
                reply = {"ok": False, "error": str(e)}
            conn.sendall((json.dumps(reply) + "\n").encode())


def main():
    os.makedirs(DATA, exist_ok=True)
    sdc = Sdc()
    sdc.restore()
    threading.Thread(target=sdc.serve_control, daemon=True).start()
    threading.Thread(target=sdc.serve_peers, daemon=True).start()
    threading.Thread(target=sdc.throttle.watch, daemon=True).start()
    common.log(NAME, "GUID %s, MDMs %s" % (
        sdc.guid, ";".join(",".join(s) for s in sdc.systems) or "none"))
    while True:
        try:
            sdc.sync()
            sdc.refresh_partitions()
        except Exception as e:  # noqa: BLE001 - keep serving the devices already attached
            common.log(NAME, "sync failed: %r" % e)
        time.sleep(SYNC_S)
