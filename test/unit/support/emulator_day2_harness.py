"""In-memory MDM for test/unit/emulator-day2.test.ts and test/fixtures/scli/day2/scenario.py.

An mdm.Mdm built without its daemon (common.call always fails: no sockets), a fake clock that
the scenario moves with tick(seconds), SDSs sds1..N of N GiB in pool sp1 with ids shaped like
real ones (SID(i)). The scenario, read from stdin, fills `out`, printed as JSON. Run with
PYTHONPATH=test/emulator/python.
"""
import json, os, sys, tempfile, threading
ROOT = tempfile.mkdtemp(prefix="ed-day2-")
os.environ["SCALEIO_EMU_ROOT"] = ROOT
from scaleio_emu import common, mdm as M, scli
import scaleio_emu.data_moves as DM

clock = [1000.0]
M.time.time = lambda: clock[0]
def no_net(*a, **k):
    raise common.RpcError("no network in unit tests")
common.call = no_net
KNOBS = common.KNOBS_FILE
os.makedirs(os.path.dirname(KNOBS), exist_ok=True)
GIB = 1024 ** 3
PD, POOL = "9a3d7c2100000000", "b1e4f0a200000000"
SID = lambda i: "d5d54a%02x00000000" % i  # noqa: E731 - SDS ids shaped like real ones

def knob(text):
    with open(KNOBS, "w") as f:
        f.write(text)

def new_mdm(n_sds, size_gib=100, version="2.0-14000.231"):
    m = object.__new__(M.Mdm)
    m.lock = threading.RLock(); m.node = {"id": "0xm1"}; m.seen = {}; m.acked = {}
    m.master_since = None; m.last_move = None; m.version = version
    m.state = {"system": {"id": "sys1", "name": None, "version": version}, "epoch": 1,
               "serial": 0, "mode": "1_node",
               "members": [{"id": "0xm1", "name": "m1", "ips": ["10.0.0.1"], "mgmt_ips": [],
                            "manager": True, "role": "master"}],
               "users": {}, "sessions": {}, "pds": [{"id": PD, "name": "pd1"}],
               "pools": [{"id": POOL, "name": "sp1", "pd": PD, "media_type": "HDD"}],
               "sds": [], "sdcs": [], "volumes": [], "fault_sets": []}
    for i in range(1, n_sds + 1):
        m.state["sds"].append({"id": SID(i), "name": "sds%d" % i, "ips": ["10.0.0.%d" % (10 + i)],
                               "pd": PD, "pool": POOL, "fault_set": None, "ip_roles": [],
                               "devices": [{"id": "e7a0%02x0000010000" % i, "path": "/dev/sdb",
                                            "name": None, "size": size_gib * GIB, "pool": POOL}],
                               "version": version, "port": 7072})
        m.seen[SID(i)] = clock[0]
    return m

def run(m, cmd, **args):
    r = getattr(m, "cmd_" + cmd)(args)
    return r.get("message") if r.get("ok") else "Error: MDM failed command.  Status: " + r["error"]

def q(m, fn, **args):
    s = json.loads(json.dumps(m.cmd_query({})["state"]))
    f = getattr(scli, fn)
    return f(s, args) if args else f(s)

def tick(m, seconds):
    """Let some seconds pass: the SDSs that are up answer, then the master ticks."""
    clock[0] += seconds
    for sds in m.state["sds"]:
        if sds["id"] not in DOWN:
            m.seen[sds["id"]] = clock[0]
    m.track_sds_data()

DOWN = set()
out = {}
exec(sys.stdin.read())
print(json.dumps(out))
