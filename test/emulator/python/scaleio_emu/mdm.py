"""The MDM daemon: cluster membership, failover, and the object model scli and the gateway edit.

One process per MDM host, manager or tie-breaker (MDM_ROLE_IS_MANAGER at install decides). Port
9011 always (peers, SDS, SDC, cluster creation); port 6611 only on the master, opened a moment
after the cluster is created, for scli and the gateway. The master persists the cluster state
and pushes it to every other member after each change, so a slave can take over with all of it.
"""

import math
import os
import secrets
import threading
import time

from . import common, data_moves, mdm_objects, mdm_volumes, qos
from .common import fail, ok

NAME = "mdm"
CFG = common.root("/opt/emc/scaleio/mdm/cfg")
CONF = os.path.join(CFG, "conf.txt")
CERT = os.path.join(CFG, "mdm_management_certificate.pem")
KEY = os.path.join(CFG, "mdm_management_key.pem")
DATA = common.root("/var/lib/scaleio-emu/mdm")
NODE_FILE = os.path.join(DATA, "node.json")
STATE_FILE = os.path.join(DATA, "state.json")

HEARTBEAT_S = 1.0
PEER_TIMEOUT_S = 3.5
ELECTION_AFTER_S = 4.5
MGMT_OPEN_DELAY_S = 2.0
SESSION_TTL_S = 8 * 3600
# Real ScaleIO documents 90 GB as the smallest SDS device from 2.0 on (100 GB in 1.3x guides).
MIN_DEVICE_BYTES = 90 * 1024**3
SPARE_FRACTION = 0.10
MODE_COUNTS = {"1_node": (0, 0), "3_node": (1, 1), "5_node": (2, 2)}
PASSWORD_CLASSES = ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789")


def read_conf():
    conf = {}
    try:
        with open(CONF) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    conf[key.strip()] = value.strip()
    except OSError:
        pass
    return conf


def split_list(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def label(obj):
    """How messages name an MDM, SDS or other object: its name, else its ID."""
    return obj.get("name") or obj["id"]


class Mdm(mdm_volumes.VolumeOps, mdm_objects.ObjectOps):
    def __init__(self):
        conf = read_conf()
        if conf.get("actor_role_is_manager") not in ("0", "1"):
            raise SystemExit("mdm: %s has no actor_role_is_manager=0|1 (reinstall with "
                             "MDM_ROLE_IS_MANAGER set)" % CONF)
        self.manager = conf["actor_role_is_manager"] == "1"
        self.version = common.installed_version("mdm")
        self.lock = threading.RLock()
        self.node = common.load_json(NODE_FILE, None)
        if not self.node:
            self.node = {"id": "0x" + common.new_id()}
            common.save_json(NODE_FILE, self.node)
        self.state = common.load_json(STATE_FILE, None)
        self.ssl = common.SslHolder(CERT, KEY)
        self.seen = {}  # member or SDS/SDC id -> last successful contact (master side)
        self.acked = {}  # member id -> state serial it has confirmed
        self.last_master_contact = time.time()
        self.voted_epoch = 0
        self.mgmt_server = None
        self.mgmt_not_before = 0.0
        self.master_since = None  # when this MDM last became master (SDS liveness grace)
        self.last_move = None  # when data moves last advanced (data_moves.advance)
        if self.state and self.my_role() == "master":
            self.mgmt_not_before = time.time() + MGMT_OPEN_DELAY_S
            threading.Thread(target=self.rejoin_if_deposed, daemon=True).start()

    # ---------- membership helpers ----------
    def members(self):
        return self.state["members"] if self.state else []

    def me(self):
        for m in self.members():
            if m["id"] == self.node["id"]:
                return m
        return None

    def my_role(self):
        m = self.me()
        return m["role"] if m else None

    def master(self):
        for m in self.members():
            if m["role"] == "master":
                return m
        return None

    def voters(self):
        return [m for m in self.members() if m["role"] in ("master", "slave", "tb")]

    def is_up(self, member_id):
        if member_id == self.node["id"]:
            return True
        return time.time() - self.seen.get(member_id, 0) < PEER_TIMEOUT_S

    def persist(self):
        common.save_json(STATE_FILE, self.state)

    def commit(self):
        """Record a change: bump the serial, write it down, and replicate it before answering."""
        self.state["serial"] += 1
        self.persist()
        # Members that are down get the state from the next heartbeat instead of stalling us.
        for m in self.members():
            if m["id"] != self.node["id"] and self.is_up(m["id"]):
                self.push_to(m, timeout=2.0)

    def push_to(self, member, timeout=1.0):
        message = {"op": "heartbeat", "epoch": self.state["epoch"], "serial": self.state["serial"],
                   "master_id": self.node["id"]}
        if self.acked.get(member["id"], -1) < self.state["serial"]:
            message["state"] = self.state
        try:
            reply, _ = common.call(member["ips"][0], common.MDM_PORT, message, timeout=timeout,
                                   tls=True)
        except common.RpcError:
            return False
        if reply.get("ok"):
            self.seen[member["id"]] = time.time()
            self.acked[member["id"]] = reply.get("serial", -1)
            return True
        if reply.get("stale_master"):
            self.step_down(reply.get("master_ip"))
        return False

    # ---------- network entry point ----------
    def dispatch(self, request, peer, local, port):
        op = request.get("op")
        with self.lock:
            if op == "probe":
                return ok(in_cluster=self.state is not None, manager=self.manager,
                          role=self.my_role(), version=self.version, id=self.node["id"],
                          system_id=self.state["system"]["id"] if self.state else None,
                          mgmt_open=self.mgmt_server is not None)
            if op == "create":
                return self.create(request.get("args", {}), local)
            if op == "cmd":
                if port != common.MDM_MGMT_PORT:
                    return fail("Management commands are served on port %d of the master MDM"
                                % common.MDM_MGMT_PORT)
                return self.command(request.get("cmd"), request.get("args", {}),
                                    request.get("token"), peer)
            if op == "heartbeat":
                return self.on_heartbeat(request)
            if op == "join":
                return self.on_join(request)
            if op == "vote":
                return self.on_vote(request)
            if op == "whois":
                m = self.master()
                return ok(role=self.my_role(), epoch=self.state["epoch"] if self.state else 0,
                          master_id=m["id"] if m else None,
                          master_ip=m["ips"][0] if m else None)
            if op == "sdc_register":
                return self.sdc_register(request, peer)
            if op == "leave":
                return self.on_leave(request)
        return fail("Unknown request %r" % op, code=1)

    # ---------- cluster life cycle ----------
    def create(self, args, local):
        if self.state is not None:
            return fail("The MDM cluster already exists (system ID %s)" % self.state["system"]["id"])
        if not self.manager:
            return fail("This MDM was installed as a tie-breaker (MDM_ROLE_IS_MANAGER=0) and "
                        "cannot be the master MDM")
        if not args.get("accept_license"):
            return fail("The license must be accepted: add --accept_license", code=1)
        ips = split_list(args.get("master_mdm_ip"))
        if not ips:
            return fail("--master_mdm_ip is required", code=1)
        for ip in ips + split_list(args.get("master_mdm_management_ip")):
            if not common.is_local_ip(ip):
                return fail("IP address %s is not configured on this MDM host" % ip)
        # Unnamed MDMs stay unnamed (scli then prints only their ID), as with the real MDM.
        name = args.get("master_mdm_name") or None
        password = "admin"
        self.state = {
            "system": {"id": common.new_id(), "name": None, "version": self.version,
                       "virtual_ips": split_list(args.get("cluster_virtual_ip"))},
            "epoch": 1, "serial": 0, "mode": "1_node",
            "members": [{"id": self.node["id"], "name": name, "ips": ips,
                         "mgmt_ips": split_list(args.get("master_mdm_management_ip")) or ips,
                         "vip_interfaces": split_list(args.get("master_mdm_virtual_ip_interface")),
                         "manager": True, "role": "master"}],
            "users": {"admin": {"hash": common.hash_secret(password), "must_change": True,
                                "role": "SuperUser"}},
            "sessions": {}, "pds": [], "pools": [], "sds": [], "sdcs": [], "volumes": [],
            "fault_sets": [],
        }
        self.mgmt_not_before = time.time() + MGMT_OPEN_DELAY_S
        self.commit()
        return ok(system_id=self.state["system"]["id"], fingerprint=self.fingerprint())

    def fingerprint(self):
        with open(CERT) as f:
            return common.fingerprint_of_pem(f.read())

    def on_join(self, request):
        if self.state is not None and self.state["system"]["id"] != request["state"]["system"]["id"]:
            return fail("This MDM already belongs to system %s" % self.state["system"]["id"])
        want_manager = request["member"]["manager"]
        if want_manager != self.manager:
            return fail("role_mismatch")
        # Adopt the cluster's certificate so one scli approval covers every manager.
        for path, text in ((CERT, request["cert"]), (KEY, request["key"])):
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
        self.ssl.reload()
        self.state = request["state"]
        self.persist()
        self.last_master_contact = time.time()
        return ok(serial=self.state["serial"])

    def on_leave(self, request):
        if self.state and request.get("system_id") == self.state["system"]["id"]:
            self.state = None
            try:
                os.remove(STATE_FILE)
            except OSError:
                pass
        return ok()

    def on_heartbeat(self, request):
        my_epoch = self.state["epoch"] if self.state else 0
        if self.state and request["epoch"] < my_epoch:
            m = self.master()
            return fail("stale", stale_master=True, master_ip=m["ips"][0] if m else None)
        if self.my_role() == "master" and request["master_id"] != self.node["id"]:
            self.close_mgmt()
        if "state" in request:
            self.state = request["state"]
            self.persist()
        elif self.state is None or request["serial"] != self.state["serial"]:
            return ok(serial=-1)  # ask for the full state next time
        self.last_master_contact = time.time()
        return ok(serial=self.state["serial"])

    def on_vote(self, request):
        if not self.state or request["system_id"] != self.state["system"]["id"]:
            return fail("not a member")
        if request["epoch"] <= max(self.voted_epoch, self.state["epoch"]):
            return fail("already voted")
        if time.time() - self.last_master_contact < PEER_TIMEOUT_S:
            return fail("master is alive")
        if self.manager and request["serial"] < self.state["serial"]:
            return fail("candidate is behind")
        self.voted_epoch = request["epoch"]
        return ok()

    def elect(self):
        """A slave that lost the master asks the other members for a majority."""
        voters = self.voters()
        epoch = max(self.voted_epoch, self.state["epoch"]) + 1
        self.voted_epoch = epoch
        votes = 1
        old = self.master()
        for m in voters:
            if m["id"] in (self.node["id"], old["id"] if old else None):
                continue
            try:
                reply, _ = common.call(m["ips"][0], common.MDM_PORT,
                                       {"op": "vote", "epoch": epoch, "candidate": self.node["id"],
                                        "serial": self.state["serial"],
                                        "system_id": self.state["system"]["id"]},
                                       timeout=1.0, tls=True)
                if reply.get("ok"):
                    votes += 1
                    self.seen[m["id"]] = time.time()
            except common.RpcError:
                pass
        if votes * 2 <= len(voters):
            return
        common.log(NAME, "won the election for epoch %d with %d/%d votes" % (epoch, votes, len(voters)))
        if old:
            old["role"] = "slave"
        self.me()["role"] = "master"
        self.state["epoch"] = epoch
        self.acked = {}
        self.seen = {m["id"]: time.time() for m in voters if m is not old}
        self.mgmt_not_before = time.time()
        self.commit()

    def rejoin_if_deposed(self):
        """A restarted master checks whether the others elected someone else meanwhile."""
        for m in list(self.members()):
            if m["id"] == self.node["id"]:
                continue
            try:
                reply, _ = common.call(m["ips"][0], common.MDM_PORT, {"op": "whois"}, timeout=1.0,
                                       tls=True)
            except common.RpcError:
                continue
            with self.lock:
                if reply.get("ok") and reply["epoch"] > self.state["epoch"]:
                    self.step_down(reply.get("master_ip"))
                    return

    def step_down(self, master_ip):
        common.log(NAME, "another master was elected (%s); stepping down" % master_ip)
        self.close_mgmt()
        me = self.me()
        if me:
            me["role"] = "slave" if self.manager else "tb"
        self.acked = {}
        self.last_master_contact = time.time()

    def close_mgmt(self):
        if self.mgmt_server is not None:
            self.mgmt_server.shutdown()
            self.mgmt_server.server_close()
            self.mgmt_server = None

    def tick(self):
        with self.lock:
            role = self.my_role()
            if role == "master":
                if self.mgmt_server is None and time.time() >= self.mgmt_not_before:
                    self.mgmt_server = common.serve("0.0.0.0", common.MDM_MGMT_PORT,
                                                    self.dispatch, self.ssl)
                    common.log(NAME, "management port %d open" % common.MDM_MGMT_PORT)
                for m in self.members():
                    if m["id"] != self.node["id"]:
                        self.push_to(m)
                for sds in self.state["sds"]:
                    self.poll_sds(sds)
                self.track_sds_data()
            elif role == "slave" and time.time() - self.last_master_contact > ELECTION_AFTER_S:
                self.elect()
            elif role != "master":
                self.close_mgmt()
            if role != "master":
                self.master_since = self.last_move = None

    def poll_sds(self, sds):
        try:
            reply, _ = common.call(sds["ips"][0], sds.get("port", common.SDS_PORT),
                                   {"op": "ping", "system_id": self.state["system"]["id"]},
                                   timeout=0.5)
            if reply.get("ok"):
                self.seen[sds["id"]] = time.time()
        except common.RpcError:
            pass

    # ---------- SDC ----------
    def sdc_register(self, request, peer):
        if self.my_role() != "master":
            m = self.master()
            return fail("not_master", code=1, master_ip=m["ips"][0] if m else None)
        sdc = next((s for s in self.state["sdcs"] if s["guid"] == request["guid"]), None)
        changed = False
        if sdc is None:
            sdc = {"id": common.new_id(), "guid": request["guid"], "name": None, "ip": peer,
                   "version": request.get("version")}
            self.state["sdcs"].append(sdc)
            changed = True
        elif sdc["ip"] != peer:
            sdc["ip"] = peer
            changed = True
        if changed:
            self.commit()
        self.seen[sdc["id"]] = time.time()
        mapped = [{"id": v["id"], "size_gb": v["size_gb"],
                   "limits": v.get("limits", {}).get(sdc["id"], {})}
                  for v in self.state["volumes"] if sdc["id"] in v["mapped"]]
        return ok(system_id=self.state["system"]["id"], sdc_id=sdc["id"], volumes=mapped,
                  all_volume_ids=[v["id"] for v in self.state["volumes"]],
                  snapshots=mdm_volumes.snapshot_sources(self.state),
                  mdms=[{"id": m["id"], "ips": m["ips"]} for m in self.members() if m["manager"]])

    # ---------- management commands ----------
    def command(self, name, args, token, peer):
        if self.my_role() != "master":
            return fail("This MDM is not the master", code=7)
        if name == "login":
            return self.login(args)
        session = self.state["sessions"].get(token or "")
        if not session or session["expires"] < time.time():
            return fail("Permission denied. Please login first (scli --login)")
        session["expires"] = time.time() + SESSION_TTL_S
        user = self.state["users"][session["user"]]
        if name == "logout":
            self.state["sessions"].pop(token, None)
            self.commit()
            return ok(message="Logged out")
        if name == "set_password":
            return self.set_password(session, args)
        if user.get("must_change"):
            return fail("The password of user %s must be changed before any other command "
                        "(scli --set_password)" % session["user"])
        handler = getattr(self, "cmd_" + str(name), None)
        if handler is None:
            return fail("Unknown command %s" % name, code=1)
        return handler(args)

    def login(self, args):
        user = self.state["users"].get(args.get("username") or "")
        if not user or not common.check_secret(args.get("password") or "", user["hash"]):
            return fail("Invalid username or password")
        token = secrets.token_hex(16)
        self.state["sessions"][token] = {"user": args["username"],
                                         "expires": time.time() + SESSION_TTL_S}
        self.commit()
        return ok(token=token, role=user["role"], system_id=self.state["system"]["id"],
                  must_change=user.get("must_change", False))

    def set_password(self, session, args):
        user = self.state["users"][session["user"]]
        if not common.check_secret(args.get("old_password") or "", user["hash"]):
            return fail("The old password is wrong")
        new = args.get("new_password") or ""
        classes = sum(1 for chars in PASSWORD_CLASSES if any(c in chars for c in new))
        classes += 1 if any(not c.isalnum() for c in new) else 0
        if not 6 <= len(new) <= 31 or classes < 3 or any(c.isspace() for c in new):
            return fail("The new password does not meet the requirements: 6-31 characters, no "
                        "spaces, and at least 3 of: lowercase, uppercase, digits, special characters")
        user["hash"] = common.hash_secret(new)
        user["must_change"] = False
        # Like the real MDM: a password change ends the user's sessions; log in again.
        for t in [t for t, s in self.state["sessions"].items() if s["user"] == session["user"]]:
            del self.state["sessions"][t]
        self.commit()
        return ok(message="Password changed successfully")

    def find(self, kind, args, prefix, by_ip=False):
        """Look an object up by --<prefix>_id, --<prefix>_name (or --<prefix>_ip)."""
        items = self.state[kind]
        if args.get(prefix + "_id"):
            return next((o for o in items if o["id"] == args[prefix + "_id"]), None)
        if args.get(prefix + "_name"):
            return next((o for o in items if o.get("name") == args[prefix + "_name"]), None)
        if by_ip and args.get(prefix + "_ip"):
            ip = args[prefix + "_ip"]
            return next((o for o in items if ip == o.get("ip") or ip in o.get("ips", [])), None)
        return None

    def cmd_add_standby_mdm(self, args):
        ips = split_list(args.get("new_mdm_ip"))
        role = args.get("mdm_role")
        name = args.get("new_mdm_name")
        if not ips or role not in ("manager", "tb"):
            return fail("--new_mdm_ip and --mdm_role manager|tb are required", code=1)
        if name and any(m["name"] == name for m in self.members()):
            return fail("An MDM with the name %s already exists" % name)
        if any(set(ips) & set(m["ips"]) for m in self.members()):
            return fail("An MDM with IP %s already exists in the cluster" % ips[0])
        try:
            probe, _ = common.call(ips[0], common.MDM_PORT, {"op": "probe"}, timeout=3.0, tls=True)
        except common.RpcError:
            return fail("Could not communicate with the MDM at %s:%d (is the MDM package "
                        "installed and the mdm service running?)" % (ips[0], common.MDM_PORT))
        if probe.get("in_cluster"):
            return fail("The MDM at %s already belongs to a cluster" % ips[0])
        if probe["manager"] != (role == "manager"):
            return fail("The MDM at %s was installed as a %s (MDM_ROLE_IS_MANAGER=%d) and "
                        "cannot be added with --mdm_role %s"
                        % (ips[0], "manager" if probe["manager"] else "tie-breaker",
                           1 if probe["manager"] else 0, role))
        member = {"id": probe["id"], "name": name or None, "ips": ips,
                  "mgmt_ips": split_list(args.get("new_mdm_management_ip")) if role == "manager"
                  else [], "vip_interfaces": split_list(args.get("new_mdm_virtual_ip_interface")),
                  "manager": role == "manager", "role": "standby"}
        self.state["members"].append(member)
        self.state["serial"] += 1
        with open(CERT) as f:
            cert = f.read()
        with open(KEY) as f:
            key = f.read()
        try:
            reply, _ = common.call(ips[0], common.MDM_PORT,
                                   {"op": "join", "state": self.state, "member": member,
                                    "cert": cert, "key": key}, timeout=5.0, tls=True)
        except common.RpcError as e:
            reply = {"ok": False, "error": str(e)}
        if not reply.get("ok"):
            self.state["members"].remove(member)
            self.state["serial"] -= 1
            return fail("The MDM at %s refused to join: %s" % (ips[0], reply.get("error")))
        self.seen[member["id"]] = time.time()
        self.acked[member["id"]] = self.state["serial"]
        self.commit()
        message = "Successfully added a standby MDM. Object ID %s" % member["id"]
        if member["manager"] and common.knob("master_moves_on_add_standby") == "1":
            # Opt-in test knob: the master moves to the new manager right after it joined, as it
            # can during a real build (README, "Knobs"). This MDM stays on as a standby manager.
            self.hand_over(member)
        return ok(message=message)

    def hand_over(self, new_master):
        """Make another connected manager the master; this MDM takes the new master's old role."""
        me = self.me()
        me["role"], new_master["role"] = new_master["role"], "master"
        if me["role"] == "tb":
            me["role"] = "standby"
        self.state["epoch"] += 1
        self.acked = {}
        common.log(NAME, "handing the master role to %s (epoch %d)"
                   % (label(new_master), self.state["epoch"]))
        self.commit()

    def cmd_switch_mdm_ownership(self, args):
        try:
            target = self.pick_members(args, "new_master_mdm")
        except LookupError as e:
            return fail(str(e))
        if len(target) != 1:
            return fail("Exactly one new master MDM must be given", code=1)
        m = target[0]
        if m is self.me():
            return fail("MDM %s is already the master" % label(m))
        if not m["manager"] or m["role"] not in ("slave", "standby"):
            return fail("MDM %s is not a manager MDM and cannot be the master" % label(m))
        if not self.is_up(m["id"]):
            return fail("MDM %s is not connected" % label(m))
        self.hand_over(m)
        return ok(message="Successfully switched MDM ownership to %s" % label(m))

    def cmd_remove_standby_mdm(self, args):
        try:
            found = self.pick_members(args, "remove_mdm")
        except LookupError as e:
            return fail(str(e))
        if not found:
            return fail("Could not find the MDM")
        m = found[0]
        if m["role"] != "standby":
            return fail("Only a standby MDM can be removed; switch the cluster mode first")
        self.state["members"].remove(m)
        self.commit()
        try:
            common.call(m["ips"][0], common.MDM_PORT,
                        {"op": "leave", "system_id": self.state["system"]["id"]}, timeout=2.0,
                        tls=True)
        except common.RpcError:
            pass
        return ok(message="Successfully removed the standby MDM")

    def pick_members(self, args, prefix):
        """MDMs named by --<prefix>_name, _id or _ip (comma-separated lists), in that order."""
        found = []
        for kind, match in (("name", lambda m, v: m.get("name") == v),
                            ("id", lambda m, v: m["id"] == v),
                            ("ip", lambda m, v: v in m["ips"] or v in m.get("mgmt_ips", []))):
            for value in split_list(args.get("%s_%s" % (prefix, kind))):
                m = next((m for m in self.members() if match(m, value)), None)
                if not m:
                    raise LookupError("Could not find the MDM with %s %s" % (
                        {"name": "the name", "id": "ID", "ip": "IP"}[kind], value))
                found.append(m)
        return found

    def cmd_switch_cluster_mode(self, args):
        mode = args.get("cluster_mode")
        if mode not in MODE_COUNTS:
            return fail("--cluster_mode must be 1_node, 3_node or 5_node", code=1)
        try:
            add_slaves = self.pick_members(args, "add_slave_mdm")
            add_tbs = self.pick_members(args, "add_tb")
            rm_slaves = self.pick_members(args, "remove_slave_mdm")
            rm_tbs = self.pick_members(args, "remove_tb")
        except LookupError as e:
            return fail(str(e))
        for m in add_slaves + add_tbs:
            if m["role"] != "standby":
                return fail("MDM %s is not a standby MDM" % label(m))
            if not self.is_up(m["id"]):
                return fail("MDM %s is not connected" % label(m))
        for m in add_slaves:
            if not m["manager"]:
                return fail("MDM %s is a tie-breaker and cannot be a slave MDM" % label(m))
        for m in add_tbs:
            if m["manager"]:
                return fail("MDM %s is a manager; add it with --add_slave_mdm_name" % label(m))
        for m, want in [(m, "slave") for m in rm_slaves] + [(m, "tb") for m in rm_tbs]:
            if m["role"] != want:
                return fail("MDM %s is not a %s in the cluster" % (label(m), want))
        slaves = [m for m in self.members() if m["role"] == "slave" and m not in rm_slaves]
        tbs = [m for m in self.members() if m["role"] == "tb" and m not in rm_tbs]
        slaves += add_slaves
        tbs += add_tbs
        need = MODE_COUNTS[mode]
        if (len(slaves), len(tbs)) != need:
            return fail("Cluster mode %s needs %d slave MDM(s) and %d tie-breaker(s); the request "
                        "leaves %d slave(s) and %d tie-breaker(s)"
                        % (mode, need[0], need[1], len(slaves), len(tbs)))
        for m in add_slaves:
            m["role"] = "slave"
        for m in add_tbs:
            m["role"] = "tb"
        for m in rm_slaves + rm_tbs:
            m["role"] = "standby"
        self.state["mode"] = mode
        self.commit()
        return ok(message="Successfully switched the cluster mode.")

    def cmd_rename_system(self, args):
        if not args.get("new_name"):
            return fail("--new_name is required", code=1)
        self.state["system"]["name"] = args["new_name"]
        self.commit()
        return ok(message="Successfully renamed system to %s" % args["new_name"])

    def cmd_add_protection_domain(self, args):
        name = args.get("protection_domain_name")
        if name and any(p["name"] == name for p in self.state["pds"]):
            return fail("A Protection Domain with the name %s already exists" % name)
        pd = {"id": common.new_id(), "name": name}
        self.state["pds"].append(pd)
        self.commit()
        return ok(message="Successfully created protection domain %s. Object ID %s"
                  % (name or "", pd["id"]))

    def find_pd(self, args):
        return self.find("pds", args, "protection_domain")

    def find_pool(self, args, pd):
        items = [p for p in self.state["pools"] if p["pd"] == pd["id"]]
        if args.get("storage_pool_id"):
            return next((p for p in items if p["id"] == args["storage_pool_id"]), None)
        return next((p for p in items if p["name"] == args.get("storage_pool_name")), None)

    def cmd_add_storage_pool(self, args):
        pd = self.find_pd(args)
        if not pd:
            return fail("Could not find the Protection Domain")
        name = args.get("storage_pool_name")
        media = args.get("media_type")
        if common.major_of(self.version) >= 3 and not media:
            return fail("--media_type is required (HDD, SSD or Transitional)", code=1)
        if media and media not in ("HDD", "SSD", "Transitional"):
            return fail("--media_type must be HDD, SSD or Transitional", code=1)
        if name and any(p["name"] == name and p["pd"] == pd["id"] for p in self.state["pools"]):
            return fail("A Storage Pool with the name %s already exists in Protection Domain %s"
                        % (name, pd["name"]))
        pool = {"id": common.new_id(), "name": name, "pd": pd["id"], "media_type": media or "HDD"}
        self.state["pools"].append(pool)
        self.commit()
        return ok(message="Successfully created a storage pool. Object ID %s" % pool["id"])

    def find_fault_set(self, args, pd):
        sets = [f for f in self.state.setdefault("fault_sets", []) if f["pd"] == pd["id"]]
        if args.get("fault_set_id"):
            return next((f for f in sets if f["id"] == args["fault_set_id"]), None)
        return next((f for f in sets if f["name"] == args.get("fault_set_name")), None)

    def cmd_add_fault_set(self, args):
        pd = self.find_pd(args)
        if not pd:
            return fail("Could not find the Protection Domain")
        name = args.get("fault_set_name")
        sets = self.state.setdefault("fault_sets", [])
        if name and any(f["name"] == name and f["pd"] == pd["id"] for f in sets):
            return fail("A Fault Set with the name %s already exists in Protection Domain %s"
                        % (name, label(pd)))
        fs = {"id": common.new_id(), "name": name, "pd": pd["id"]}
        sets.append(fs)
        self.commit()
        return ok(message="Successfully created fault set %s. Object ID %s" % (name or "",
                                                                               fs["id"]))

    def check_devices(self, ip, paths, known=(), port=common.SDS_PORT):
        """Ask the SDS daemon at ip:port about paths; a list of devices or a failure reply."""
        try:
            info, _ = common.call(ip, port, {"op": "describe", "devices": paths}, timeout=5.0)
        except common.RpcError:
            return None, fail("Could not communicate with the SDS at %s:%d (is the SDS package "
                              "installed and the sds service running?)" % (ip, port))
        if info.get("system_id") and info["system_id"] != self.state["system"]["id"]:
            return None, fail("The SDS at %s already belongs to system %s"
                              % (ip, info["system_id"]))
        devices = []
        for dev in info["devices"]:
            if dev["path"] in known:
                return None, fail("Device %s is already in use by the SDS at %s"
                                  % (dev["path"], ip))
            if not dev["exists"]:
                return None, fail("Device %s does not exist on the SDS at %s" % (dev["path"], ip))
            if not dev["block"]:
                return None, fail("Device %s on the SDS at %s is not a block device"
                                  % (dev["path"], ip))
            if dev["size"] < MIN_DEVICE_BYTES:
                return None, fail("Device %s on the SDS at %s is too small (%.1f GB); the minimum "
                                  "device size is %d GB" % (dev["path"], ip, dev["size"] / 1024**3,
                                                            MIN_DEVICE_BYTES // 1024**3))
            if dev.get("in_use"):
                return None, fail("Device %s on the SDS at %s is in use (%s)"
                                  % (dev["path"], ip, dev["in_use"]))
            devices.append({"id": common.new_id(), "path": dev["path"], "size": dev["size"]})
        return (devices, info), None

    def cmd_add_sds(self, args):
        """Add an SDS, with devices now (needs a storage pool) or later (--add_sds_device)."""
        ips = split_list(args.get("sds_ip"))
        paths = split_list(args.get("device_path"))
        names = split_list(args.get("device_name"))
        name = args.get("sds_name")
        if not ips:
            return fail("--sds_ip is required", code=1)
        pd = self.find_pd(args)
        if not pd:
            return fail("Could not find the Protection Domain")
        # One pool for all devices, or one pool per device (`--storage_pool_name sp1,sp2` with
        # `--device_path /dev/a,/dev/b`, as EMC's Puppet module writes it).
        pools = []
        for key in ("storage_pool_name", "storage_pool_id"):
            for value in split_list(args.get(key)):
                found = self.find_pool({key: value}, pd)
                if not found:
                    return fail("Could not find the Storage Pool %s" % value)
                pools.append(found)
        if paths and not pools:
            return fail("Devices need a Storage Pool (--storage_pool_name)", code=1)
        if len(pools) > 1 and len(pools) != len(paths):
            return fail("Give one Storage Pool, or one per device: %d pools for %d devices"
                        % (len(pools), len(paths)), code=1)
        pool = pools[0] if pools else None
        if names and len(names) != len(paths):
            return fail("--device_name needs one name per --device_path", code=1)
        roles = split_list(args.get("sds_ip_role"))
        if any(r not in ("all", "sdc_only", "sds_only") for r in roles):
            return fail("--sds_ip_role must be all, sdc_only or sds_only (one per IP)", code=1)
        if roles and len(roles) != len(ips):
            return fail("--sds_ip_role needs one role per --sds_ip address", code=1)
        try:
            port = int(args.get("sds_port") or common.SDS_PORT)
        except ValueError:
            return fail("--sds_port must be a port number", code=1)
        fault_set = None
        if args.get("fault_set_name") or args.get("fault_set_id"):
            fault_set = self.find_fault_set(args, pd)
            if not fault_set:
                return fail("Could not find the Fault Set")
        if name and any(s["name"] == name for s in self.state["sds"]):
            return fail("An SDS with the name %s already exists" % name)
        if any(set(ips) & set(s["ips"]) for s in self.state["sds"]):
            return fail("An SDS with the IP %s already exists" % ips[0])
        found, error = self.check_devices(ips[0], paths, port=port)
        if error:
            return error
        devices, info = found
        for i, dev in enumerate(devices):
            dev.update(name=names[i] if names else None,
                       pool=(pools[i] if len(pools) > 1 else pool)["id"])
        # Without --sds_name the MDM names the SDS after its IP (seen as SDS_[<ip>]).
        sds = {"id": common.new_id(), "name": name or "SDS_[%s]" % ips[0], "ips": ips,
               "pd": pd["id"], "pool": pool["id"] if pool else None,
               "fault_set": fault_set["id"] if fault_set else None, "devices": devices,
               "version": info["version"], "ip_roles": roles, "port": port}
        try:
            reply, _ = common.call(ips[0], port,
                                   {"op": "adopt", "system_id": self.state["system"]["id"],
                                    "sds_id": sds["id"],
                                    "mdm_ips": [ip for m in self.members() for ip in m["ips"]
                                                if m["manager"]]}, timeout=5.0)
        except common.RpcError as e:
            reply = {"ok": False, "error": str(e)}
        if not reply.get("ok"):
            return fail("The SDS at %s refused: %s" % (ips[0], reply.get("error")))
        self.state["sds"].append(sds)
        self.seen[sds["id"]] = time.time()
        self.commit()
        return ok(message="Successfully created SDS %s. Object ID %s" % (sds["name"], sds["id"]))

    def cmd_add_sds_device(self, args):
        """Add devices to an SDS (selected by --sds_id, --sds_name or --sds_ip) in a pool."""
        sds = self.find("sds", args, "sds", by_ip=True)
        if not sds:
            return fail("Could not find the SDS")
        paths = split_list(args.get("device_path"))
        names = split_list(args.get("device_name"))
        if not paths:
            return fail("--device_path is required", code=1)
        if names and len(names) != len(paths):
            return fail("--device_name needs one name per --device_path", code=1)
        pd = next(p for p in self.state["pds"] if p["id"] == sds["pd"])
        if args.get("protection_domain_id") or args.get("protection_domain_name"):
            given = self.find_pd(args)
            if not given:
                return fail("Could not find the Protection Domain")
            if given is not pd:
                return fail("SDS %s is in Protection Domain %s, not %s"
                            % (label(sds), label(pd), label(given)))
        pool = self.find_pool(args, pd)
        if not pool:
            return fail("Could not find the Storage Pool")
        found, error = self.check_devices(sds["ips"][0], paths,
                                          known=[d["path"] for d in sds["devices"]],
                                          port=sds.get("port", common.SDS_PORT))
        if error:
            return error
        devices, _ = found
        for dev, dev_name in zip(devices, names or [None] * len(devices)):
            dev.update(name=dev_name, pool=pool["id"])
        sds["devices"] += devices
        if sds.get("pool") is None:
            sds["pool"] = pool["id"]
        self.commit()
        return ok(message="Successfully added device(s) %s to SDS %s. Object ID %s"
                  % (",".join(paths), label(sds), ",".join(d["id"] for d in devices)))

    def pool_capacity_gb(self, pool_id, without_sds=None):
        raw = sum(d["size"] for s in self.state["sds"]
                  if s is not without_sds and not data_moves.draining(s)
                  for d in s["devices"] if (d.get("pool") or s.get("pool")) == pool_id)
        # Two copies of every block and a 10% spare reserve, as the real default policy.
        return int(raw / 1024**3 * (1 - SPARE_FRACTION) / 2)

    def thick_used_gb(self, pool_id):
        return sum(v["size_gb"] for v in self.state["volumes"]
                   if v["pool"] == pool_id and not v["thin"])

    def cmd_remove_sds(self, args):
        """Start removing an SDS: refused when the others cannot hold its pools' data (or too
        few would be left for two copies); else its data moves off at the configured rate
        (data_moves) and the SDS is dropped when empty. A disconnected SDS can be removed too:
        its data is rebuilt from the surviving copies instead."""
        sds = self.find("sds", args, "sds", by_ip=True)
        if not sds:
            return fail("Could not find the SDS")
        if sds.get("removing"):
            return fail("SDS %s is already being removed" % label(sds))
        refusal = data_moves.removal_refusal(self.state, sds)
        if refusal:
            return fail(refusal)
        data_moves.start_drain(self.state, sds, "removing")
        if not self.sds_up(sds):
            sds["lost"] = True
        self.finish_removals(data_moves.advance(self.state, 0, 0))
        self.commit()
        return ok(message="SDS %s will be removed" % sds["name"])

    def sds_up(self, sds):
        """Heard from lately; right after becoming master, SDSs get PEER_TIMEOUT_S of grace."""
        last = self.seen.get(sds["id"], self.master_since or time.time())
        return time.time() - last < PEER_TIMEOUT_S

    def track_sds_data(self):
        """Master tick: move data at the knob's rate (dropping removed SDSs that are empty),
        then mark lost SDSs (their data starts rebuilding) and take back those that returned."""
        now = time.time()
        if self.master_since is None:
            self.master_since = now
        seconds = now - (self.last_move or now)
        self.last_move = now
        changed = False
        moving = any(e["left_gb"] > 0 for s in self.state["sds"] if data_moves.draining(s)
                     for e in (s.get("drain") or {}).values())
        if moving and seconds > 0:
            self.finish_removals(data_moves.advance(self.state, seconds,
                                                    data_moves.rate_gb_per_s()))
            changed = True
        for sds in self.state["sds"]:
            up = self.sds_up(sds)
            if not up and not sds.get("lost"):
                data_moves.start_drain(self.state, sds, "lost")
                common.log(NAME, "SDS %s is disconnected; rebuilding its data" % label(sds))
                changed = True
            elif up and sds.get("lost"):
                data_moves.reconnected(sds)
                changed = True
        if changed:
            self.commit()

    def finish_removals(self, done):
        """Drop removed SDSs whose data has moved off, and tell their daemons they are free."""
        for sds in done:
            self.state["sds"].remove(sds)
            common.log(NAME, "SDS %s removed" % label(sds))
            try:
                common.call(sds["ips"][0], sds.get("port", common.SDS_PORT),
                            {"op": "release", "system_id": self.state["system"]["id"]},
                            timeout=1.0)
            except common.RpcError:
                pass

    def cmd_remove_sdc(self, args):
        """Remove an SDC from the MDM: refused while volumes are mapped to it. A connected SDC
        that still runs registers again at its next sync, as a real one reconnects."""
        sdc = self.find_sdc(args)
        if not sdc:
            return fail("Could not find the SDC")
        mapped = [v["name"] or v["id"] for v in self.state["volumes"] if sdc["id"] in v["mapped"]]
        if mapped:
            return fail("SDC %s has %d mapped volume(s) (%s); unmap them first"
                        % (sdc.get("name") or sdc["ip"], len(mapped), ", ".join(mapped)))
        self.state["sdcs"].remove(sdc)
        self.commit()
        return ok(message="Successfully removed SDC %s" % (sdc.get("name") or sdc["ip"]))

    def cmd_remove_sds_device(self, args):
        """Take a device out of its SDS: its pool must still hold the thick volumes without it
        (as --remove_sds); the data then lives on the pool's other devices."""
        sds = self.find("sds", args, "sds", by_ip=True)
        if not sds:
            return fail("Could not find the SDS")
        dev = next((d for d in sds["devices"] if d["path"] == args.get("device_path")
                    or d["id"] == args.get("device_id")), None)
        if dev is None:
            return fail("Could not find the device %s on SDS %s"
                        % (args.get("device_path") or args.get("device_id"), label(sds)))
        pool_id = dev.get("pool") or sds.get("pool")
        sds["devices"].remove(dev)
        short = self.thick_used_gb(pool_id) > self.pool_capacity_gb(pool_id)
        if short:
            sds["devices"].append(dev)
            return fail("Not enough capacity in the Storage Pool to remove device %s of SDS %s"
                        % (dev["path"], label(sds)))
        self.commit()
        return ok(message="Device %s of SDS %s will be removed" % (dev["path"], label(sds)))

    def cmd_remove_storage_pool(self, args):
        """Remove a pool: refused while it holds volumes or SDS devices (wording ours)."""
        if args.get("storage_pool_id") and not (args.get("protection_domain_name")
                                                or args.get("protection_domain_id")):
            pool = next((p for p in self.state["pools"] if p["id"] == args["storage_pool_id"]),
                        None)
        else:
            pd = self.find_pd(args)
            if not pd:
                return fail("Could not find the Protection Domain")
            pool = self.find_pool(args, pd)
        if not pool:
            return fail("Could not find the Storage Pool")
        vols = [v for v in self.state["volumes"] if v["pool"] == pool["id"]]
        if vols:
            return fail("Storage Pool %s has %d volume(s) (%s); remove them first"
                        % (label(pool), len(vols), ", ".join(label(v) for v in vols)))
        if any((d.get("pool") or s.get("pool")) == pool["id"] for s in self.state["sds"]
               for d in s["devices"]):
            return fail("Storage Pool %s has SDS devices; remove them first "
                        "(--remove_sds_device)" % label(pool))
        self.state["pools"].remove(pool)
        self.commit()
        return ok(message="Storage Pool %s was removed" % label(pool))

    def cmd_add_volume(self, args):
        if args.get("storage_pool_id") and not (args.get("protection_domain_name")
                                                or args.get("protection_domain_id")):
            pool = next((p for p in self.state["pools"] if p["id"] == args["storage_pool_id"]),
                        None)
            pd = next((p for p in self.state["pds"] if pool and p["id"] == pool["pd"]), None)
        else:
            pd = self.find_pd(args)
            if not pd:
                return fail("Could not find the Protection Domain")
            pool = self.find_pool(args, pd) if (args.get("storage_pool_name")
                                                or args.get("storage_pool_id")) else None
        if not pool:
            return fail("Could not find the Storage Pool")
        name = args.get("volume_name")
        if name and any(v["name"] == name for v in self.state["volumes"]):
            return fail("A volume with the name %s already exists" % name)
        try:
            if args.get("size_kb") is not None:
                requested = math.ceil(int(args["size_kb"]) / 1024**2)
            else:
                requested = math.ceil(float(args.get("size_gb")))
        except (TypeError, ValueError):
            return fail("--size_gb must be a number", code=1)
        if requested <= 0:
            return fail("The volume size must be at least 8 GB", code=1)
        size = int(math.ceil(requested / 8.0) * 8)
        thin = bool(args.get("thin_provisioned"))
        if not any((d.get("pool") or s.get("pool")) == pool["id"] for s in self.state["sds"]
                   for d in s["devices"]):
            return fail("Storage Pool %s has no SDS devices" % pool["name"])
        free = self.pool_capacity_gb(pool["id"]) - self.thick_used_gb(pool["id"])
        if not thin and size > free:
            return fail("Not enough capacity in Storage Pool %s: %d GB requested, %d GB free"
                        % (pool["name"], size, max(free, 0)))
        vol = {"id": common.new_id(), "name": name, "size_gb": size, "pool": pool["id"],
               "thin": thin, "mapped": []}
        self.state["volumes"].append(vol)
        self.commit()
        lines = []
        if size != requested:
            lines.append("Warning: Rounding up the volume size to %d GB" % size)
        lines.append("Successfully created volume of size %d GB. Object ID %s" % (size, vol["id"]))
        return ok(message="\n".join(lines), id=vol["id"])

    def find_volume(self, args):
        return self.find("volumes", args, "volume")

    def find_sdc(self, args):
        items = self.state["sdcs"]
        for key, field in (("sdc_id", "id"), ("sdc_ip", "ip"), ("sdc_name", "name"),
                           ("sdc_guid", "guid")):
            if args.get(key):
                return next((s for s in items if s.get(field) == args[key]), None)
        return None

    def cmd_remove_volume(self, args):
        # Removal modes and snapshot trees: mdm_volumes.cmd_remove_volume_tree.
        return self.cmd_remove_volume_tree(dict(args, remove_mode=mdm_volumes.remove_mode_of(args)))

    def cmd_map_volume_to_sdc(self, args):
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        sdc = self.find_sdc(args)
        if not sdc:
            return fail("Could not find the SDC")
        if sdc["id"] in vol["mapped"]:
            return fail("The volume is already mapped to this SDC")
        if vol["mapped"] and not args.get("allow_multi_map"):
            return fail("The volume is already mapped to another SDC; use --allow_multi_map to "
                        "map it to more than one SDC")
        mode = mdm_volumes.ACCESS_MODES.get(args.get("access_mode") or vol.get("access_limit")
                                            or "ReadWrite")
        if mode is None:
            return fail("--access_mode must be READ_WRITE, READ_ONLY or NO_ACCESS", code=1)
        vol["mapped"].append(sdc["id"])
        vol.setdefault("access_modes", {})[sdc["id"]] = mode
        # A new mapping starts without limits; stamped, so an SDC holding the old ones drops them.
        vol.setdefault("limits", {})[sdc["id"]] = {"serial": self.state.get("serial", 0) + 1}
        self.commit()
        return ok(message="Successfully mapped volume %s to SDC %s"
                  % (vol["name"] or vol["id"], sdc["ip"]))

    def cmd_unmap_volume_from_sdc(self, args):
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        if args.get("all_sdcs"):
            targets = list(vol["mapped"])
        else:
            sdc = self.find_sdc(args)
            if not sdc:
                return fail("Could not find the SDC")
            if sdc["id"] not in vol["mapped"]:
                return fail("The volume is not mapped to this SDC")
            targets = [sdc["id"]]
        if not targets:
            return fail("The volume is not mapped to any SDC")
        vol["mapped"] = [s for s in vol["mapped"] if s not in targets]
        for sdc_id in targets:  # the limits belong to the mapping
            vol.get("limits", {}).pop(sdc_id, None)
        self.commit()
        return ok(message="Successfully un-mapped volume %s" % (vol["name"] or vol["id"]))

    def cmd_set_sdc_volume_limits(self, args):
        """QoS limits of one (volume, SDC) mapping, kept in the volume as limits[sdcId].

        args: volume_id|volume_name, sdc_id|sdc_ip|sdc_name|sdc_guid, and limit_iops (0 =
        unlimited, else > 10) and/or limit_bandwidth_kbps (0 = unlimited, else a multiple of
        1024), ints; a value left out keeps the one set before. Pushed to the mapping's SDC at
        once (push_limits) and given with every sync; the SDC enforces them (sdc.py, qos.py). The
        gateway's setMappedSdcLimits lands here. Sources (README, SDC, QoS): REST
        setMappedSdcLimits; dell/ansible-powerflex volume module (sdc[].iops_limit: minimum 11,
        0 unlimited; sdc[].bandwidth_limit: a multiple of 1024 Kbps, 0 unlimited).
        """
        vol = self.find_volume(args)
        if not vol:
            return fail("Could not find the volume")
        sdc = self.find_sdc(args)
        if not sdc:
            return fail("Could not find the SDC")
        if sdc["id"] not in vol["mapped"]:
            return fail("The volume is not mapped to this SDC")
        new = {key: args[arg] for arg, key in (("limit_iops", "iops"),
                                                ("limit_bandwidth_kbps", "bw_kbps"))
               if args.get(arg) is not None}
        if any(not isinstance(v, int) or v < 0 for v in new.values()):
            return fail("Limits must be whole numbers, 0 or more (got %s)" % new, code=1)
        if 0 < new.get("iops", 0) <= 10:
            return fail("IOPS limit must be 0 (unlimited) or greater than 10")
        if new.get("bw_kbps", 0) % 1024:
            return fail("Bandwidth limit must be 0 (unlimited) or a multiple of 1024 KB/s")
        limits = vol.setdefault("limits", {})
        # serial: the state's serial once committed, so the SDC can tell them from older ones
        limits[sdc["id"]] = dict(limits.get(sdc["id"], {}), **new,
                                 serial=self.state.get("serial", 0) + 1)
        self.commit()
        self.push_limits(sdc, vol)
        return ok(message="Successfully set limits of volume %s on SDC %s"
                  % (vol["name"] or vol["id"], sdc["ip"]))

    def push_limits(self, sdc, vol):
        """Gives the SDC a mapping's new limits now, so they hold when the call returns (the
        volume plugin sets them right before Docker starts the container); an SDC not reached
        gets them at its next sync."""
        from .sdc import DATA_PORT
        why = qos.push(sdc["ip"], DATA_PORT, self.state["system"]["id"], vol["id"],
                       vol["limits"][sdc["id"]])
        if why:
            common.log(NAME, "limits of volume %s: %s" % (vol["id"], why))

    def cmd_query(self, _args):
        """Everything, with liveness; scli and the gateway format it themselves."""
        snapshot = {k: v for k, v in self.state.items() if k not in ("users", "sessions")}
        snapshot["up"] = {m["id"]: self.is_up(m["id"]) for m in self.members()}
        snapshot["up"].update({o["id"]: self.is_up(o["id"]) for o in self.state["sdcs"]})
        snapshot["up"].update({o["id"]: self.sds_up(o) for o in self.state["sds"]})
        snapshot["capacity_gb"] = {p["id"]: self.pool_capacity_gb(p["id"])
                                   for p in self.state["pools"]}
        # Day 2: what each SDS holds and moves, and each pool's capacity (data_moves).
        snapshot["sds_status"] = {s["id"]: data_moves.sds_status(self.state, s, self.sds_up(s))
                                  for s in self.state["sds"]}
        snapshot["pool_status"] = {p["id"]: data_moves.pool_status(self.state, p["id"])
                                   for p in self.state["pools"]}
        return ok(state=snapshot)


def main():
    mdm = Mdm()
    common.serve("0.0.0.0", common.MDM_PORT, mdm.dispatch, mdm.ssl)
    common.log(NAME, "listening on %d (%s)" % (common.MDM_PORT,
                                               "manager" if mdm.manager else "tie-breaker"))
    while True:
        try:
            mdm.tick()
        except Exception as e:  # noqa: BLE001 - keep the daemon alive, say why
            common.log(NAME, "tick failed: %r" % e)
        time.sleep(HEARTBEAT_S)
