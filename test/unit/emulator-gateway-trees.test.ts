// The emulator gateway's volume-tree calls (snapshotVolumes, setVolumeSize, removeVolume with
// removeMode, mapping access modes, Statistics, token expiry) against the REAL MDM model:
// gateway.py's handler calls mdm.py's Mdm.command in-process (no network, no root).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const LIB = path.join(__dirname, "..", "emulator", "python");
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "ah-emu-gwt-"));

// One MDM (master, one pool "sp1" backed by two 200 GiB devices -> 180 GB usable), two SDCs;
// the calls run in order; prints one [status, errorCode, body] per call. "@N" in a call stands
// for the id call N made (its "id", or the first of its "volumeIdList"). A call
// {"expire": true} expires the gateway's tokens as SIGUSR1 does.
const HARNESS = String.raw`
import base64, io, json, sys, time
from scaleio_emu import common, gateway as g, mdm

calls = json.load(sys.stdin)
m = mdm.Mdm.__new__(mdm.Mdm)
m.node, m.seen, m.version = {"id": "m1"}, {}, "3.6-700.103"
m.commit = lambda: None
m.master_since = time.time()
dev = lambda i: {"id": "d%d" % i, "path": "/dev/sd%d" % i, "size": 200 * 1024**3, "pool": "sp1"}
m.state = {"system": {"id": "sys1", "name": "lab", "version": "3.6"}, "mode": "1_node",
           "members": [{"id": "m1", "role": "master", "ips": ["10.0.0.1"], "mgmt_ips": ["10.0.0.1"],
                        "manager": True}],
           "users": {"admin": {"hash": "", "role": "SuperUser"}},
           "sessions": {"token": {"user": "admin", "expires": time.time() + 3600}},
           "pds": [{"id": "pd1", "name": "pd1"}],
           "pools": [{"id": "sp1", "name": "sp1", "pd": "pd1", "media_type": "SSD"}],
           "sds": [{"id": "s1", "name": "sds1", "ips": ["10.0.0.1"], "pd": "pd1", "pool": "sp1",
                    "devices": [dev(1), dev(2)]}],
           "sdcs": [{"id": "c1", "guid": "G-1", "ip": "10.0.0.1"}, {"id": "c2", "guid": "G-2", "ip": "10.0.0.2"}],
           "volumes": [], "fault_sets": []}

def fake_call(host, port, message, timeout=5.0, tls=False):
    return m.command(message["cmd"], message.get("args", {}), message.get("token"), "10.0.0.9"), "fpr"

common.call = fake_call
g.PROPS.update({"mdm.ip.addresses": "10.0.0.1", "security.bypass_certificate_check": "true"})
g.ISSUED.add("token")

class Req(g.Handler):
    def __init__(self, body):
        data = json.dumps(body or {}).encode()
        self.headers = {"Authorization": "Basic " + base64.b64encode(b":token").decode(),
                        "Content-Length": str(len(data))}
        self.rfile = io.BytesIO(data)

out, ids = [], []
for c in calls:
    if c.get("expire"):
        g.expire_tokens()
        out.append([0, None, None])
        ids.append(None)
        continue
    text = json.dumps(c)
    for n in range(len(ids) - 1, -1, -1):
        if ids[n]:
            text = text.replace("@%d" % n, ids[n])
    c = json.loads(text)
    try:
        status, body = Req(c.get("body")).handle_api(c["method"], c["path"])
        out.append([status, None, body])
        made = body.get("id") or (body.get("volumeIdList") or [None])[0] if isinstance(body, dict) else None
        ids.append(made)
    except g.ApiError as e:
        out.append([e.status, e.code, str(e)])
        ids.append(None)
print(json.dumps(out))
`;

type Call = { method: "GET" | "POST"; path: string; body?: unknown } | { expire: true };
type Result = [number, number | null, unknown];
type Vol = {
  id: string;
  name: string;
  sizeInKb: number;
  ancestorVolumeId: string | null;
  vtreeId: string;
  volumeType: string;
  mappedSdcInfo: { sdcId: string; accessMode: string }[] | null;
};

function run(calls: Call[]): Result[] {
  return JSON.parse(
    execFileSync("python3", ["-c", HARNESS], {
      env: { ...process.env, PYTHONPATH: LIB, SCALEIO_EMU_ROOT: fs.mkdtempSync(ROOT + "/r") },
      input: JSON.stringify(calls),
    }).toString(),
  ) as Result[];
}

const GB = 1024 * 1024;
const create = (name: string, gb: number, thin = true): Call => ({
  method: "POST",
  path: "/api/types/Volume/instances",
  body: {
    name,
    volumeSizeInKb: String(gb * GB),
    storagePoolId: "sp1",
    volumeType: thin ? "ThinProvisioned" : "ThickProvisioned",
  },
});
const act = (id: string, name: string, body: unknown): Call => ({
  method: "POST",
  path: `/api/instances/Volume::${id}/action/${name}`,
  body,
});
const get = (p: string): Call => ({ method: "GET", path: p });
const snap = (defs: { volumeId: string; snapshotName?: string }[], extra = {}): Call => ({
  method: "POST",
  path: "/api/instances/System::sys1/action/snapshotVolumes",
  body: { snapshotDefs: defs, ...extra },
});

afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

const vol = (r: Result) => r[2] as Vol;

describe("emulator gateway: snapshots, growth, removal modes (real MDM model)", () => {
  it("snapshots volumes into their VTree as one consistency group; the snapshot is a thin volume with ancestorVolumeId", () => {
    const r = run([
      create("src", 16, false), // 0
      create("other", 8), // 1
      snap([
        { volumeId: "@0", snapshotName: "src-s1" },
        { volumeId: "@1", snapshotName: "oth-s1" },
      ]), // 2
      get("/api/instances/Volume::@2"), // 3
      get("/api/instances/Volume::@0"), // 4
      snap([{ volumeId: "nope", snapshotName: "s0" }]), // 5
      snap([{ volumeId: "@0", snapshotName: "src-s1" }]), // 6
      snap([]), // 7
    ]);
    const group = r[2][2] as { volumeIdList: string[]; snapshotGroupId: string };
    expect(group.volumeIdList).toHaveLength(2);
    expect(group.snapshotGroupId).toMatch(/^[0-9a-f]{16}$/);
    const s1 = vol(r[3]);
    expect(s1).toMatchObject({
      name: "src-s1",
      ancestorVolumeId: vol(r[4]).id,
      vtreeId: vol(r[4]).vtreeId,
      sizeInKb: 16 * GB,
      volumeType: "ThinProvisioned",
      consistencyGroupId: group.snapshotGroupId,
    });
    expect(r[5]).toEqual([500, 79, "Could not find the volume"]);
    expect(r[6]).toEqual([500, 0, "Volume name already in use. Please use a different name."]);
    expect(r[7][0]).toBe(400);
  });

  it("grows a volume in 8 GB steps and refuses to shrink it, with the sizes", () => {
    const r = run([
      create("g", 8), // 0
      act("@0", "setVolumeSize", { sizeInGB: "20" }), // 1
      get("/api/instances/Volume::@0"), // 2
      act("@0", "setVolumeSize", { sizeInGB: "8" }), // 3
      act("@0", "setVolumeSize", { sizeInGB: "-8" }), // 4
      act("nope", "setVolumeSize", { sizeInGB: "32" }), // 5
      create("thick", 160, false), // 6
      act("@6", "setVolumeSize", { sizeInGB: "200" }), // 7
    ]);
    expect(r[1]).toEqual([200, null, {}]);
    expect(vol(r[2]).sizeInKb).toBe(24 * GB);
    expect(r[3]).toEqual([
      500,
      0,
      "The volume g is 24 GB: its size can only be increased (asked for 8 GB)",
    ]);
    expect(r[4][0]).toBe(400);
    expect(r[5]).toEqual([500, 79, "Could not find the volume"]);
    expect(r[7]).toEqual([
      500,
      0,
      "Not enough capacity in Storage Pool sp1: 40 GB requested, 20 GB free",
    ]);
  });

  it("removes by removeMode: ONLY_ME keeps the snapshots (moved up a level), INCLUDING_DESCENDANTS takes them, a bad mode is HTTP 400", () => {
    const r = run([
      create("base", 8), // 0
      snap([{ volumeId: "@0", snapshotName: "s1" }]), // 1
      snap([{ volumeId: "@1", snapshotName: "s1-1" }]), // 2
      act("@0", "removeVolume", { removeMode: "ONLY_ME" }), // 3
      get("/api/instances/Volume::@1"), // 4
      get("/api/instances/Volume::@0"), // 5
      act("@1", "removeVolume", { removeMode: "Unknown" }), // 6
      act("@1", "addMappedSdc", { sdcId: "c1" }), // 7
      act("@1", "removeVolume", { removeMode: "INCLUDING_DESCENDANTS" }), // 8
      act("@1", "removeMappedSdc", { sdcId: "c1" }), // 9
      act("@1", "removeVolume", { removeMode: "INCLUDING_DESCENDANTS" }), // 10
      get("/api/types/Volume/instances"), // 11
    ]);
    expect(r[3]).toEqual([200, null, {}]);
    // s1 survives its source: no ancestor any more, still in the source's VTree.
    expect(vol(r[4])).toMatchObject({ name: "s1", ancestorVolumeId: null });
    expect(vol(r[4]).vtreeId).toBe((r[0][2] as { id: string }).id);
    expect(r[5]).toEqual([500, 79, "Could not find the volume"]);
    expect(r[6]).toEqual([
      400,
      0,
      "removeMode should get one of the following values: ONLY_ME, INCLUDING_DESCENDANTS, DESCENDANTS_ONLY, WHOLE_VTREE, but its value is Unknown.",
    ]);
    expect(r[8]).toEqual([500, 0, "The volume s1 is mapped to 1 SDC(s); unmap it first"]);
    expect(r[10]).toEqual([200, null, {}]);
    expect(r[11][2]).toEqual([]);
  });

  it("keeps a mapping's accessMode and changes it with setVolumeMappingAccessMode", () => {
    const r = run([
      create("ro", 8), // 0
      act("@0", "addMappedSdc", { sdcId: "c1", accessMode: "ReadOnly" }), // 1
      act("@0", "addMappedSdc", { sdcId: "c2", allowMultipleMappings: "TRUE" }), // 2
      get("/api/instances/Volume::@0"), // 3
      act("@0", "setVolumeMappingAccessMode", { sdcId: "c1", accessMode: "ReadWrite" }), // 4
      get("/api/instances/Volume::@0"), // 5
      act("@0", "addMappedSdc", { sdcId: "c1", accessMode: "Sideways" }), // 6
    ]);
    expect(vol(r[3]).mappedSdcInfo).toEqual([
      expect.objectContaining({ sdcId: "c1", accessMode: "ReadOnly" }),
      expect.objectContaining({ sdcId: "c2", accessMode: "ReadWrite" }),
    ]);
    expect(vol(r[5]).mappedSdcInfo?.[0]).toMatchObject({ sdcId: "c1", accessMode: "ReadWrite" });
    expect(r[6][0]).toBe(400);
  });

  it("answers Statistics of pool, system, SDC and volume with the capacity the MDM enforces", () => {
    const r = run([
      create("thick", 40, false), // 0
      act("@0", "addMappedSdc", { sdcId: "c1" }), // 1
      get("/api/instances/StoragePool::sp1/relationships/Statistics"), // 2
      get("/api/instances/System::sys1/relationships/Statistics"), // 3
      get("/api/instances/Sdc::c1/relationships/Statistics"), // 4
      get("/api/instances/Volume::@0/relationships/Statistics"), // 5
      get("/api/instances/Sdc::c1/relationships/Volume"), // 6
      create("toobig", 144, false), // 7
      create("fits", 136, false), // 8
    ]);
    const pool = r[2][2] as Record<string, number>;
    // 2 x 200 GiB raw, 10 % spare, two copies: 180 GB usable; 40 GB thick used.
    expect(pool).toMatchObject({
      maxCapacityInKb: 400 * GB,
      spareCapacityInKb: 40 * GB,
      capacityInUseInKb: 80 * GB,
      capacityAvailableForVolumeAllocationInKb: 140 * GB,
      numOfVolumes: 1,
      numOfThickBaseVolumes: 1,
    });
    expect(r[3][2]).toMatchObject({ numOfStoragePools: 1, numOfSdc: 2, numOfVolumes: 1 });
    const onSdc = r[6][2] as Vol[];
    expect(onSdc.map((v) => v.name)).toEqual(["thick"]);
    expect(r[4][2]).toEqual({ volumeIds: [onSdc[0].id], numOfMappedVolumes: 1 });
    expect(r[5][2]).toEqual({ mappedSdcIds: ["c1"], numOfMappedSdcs: 1 });
    // The MDM refuses exactly what Statistics says does not fit.
    expect(r[7]).toEqual([
      500,
      0,
      "Not enough capacity in Storage Pool sp1: 144 GB requested, 140 GB free",
    ]);
    expect(r[8][0]).toBe(200);
  });

  it("answers 401 Unauthorized, as the real gateway, once its tokens are expired", () => {
    const r = run([
      get("/api/types/System/instances"),
      { expire: true },
      get("/api/types/System/instances"),
    ]);
    expect(r[0][0]).toBe(200);
    expect(r[2]).toEqual([401, 0, "Unauthorized"]);
  });
});

describe("emulator gateway: other types and refusals (real MDM model)", () => {
  const post = (p: string, body: unknown = {}): Call => ({ method: "POST", path: p, body });

  it("refuses to remove a pool that holds volumes or devices, or a domain that is not empty, naming what is left", () => {
    const r = run([
      create("keep", 8), // 0
      post("/api/instances/StoragePool::sp1/action/removeStoragePool"), // 1
      post("/api/instances/ProtectionDomain::pd1/action/removeProtectionDomain"), // 2
      post("/api/instances/StoragePool::nope/action/removeStoragePool"), // 3
      post("/api/types/StoragePool/instances", {
        protectionDomainId: "pd1",
        name: "empty",
        mediaType: "SSD",
      }), // 4
      post("/api/instances/StoragePool::@4/action/setMediaType", { mediaType: "Flash" }), // 5
      post("/api/instances/StoragePool::@4/action/setMediaType", { mediaType: "HDD" }), // 6
      get("/api/instances/StoragePool::@4"), // 7
      post("/api/instances/StoragePool::@4/action/removeStoragePool"), // 8
      get("/api/instances/StoragePool::@4"), // 9
    ]);
    expect(r[1]).toEqual([500, 0, "Storage Pool sp1 has 1 volume(s) (keep); remove them first"]);
    expect(r[2][2]).toMatch(
      /^Protection Domain pd1 is not empty: remove its storage pool sp1, SDS sds1/,
    );
    expect(r[3]).toEqual([500, 0, "Could not find the StoragePool"]);
    expect(r[5][0]).toBe(500);
    expect(r[7][2]).toMatchObject({ name: "empty", mediaType: "HDD" });
    expect(r[8][0]).toBe(200);
    expect(r[9]).toEqual([500, 0, "Could not find the StoragePool"]);
  });

  it("lists devices, VTrees and the MDM cluster, finds an SDC by IP, and keeps 404 for missing endpoints only", () => {
    const r = run([
      create("tree", 8), // 0
      snap([{ volumeId: "@0", snapshotName: "tree-s" }]), // 1
      get("/api/types/Device/instances"), // 2
      get("/api/types/VTree/instances"), // 3
      post("/api/types/VTree/instances/action/queryBySelectedIds", { ids: ["nope"] }), // 4
      post("/api/instances/System/queryMdmCluster"), // 5
      post("/api/types/Sdc/instances/action/queryIdByKey", { ip: "10.0.0.2" }), // 6
      post("/api/types/Sdc/instances/action/queryIdByKey", { ip: "10.9.9.9" }), // 7
      get("/api/instances/StoragePool::sp1/relationships/SpSds"), // 8
      post("/api/instances/StoragePool::sp1/action/enableRfcache"), // 9
      get("/api/types/Frobnicator/instances"), // 10
    ]);
    expect(r[2][2]).toEqual([
      expect.objectContaining({
        sdsId: "s1",
        storagePoolId: "sp1",
        deviceCurrentPathName: "/dev/sd1",
        maxCapacityInKb: 200 * GB,
      }),
      expect.objectContaining({ deviceCurrentPathName: "/dev/sd2" }),
    ]);
    expect(r[3][2]).toEqual([
      expect.objectContaining({
        name: "tree",
        storagePoolId: "sp1",
        rootVolumes: [expect.any(String)],
      }),
    ]);
    expect(r[4]).toEqual([500, 0, "Could not find the VTree nope"]);
    expect(r[5][2]).toMatchObject({
      clusterMode: "OneNode",
      clusterState: "NotClustered",
      master: { id: "m1", role: "Manager", ips: ["10.0.0.1"] },
      slaves: [],
      tieBreakers: [],
    });
    expect(r[6]).toEqual([200, null, "c2"]);
    expect(r[7]).toEqual([500, 0, "Could not find the SDC"]);
    expect((r[8][2] as { id: string }[]).map((x) => x.id)).toEqual(["s1"]);
    expect(r[9][0]).toBe(404);
    expect(r[10]).toEqual([404, 0, "Unknown type Frobnicator"]);
  });
});
