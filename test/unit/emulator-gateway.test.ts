// The emulator gateway's volume-driver calls (queryIdByKey, map/unmap codes, setMappedSdcLimits,
// 31-character names, Sdc connection state), checked without root or network: gateway.py's
// request handler runs against an in-memory MDM that answers with mdm.py's refusal texts.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const LIB = path.join(__dirname, "..", "emulator", "python");
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "ah-emu-gw-"));

// Runs the calls in order against one gateway and one in-memory MDM; prints one
// [status, errorCode, body] per call.
const HARNESS = String.raw`
import base64, io, json, sys
from scaleio_emu import common, gateway as g

calls = json.load(sys.stdin)
state = {"system": {"id": "sys1", "name": "lab", "version": "3.6"},
         "members": [{"id": "m1", "role": "master", "mgmt_ips": ["10.0.0.1"]}], "mode": "3_node",
         "pds": [{"id": "pd1", "name": "pd1"}],
         "pools": [{"id": "sp1", "name": "sp1", "pd": "pd1", "media_type": "HDD"}], "sds": [],
         "sdcs": [{"id": "c1", "guid": "G-1", "ip": "10.0.0.1"}, {"id": "c2", "guid": "G-2", "ip": "10.0.0.2"}],
         "volumes": [], "capacity_gb": {"sp1": 100}}
up = {"c1": True, "c2": False}

def mdm_cmd(cmd, a):
    vol = next((v for v in state["volumes"] if v["id"] == a.get("volume_id")), None)
    if cmd == "query":
        return dict(ok=True, state=dict(json.loads(json.dumps(state)), up=up))
    if cmd == "add_volume":
        if any(v["name"] == a["volume_name"] for v in state["volumes"]):
            return dict(ok=False, error="A volume with the name %s already exists" % a["volume_name"])
        vid = "v%d" % (len(state["volumes"]) + 1)
        state["volumes"].append({"id": vid, "name": a["volume_name"], "size_gb": 16, "pool": "sp1",
                                 "thin": a["thin_provisioned"], "mapped": []})
        return dict(ok=True, id=vid)
    if vol is None:
        return dict(ok=False, error="Could not find the volume")
    if cmd == "map_volume_to_sdc":
        if a["sdc_id"] in vol["mapped"]:
            return dict(ok=False, error="The volume is already mapped to this SDC")
        vol["mapped"].append(a["sdc_id"])
        vol.get("limits", {}).pop(a["sdc_id"], None)
        return dict(ok=True)
    if cmd == "unmap_volume_from_sdc":
        if a.get("sdc_id") not in vol["mapped"]:
            return dict(ok=False, error="The volume is not mapped to this SDC")
        vol["mapped"].remove(a["sdc_id"])
        vol.get("limits", {}).pop(a["sdc_id"], None)
        return dict(ok=True)
    if cmd == "set_sdc_volume_limits":  # as mdm.py: per mapping, a value left out is kept
        new = {k: a[arg] for arg, k in (("limit_iops", "iops"), ("limit_bandwidth_kbps", "bw_kbps"))
               if a.get(arg) is not None}
        lim = vol.setdefault("limits", {})
        lim[a["sdc_id"]] = dict(lim.get(a["sdc_id"], {}), **new)
        return dict(ok=True)
    if cmd == "remove_volume":
        state["volumes"].remove(vol)
        return dict(ok=True)
    raise AssertionError(cmd)

def fake_call(host, port, message, timeout=5.0, tls=False):
    return mdm_cmd(message["cmd"], message.get("args", {})), "fpr"

common.call = fake_call
g.PROPS.update({"mdm.ip.addresses": "10.0.0.1", "security.bypass_certificate_check": "true"})
g.ISSUED.add("token")  # as if /api/login had handed it out

class Req(g.Handler):
    def __init__(self, body):
        data = json.dumps(body or {}).encode()
        self.headers = {"Authorization": "Basic " + base64.b64encode(b":token").decode(),
                        "Content-Length": str(len(data))}
        self.rfile = io.BytesIO(data)

out = []
for c in calls:
    try:
        status, body = Req(c.get("body")).handle_api(c["method"], c["path"])
        out.append([status, None, body])
    except g.ApiError as e:
        out.append([e.status, e.code, str(e)])
print(json.dumps(out))
`;

type Call = { method: "GET" | "POST"; path: string; body?: unknown };
type Result = [number, number | null, unknown];

function run(calls: Call[]): Result[] {
  return JSON.parse(
    execFileSync("python3", ["-c", HARNESS], {
      env: { ...process.env, PYTHONPATH: LIB, SCALEIO_EMU_ROOT: fs.mkdtempSync(ROOT + "/r") },
      input: JSON.stringify(calls),
    }).toString(),
  ) as Result[];
}

const create = (name: string): Call => ({
  method: "POST",
  path: "/api/types/Volume/instances",
  body: { name, volumeSizeInKb: String(16 * 1024 * 1024), storagePoolId: "sp1" },
});
const action = (name: string, body: unknown): Call => ({
  method: "POST",
  path: `/api/instances/Volume::v1/action/${name}`,
  body,
});
const query = (name: string): Call => ({
  method: "POST",
  path: "/api/types/Volume/instances/action/queryIdByKey",
  body: { name },
});
const volume: Call = { method: "GET", path: "/api/instances/Volume::v1" };

afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

describe("emulator gateway: calls of the volume driver", () => {
  it("finds a volume by name, else HTTP 500 with code 79", () => {
    const [, found, missing] = run([create("dv-data1"), query("dv-data1"), query("nope")]);
    expect(found).toEqual([200, null, "v1"]);
    expect(missing).toEqual([500, 79, "Could not find the volume"]);
  });

  it("refuses names over 31 characters with code 226 and a taken name with the real text", () => {
    const [long, ok31, , taken] = run([
      create("x".repeat(32)),
      create("y".repeat(31)),
      create("dv-a"),
      create("dv-a"),
    ]);
    expect(long).toEqual([500, 226, "The given name exceeds the allowed length of 31 characters"]);
    expect(ok31[0]).toBe(200);
    expect(taken).toEqual([500, 0, "Volume name already in use. Please use a different name."]);
  });

  it("maps and unmaps with codes 81 and 84 for 'already so'", () => {
    const r = run([
      create("dv-data1"),
      action("addMappedSdc", { sdcId: "c1", allowMultipleMappings: "FALSE" }),
      action("addMappedSdc", { sdcId: "c1", allowMultipleMappings: "FALSE" }),
      action("removeMappedSdc", { sdcId: "c1" }),
      action("removeMappedSdc", { sdcId: "c1" }),
      { method: "GET", path: "/api/instances/Volume::v9" },
    ]);
    expect(r[1]).toEqual([200, null, {}]);
    expect(r[2]).toEqual([500, 81, "The volume is already mapped to this SDC"]);
    expect(r[3]).toEqual([200, null, {}]);
    expect(r[4]).toEqual([500, 84, "The volume is not mapped to this SDC"]);
    expect(r[5]).toEqual([500, 79, "Could not find the volume"]);
  });

  it("sets limits on a mapping, checks their values, reads bandwidth back in MB/s, and drops them with the mapping", () => {
    const r = run([
      create("dv-data1"),
      action("setMappedSdcLimits", { sdcId: "c1", iopsLimit: "500" }),
      action("addMappedSdc", { sdcId: "c1" }),
      action("setMappedSdcLimits", { sdcId: "c1", iopsLimit: "10" }),
      action("setMappedSdcLimits", { sdcId: "c1", bandwidthLimitInKbps: "1000" }),
      action("setMappedSdcLimits", { sdcId: "c1", iopsLimit: "500", bandwidthLimitInKbps: "2048" }),
      volume,
      action("removeMappedSdc", { sdcId: "c1" }),
      action("addMappedSdc", { sdcId: "c1" }),
      volume,
    ]);
    expect(r[1]).toEqual([500, 84, "The volume is not mapped to this SDC"]);
    expect(r[3]).toEqual([500, 0, "IOPS limit must be 0 (unlimited) or greater than 10"]);
    expect(r[4]).toEqual([
      500,
      0,
      "Bandwidth limit must be 0 (unlimited) or a multiple of 1024 KB/s",
    ]);
    expect(r[5]).toEqual([200, null, {}]);
    const mapped = (x: Result) =>
      (x[2] as { mappedSdcInfo: { sdcId: string; limitIops: number; limitBwInMbps: number }[] })
        .mappedSdcInfo;
    expect(mapped(r[6])).toEqual([
      expect.objectContaining({ sdcId: "c1", sdcIp: "10.0.0.1", limitIops: 500, limitBwInMbps: 2 }),
    ]);
    // A new mapping starts without limits: they belong to the mapping.
    expect(mapped(r[9])).toEqual([
      expect.objectContaining({ sdcId: "c1", limitIops: 0, limitBwInMbps: 0 }),
    ]);
  });

  it("lists SDCs with their GUID and MDM connection state, and the links goscaleio follows", () => {
    const [sdcs, systems] = run([
      { method: "GET", path: "/api/types/Sdc/instances" },
      { method: "GET", path: "/api/types/System/instances" },
    ]);
    expect(sdcs[2]).toEqual([
      expect.objectContaining({ id: "c1", sdcGuid: "G-1", mdmConnectionState: "Connected" }),
      expect.objectContaining({ id: "c2", sdcGuid: "G-2", mdmConnectionState: "Disconnected" }),
    ]);
    const links = (systems[2] as { links: { rel: string; href: string }[] }[])[0].links;
    expect(links).toContainEqual({
      rel: "/api/System/relationship/ProtectionDomain",
      href: "/api/instances/System::sys1/relationships/ProtectionDomain",
    });
  });
});
