// The emulator's storage tiers (issue 21), without root or network: mdm.py's handlers on an
// in-memory 3.6 cluster (the day-2 harness), scli.py's --query_storage_pool on what they leave.
// Media types as --add_storage_pool takes them, a pool that holds a volume or devices refused
// removal, --remove_sds_device refused when the pool could not hold its thick volumes. Sources:
// test/emulator/README.md ("Storage tiers", the scli surface table).
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const LIB = path.join(__dirname, "..", "emulator", "python");
const HARNESS = path.join(__dirname, "support", "emulator_day2_harness.py");

const out = JSON.parse(
  execFileSync("python3", [HARNESS], {
    env: { ...process.env, PYTHONPATH: LIB },
    input: `
m = new_mdm(3, version="3.6-700.103")
out["flash"] = run(m, "add_storage_pool", protection_domain_name="pd1", storage_pool_name="fast", media_type="Flash")
out["add"] = run(m, "add_storage_pool", protection_domain_name="pd1", storage_pool_name="fast", media_type="SSD")
fast = [p for p in m.state["pools"] if p["name"] == "fast"][0]
for i, s in enumerate(m.state["sds"]):
    s["devices"].append({"id": "f%02x" % i, "path": "/dev/sdc", "name": None, "size": 100 * GIB, "pool": fast["id"]})
out["vol"] = run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="fast", size_gb="8", volume_name="db")
out["pool"] = q(m, "fmt_storage_pool_tiers", protection_domain_name="pd1", storage_pool_name="fast")
out["sp1"] = q(m, "fmt_storage_pool_tiers", protection_domain_name="pd1", storage_pool_name="sp1")
out["rm_vols"] = run(m, "remove_storage_pool", protection_domain_name="pd1", storage_pool_name="fast")
out["rm_vol"] = run(m, "remove_volume", volume_name="db", i_am_sure=True)
out["rm_devs"] = run(m, "remove_storage_pool", protection_domain_name="pd1", storage_pool_name="fast")
out["dev"] = [run(m, "remove_sds_device", sds_name="sds%d" % i, device_path="/dev/sdc") for i in (1, 2, 3)]
out["rm"] = run(m, "remove_storage_pool", protection_domain_name="pd1", storage_pool_name="fast")
out["pools"] = [p["name"] for p in m.state["pools"]]
out["big"] = run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="128", volume_name="big")
out["short"] = run(m, "remove_sds_device", sds_name="sds1", device_path="/dev/sdb")
out["unknown"] = run(m, "remove_sds_device", sds_name="sds1", device_path="/dev/sdz")
`,
    stdio: ["pipe", "pipe", "inherit"],
  }).toString(),
) as Record<string, string & string[]>;

describe("emulator storage tiers", () => {
  it("takes HDD, SSD or Transitional as the media type, and shows it with the pool's volumes", () => {
    expect(out.flash).toMatch(/--media_type must be HDD, SSD or Transitional$/);
    expect(out.add).toMatch(/^Successfully created a storage pool/);
    expect(out.pool).toMatch(/^Storage Pool fast \(Id: \w+\) has 1 volumes/);
    expect(out.pool).toContain("    Media type: SSD");
    expect(out.pool).toContain("Volumes summary:\n\t1 Volumes.\n\t Volume ID: ");
    expect(out.pool).toMatch(/Name: db$/);
    expect(out.sp1).toContain("    Media type: HDD");
    expect(out.sp1).toContain("\t0 Volumes.");
  });

  it("refuses to remove a pool holding a volume (named) or devices; removes it empty", () => {
    expect(out.rm_vols).toMatch(/Storage Pool fast has 1 volume\(s\) \(db\); remove them first$/);
    expect(out.rm_vol).toMatch(/^Successfully removed volume db/);
    expect(out.rm_devs).toMatch(/Storage Pool fast has SDS devices; remove them first/);
    expect(out.dev).toEqual([1, 2, 3].map((i) => `Device /dev/sdc of SDS sds${i} will be removed`));
    expect(out.rm).toBe("Storage Pool fast was removed");
    expect(out.pools).toEqual(["sp1"]);
  });

  it("refuses to remove a device its pool's thick volumes need, and an unknown one", () => {
    expect(out.big).toMatch(/^Successfully created volume of size 128 GB/);
    expect(out.short).toMatch(
      /Not enough capacity in the Storage Pool to remove device \/dev\/sdb of SDS sds1$/,
    );
    expect(out.unknown).toMatch(/Could not find the device \/dev\/sdz on SDS sds1$/);
  });
});
