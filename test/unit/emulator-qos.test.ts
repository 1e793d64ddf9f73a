// The emulator's QoS without root: mdm.py keeps each mapping's limits (set, read by the SDC at
// registration, gone with the mapping), and qos.py's Throttle writes the blkio rules of its
// devices into every cgroup of a stand-in tree (regular files; the lab test uses the real one).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const LIB = path.join(__dirname, "..", "emulator", "python");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "ah-emu-qos-"));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

function python(code: string): unknown {
  const out = execFileSync("python3", ["-c", code], {
    env: { ...process.env, PYTHONPATH: LIB, SCALEIO_EMU_ROOT: fs.mkdtempSync(TMP + "/r") },
  }).toString();
  return JSON.parse(out.trim().split("\n").pop() as string);
}

// mdm.py's Mdm without its sockets, files or peers: a master holding one volume and two SDCs.
const MDM = String.raw`
import json
from scaleio_emu import mdm as M
m = M.Mdm.__new__(M.Mdm)
m.state = {"volumes": [{"id": "v1", "name": "vol1", "size_gb": 16, "mapped": []}],
           "sdcs": [{"id": "c1", "guid": "G1", "ip": "10.0.0.1", "name": None},
                    {"id": "c2", "guid": "G2", "ip": "10.0.0.2", "name": None}],
           "system": {"id": "sys1"}, "members": [], "serial": 7}
m.seen = {}
def commit():
    m.state["serial"] += 1
m.commit = commit
m.my_role = lambda: "master"
pushed = []
m.push_limits = lambda sdc, vol: pushed.append([sdc["id"], vol["limits"][sdc["id"]]])
def limits_seen_by(guid):
    reply = m.sdc_register({"guid": guid}, "10.0.0.1" if guid == "G1" else "10.0.0.2")
    return [v["limits"] for v in reply["volumes"]]
out = {}
out["unmapped"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_id": "c1", "limit_iops": 500})
m.cmd_map_volume_to_sdc({"volume_id": "v1", "sdc_id": "c1"})
out["set"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_ip": "10.0.0.1", "limit_iops": 500})
out["bw"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_id": "c1", "limit_bandwidth_kbps": 2048})
out["iops10"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_id": "c1", "limit_iops": 10})
out["bw1000"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_id": "c1", "limit_bandwidth_kbps": 1000})
out["negative"] = m.cmd_set_sdc_volume_limits({"volume_id": "v1", "sdc_id": "c1", "limit_iops": -1})
out["seen_c1"] = limits_seen_by("G1")
out["seen_c2"] = limits_seen_by("G2")
m.cmd_unmap_volume_from_sdc({"volume_id": "v1", "sdc_id": "c1"})
m.cmd_map_volume_to_sdc({"volume_id": "v1", "sdc_id": "c1"})
out["remapped"] = limits_seen_by("G1")
out["pushed"] = pushed
print(json.dumps(out))
`;

describe("mdm.py: limits belong to the (volume, SDC) mapping", () => {
  const r = python(MDM) as Record<string, unknown>;

  it("refuses limits on a mapping that does not exist, and bad values, as the gateway does", () => {
    expect(r.unmapped).toMatchObject({ ok: false, error: "The volume is not mapped to this SDC" });
    expect(r.iops10).toMatchObject({
      ok: false,
      error: "IOPS limit must be 0 (unlimited) or greater than 10",
    });
    expect(r.bw1000).toMatchObject({
      ok: false,
      error: "Bandwidth limit must be 0 (unlimited) or a multiple of 1024 KB/s",
    });
    expect(r.negative).toMatchObject({ ok: false });
  });

  it("keeps a value left out, gives them to that SDC only, and a new mapping starts without", () => {
    expect(r.set).toMatchObject({ ok: true });
    expect(r.bw).toMatchObject({ ok: true });
    expect(r.seen_c1).toEqual([{ iops: 500, bw_kbps: 2048, serial: 10 }]);
    expect(r.seen_c2).toEqual([]);
    expect(r.remapped).toEqual([{ serial: 12 }]);
  });

  it("pushes each accepted change to the mapping's SDC, and nothing refused", () => {
    expect(r.pushed).toEqual([
      ["c1", { iops: 500, serial: 9 }],
      ["c1", { iops: 500, bw_kbps: 2048, serial: 10 }],
    ]);
  });
});

// qos.Throttle on a stand-in blkio tree: root/, root/docker/, root/docker/<container>/.
const THROTTLE = String.raw`
import json, os, struct, sys
from scaleio_emu import qos
FILES = list(qos.rule_values(None))
def tree(root):
    for d in ("", "docker", "docker/c1"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        for f in FILES:
            open(os.path.join(root, d, f), "w").close()
def contents(root):
    return {d: {f: open(os.path.join(root, d, f)).read().strip() for f in FILES}
            for d in ("", "docker", "docker/c1")}
writes = []
real_open = open
def counting_open(path, mode="r", *a, **k):
    if "w" in mode:
        writes.append(path)
    return real_open(path, mode, *a, **k)
qos.open = counting_open
root = os.environ["SCALEIO_EMU_ROOT"] + "/blkio"
tree(root)
t = qos.Throttle(root)
out = {}
t.want("v1", "7:3", {"iops": 100, "bw_kbps": 2048})
out["applied"] = t.apply_all()
out["limited"] = contents(root)
del writes[:]
t.apply_all()
out["rewrites"] = len(writes)
t.want("v1", "7:3", {})
t.apply_all()
out["lifted"] = contents(root)
t.want("v1", "7:3", {"iops": 100})
t.want("v1", "7:5", {"iops": 100})
out["moved"] = {k: v["blkio.throttle.write_iops_device"] for k, v in t.targets().items()}
t.drop("v1")
out["dropped"] = sorted(t.lifted) + sorted(d for d, _ in t.wanted.values())
with open(os.environ["SCALEIO_EMU_ROOT"] + "/mountinfo", "w") as f:
    f.write("30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            "31 25 0:27 / /sys/fs/cgroup/blkio rw,nosuid - cgroup cgroup rw,blkio\n"
            "32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
out["root"] = qos.blkio_root(os.environ["SCALEIO_EMU_ROOT"] + "/mountinfo")
out["no_root"] = qos.blkio_root("/nonexistent")
none = qos.Throttle(root="")
out["without_blkio"] = [none.apply_all(), none.last_error]
ev = struct.pack("iIII", 1, qos.IN_CREATE | qos.IN_ISDIR, 0, 16) + b"abc".ljust(16, b"\0")
ev += struct.pack("iIII", -1, qos.IN_Q_OVERFLOW, 0, 0)
out["events"] = list(qos.Throttle.events(ev))
print(json.dumps(out))
`;

// The inotify watch on a stand-in tree: Docker's docker/ appears after the SDC started and before
// any limit exists; a container's cgroup made in it later must get the rules at once. (Dirs come
// in by rename, with their files already in them, as cgroupfs makes a cgroup's files with it.)
const WATCH = String.raw`
import json, os, threading, time
from scaleio_emu import qos
base = os.environ["SCALEIO_EMU_ROOT"]
def cgroup(path):
    os.makedirs(path)
    for f in qos.rule_values(None):
        open(os.path.join(path, f), "w").close()
    return path
root = cgroup(base + "/blkio")
t = qos.Throttle(root)
threading.Thread(target=t.watch, daemon=True).start()
time.sleep(0.3)
os.rename(cgroup(base + "/prep-docker"), root + "/docker")
time.sleep(0.3)
t.want("v1", "7:3", {"iops": 100})
t.apply_all()
os.rename(cgroup(base + "/prep-c1"), root + "/docker/c1")
rule, end = "", time.time() + 5
while time.time() < end and not rule:
    rule = open(root + "/docker/c1/blkio.throttle.write_iops_device").read().strip()
    time.sleep(0.05)
print(json.dumps({"container": rule, "error": t.last_error}))
`;

// The MDM's push (qos.push) to the SDC's data port (sdc.py answer_peer / on_limits) over a real
// localhost socket: accepted from an MDM of its system for a volume mapped here, in force when
// it answers; refused from anyone else, for another system, or a volume not mapped here.
const PUSH = String.raw`
import json, os, socket, threading
from scaleio_emu import qos, sdc as S
base = os.environ["SCALEIO_EMU_ROOT"]
os.makedirs(base + "/blkio")
for f in qos.rule_values(None):
    open(os.path.join(base, "blkio", f), "w").close()
d = S.Sdc.__new__(S.Sdc)
d.system_id, d.mdms = "sys1", [{"id": "m1", "ips": ["127.0.0.1"]}]
d.state = {"volumes": {"v1": {"letter": "a", "loop": "/dev/loop3", "limits": {}}}}
d.throttle = qos.Throttle(base + "/blkio")
d.limit = lambda vol, info: d.throttle.want(vol, "7:3", info["limits"])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
port = srv.getsockname()[1]
def serve(peer):
    conn, _ = srv.accept()
    d.answer_peer(conn, peer)
def ask(peer, system, vol):
    th = threading.Thread(target=serve, args=(peer,))
    th.start()
    why = qos.push("127.0.0.1", port, system, vol, {"iops": 100, "bw_kbps": 1024, "serial": 5})
    th.join()
    return why
out = {"stranger": ask("10.9.9.9", "sys1", "v1"), "other_system": ask("127.0.0.1", "sys2", "v1"),
       "unmapped": ask("127.0.0.1", "sys1", "v9"), "rule_before": open(base + "/blkio/blkio.throttle.write_iops_device").read().strip(),
       "accepted": ask("127.0.0.1", "sys1", "v1"),
       "rule": open(base + "/blkio/blkio.throttle.write_iops_device").read().strip(),
       "kept": d.state["volumes"]["v1"]["limits"],
       "stale_sync": [S.Sdc.take_limits(d.state["volumes"]["v1"], {"serial": 4}), d.state["volumes"]["v1"]["limits"]["iops"]][1],
       "newer_sync": [S.Sdc.take_limits(d.state["volumes"]["v1"], {"serial": 6}), d.state["volumes"]["v1"]["limits"]][1],
       "down": qos.push("127.0.0.1", 1, "sys1", "v1", {}) is not None}
print(json.dumps(out))
`;

describe("the MDM's push of new limits to the SDC", () => {
  const r = python(PUSH) as Record<string, unknown>;

  it("is refused from a stranger, for another system, or a volume not mapped here", () => {
    expect(r.stranger).toBe("limits are taken from this system's MDMs only");
    expect(r.other_system).toBe("limits are taken from this system's MDMs only");
    expect(r.unmapped).toBe("volume v9 is not mapped here");
    expect(r.rule_before).toBe("");
  });

  it("is in force when the SDC answers, and kept for its restarts", () => {
    expect(r.accepted).toBeNull();
    expect(r.rule).toBe("7:3 100");
    expect(r.kept).toEqual({ iops: 100, bw_kbps: 1024, serial: 5 });
  });

  it("is not undone by a sync the MDM answered before it, and gives way to a newer one", () => {
    expect(r.stale_sync).toBe(100);
    expect(r.newer_sync).toEqual({ serial: 6 });
  });

  it("says so when the SDC cannot be reached (it gets them at its next sync)", () => {
    expect(r.down).toBe(true);
  });
});

describe("qos.py: the SDC's blkio throttles", () => {
  it("gives a container's new cgroup the rules, also under a docker/ made after the SDC started", () => {
    expect(python(WATCH)).toEqual({ container: "7:3 100", error: null });
  });

  const r = python(THROTTLE) as Record<string, unknown>;
  const each = (v: Record<string, string>) => ({
    "blkio.throttle.read_iops_device": v.iops,
    "blkio.throttle.write_iops_device": v.iops,
    "blkio.throttle.read_bps_device": v.bps,
    "blkio.throttle.write_bps_device": v.bps,
  });

  it("writes IOPS and KB/s x 1024 rules, reads and writes, into every cgroup of the tree", () => {
    expect(r.applied).toBe(true);
    const want = each({ iops: "7:3 100", bps: "7:3 2097152" });
    expect(r.limited).toEqual({ "": want, docker: want, "docker/c1": want });
  });

  it("writes nothing when the rules are already in force", () => {
    expect(r.rewrites).toBe(0);
  });

  it("lifts a removed limit with a 0 rule (the kernel's way to delete one)", () => {
    const want = each({ iops: "7:3 0", bps: "7:3 0" });
    expect(r.lifted).toEqual({ "": want, docker: want, "docker/c1": want });
  });

  it("clears the old device when a volume's device changes, and the last one when it goes", () => {
    expect(r.moved).toEqual({ "7:3": 0, "7:5": 100 });
    expect(r.dropped).toEqual([]); // drop() applied at once: nothing left to lift or to hold
  });

  it("finds the v1 blkio mount in mountinfo, and says when there is none", () => {
    expect(r.root).toBe("/sys/fs/cgroup/blkio");
    expect(r.no_root).toBeNull();
    expect(r.without_blkio).toEqual([false, "no cgroup v1 blkio hierarchy is mounted"]);
  });

  it("parses inotify events: a new directory and a queue overflow", () => {
    expect(r.events).toEqual([
      ["abc", 1, 0x100 | 0x40000000],
      ["", -1, 0x4000],
    ]);
  });
});
