// The emulator's day-2 behaviour (issue 20), without root or network: mdm.py's command handlers
// run against an in-memory cluster with a fake clock, and scli.py prints what they leave. Covers
// --remove_sds with data moving off at the knob's rate and its refusals, a lost SDS rebuilt,
// --remove_sdc, standby MDM removal, 3 <-> 5 MDMs and a lost slave replaced. Sources of each
// rule: test/emulator/README.md, "Day 2".
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const LIB = path.join(__dirname, "..", "emulator", "python");
const FIXTURES = path.join(__dirname, "..", "fixtures", "scli");

// An MDM object without its daemon, a fake clock, SDSs of N GiB (support/emulator_day2_harness.py).
const HARNESS = path.join(__dirname, "support", "emulator_day2_harness.py");

type Out = Record<string, string>;

function scenario(code: string): Out {
  const stdout = execFileSync("python3", [HARNESS], {
    env: { ...process.env, PYTHONPATH: LIB },
    input: code,
    stdio: ["pipe", "pipe", "ignore"],
  });
  return JSON.parse(stdout.toString()) as Out;
}

const status = (text: string) => /SDS-state: (\S+)/.exec(text)?.[1];
const capacity = (text: string, what: string) =>
  new RegExp(`^ {4}(0 Bytes|[\\d.]+ GB \\(\\d+ MB\\)) ${what} capacity$`, "m").exec(text)?.[1];

describe("emulator day 2: --remove_sds moves the SDS's data off before it goes", () => {
  const out = scenario(`
knob("data_move_gb_per_s=8\\n")
m = new_mdm(4)
tick(m, 1)
out["vol"] = run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="64", volume_name="v1")
out["before"] = q(m, "fmt_sds", sds_name="sds4")
out["rm"] = run(m, "remove_sds", sds_name="sds4")
out["again"] = run(m, "remove_sds", sds_name="sds4")
tick(m, 2)
out["during"] = q(m, "fmt_sds", sds_name="sds4")
out["all_during"] = q(m, "fmt_all")
out["pool_during"] = q(m, "fmt_storage_pool", storage_pool_name="sp1", protection_domain_name="pd1")
tick(m, 2)
out["after"] = q(m, "fmt_all_sds")
out["s1_after"] = q(m, "fmt_sds", sds_name="sds1")
out["pool_after"] = q(m, "fmt_storage_pool", storage_pool_id=POOL)
`);

  it("each SDS holds its share of both copies (64 GB volume, 4 equal SDSs: 32 GB each)", () => {
    expect(out.vol).toMatch(/^Successfully created volume of size 64 GB/);
    expect(status(out.before)).toBe("Normal");
    expect(capacity(out.before, "in-use")).toBe("32.0 GB (32768 MB)");
    expect(capacity(out.before, "unused")).toBe("68.0 GB (69632 MB)");
  });

  it("starts the removal, refuses a second one, and shows the data leaving at 8 GB/s", () => {
    expect(out.rm).toBe("SDS sds4 will be removed");
    expect(out.again).toMatch(/Status: SDS sds4 is already being removed$/);
    expect(status(out.during)).toBe("RemovalInProgress");
    expect(capacity(out.during, "in-use")).toBe("16.0 GB (16384 MB)");
    expect(out.during).toMatch(/^ {4}2 active moving-out rebalance jobs$/m);
    expect(out.during).toMatch(/^ {4}14 pending moving-out rebalance jobs$/m);
    expect(capacity(out.all_during, "total moving")).toBe("16.0 GB (16384 MB)");
    expect(capacity(out.all_during, "rebalance")).toBe("16.0 GB (16384 MB)");
    expect(capacity(out.all_during, "degraded-healthy")).toBe("0 Bytes");
    expect(capacity(out.pool_during, "rebalance")).toBe("16.0 GB (16384 MB)");
    // The removed SDS no longer counts for new volumes: 3 x 100 GB x 0.9 / 2 - 64 = 71 GB.
    expect(out.pool_during).toMatch(/has 1 volumes and 71\.0 GB \(72704 MB\) available/);
  });

  it("is gone when its data has moved, and the others hold it", () => {
    expect(out.after).toMatch(/^Query-all-SDS returned 3 SDS nodes\./);
    expect(out.after).not.toMatch(/sds4/);
    expect(capacity(out.s1_after, "in-use")).toBe("42.7 GB (43690 MB)");
    expect(capacity(out.pool_after, "in-use")).toBe("128.0 GB (131072 MB)");
    expect(capacity(out.pool_after, "rebalance")).toBe("0 Bytes");
  });
});

describe("emulator day 2: an SDS the cluster cannot spare is refused", () => {
  const out = scenario(`
m = new_mdm(3)
tick(m, 1)
out["vol"] = run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="120", volume_name="big")
out["cap"] = run(m, "remove_sds", sds_name="sds3")
out["cap_after"] = q(m, "fmt_all_sds")
m2 = new_mdm(2)
run(m2, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="8", volume_name="v")
out["two"] = run(m2, "remove_sds", sds_ip="10.0.0.12")
m3 = new_mdm(2)
out["empty"] = run(m3, "remove_sds", sds_id=SID(2))
out["empty_after"] = q(m3, "fmt_all_sds")
out["nope"] = run(m3, "remove_sds", sds_name="nope")
`);

  it("when the other SDSs cannot hold the pool's volumes, naming the numbers", () => {
    expect(out.cap).toBe(
      "Error: MDM failed command.  Status: Not enough capacity in Storage Pool sp1 to remove SDS sds3: its volumes need 120 GB, the other SDSs can hold 90 GB",
    );
    expect(out.cap_after).toMatch(/returned 3 SDS nodes/);
  });

  it("when fewer than two SDSs would be left for the two copies", () => {
    expect(out.two).toMatch(
      /Status: Cannot remove SDS sds2: Storage Pool sp1 holds 8 GB of volumes and would be left with 1 SDS\(s\); its 2 copies need 2 SDSs$/,
    );
  });

  it("an SDS without data goes at once; an unknown one is not found", () => {
    expect(out.empty).toBe("SDS sds2 will be removed");
    expect(out.empty_after).toMatch(/returned 1 SDS nodes/);
    expect(out.nope).toMatch(/Status: Could not find the SDS$/);
  });
});

describe("emulator day 2: a lost SDS is rebuilt on the others, then can be removed", () => {
  const out = scenario(`
knob("data_move_gb_per_s=8\\n")
m = new_mdm(4)
tick(m, 1)
run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="64", volume_name="v1")
DOWN.add(SID(4))
tick(m, 5)
out["lost_sds"] = q(m, "fmt_sds", sds_name="sds4")
out["lost_all"] = q(m, "fmt_all")
out["lost_list"] = q(m, "fmt_all_sds")
tick(m, 2)
out["rebuilding"] = q(m, "fmt_storage_pool", storage_pool_id=POOL)
tick(m, 3)
out["rebuilt"] = q(m, "fmt_storage_pool", storage_pool_id=POOL)
out["rebuilt_sds"] = q(m, "fmt_sds", sds_name="sds4")
out["rm"] = run(m, "remove_sds", sds_name="sds4")
out["rm_after"] = q(m, "fmt_all_sds")
# an SDS that comes back before its rebuild ended takes its data back
m = new_mdm(4)
tick(m, 1)
run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="64", volume_name="v1")
DOWN.add(SID(4))
tick(m, 5)
DOWN.discard(SID(4))
tick(m, 1)
out["back"] = q(m, "fmt_sds", sds_name="sds4")
out["back_pool"] = q(m, "fmt_storage_pool", storage_pool_id=POOL)
`);

  it("is shown Disconnected with its data degraded (one copy left) and rebuilding", () => {
    expect(out.lost_sds).toMatch(/Connection-state: Disconnected; SDS-state: Normal/);
    expect(out.lost_list).toMatch(/Name: sds4 State: Disconnected,/);
    expect(out.lost_all).toMatch(/^ {4}1 SDS nodes have connection state 'Disconnected'$/m);
    expect(capacity(out.lost_all, "degraded-healthy")).toBe("32.0 GB (32768 MB)");
    expect(capacity(out.lost_all, "forward-rebuild")).toBe("32.0 GB (32768 MB)");
    expect(capacity(out.lost_all, "protected")).toBe("96.0 GB (98304 MB)");
    expect(capacity(out.rebuilding, "degraded-healthy")).toBe("16.0 GB (16384 MB)");
  });

  it("ends with nothing degraded; the rebuilt SDS holds nothing and is removed at once", () => {
    expect(capacity(out.rebuilt, "degraded-healthy")).toBe("0 Bytes");
    expect(capacity(out.rebuilt_sds, "in-use")).toBe("0 Bytes");
    expect(out.rm).toBe("SDS sds4 will be removed");
    expect(out.rm_after).toMatch(/returned 3 SDS nodes/);
  });

  it("an SDS back before the rebuild ended is Connected and holds its share again", () => {
    expect(out.back).toMatch(/Connection-state: Connected; SDS-state: Normal/);
    expect(capacity(out.back, "in-use")).toBe("32.0 GB (32768 MB)");
    expect(capacity(out.back_pool, "degraded-healthy")).toBe("0 Bytes");
  });
});

describe("emulator day 2: SDCs and MDM members", () => {
  const out = scenario(`
m = new_mdm(3)
tick(m, 1)
run(m, "add_volume", protection_domain_name="pd1", storage_pool_name="sp1", size_gb="8", volume_name="v1")
m.state["sdcs"] += [{"id": "c1", "guid": "G1", "name": None, "ip": "10.0.0.21"},
                    {"id": "c2", "guid": "G2", "name": "gone", "ip": "10.0.0.22"}]
m.seen["c1"] = clock[0]
run(m, "map_volume_to_sdc", volume_name="v1", sdc_ip="10.0.0.21")
out["sdc_mapped"] = run(m, "remove_sdc", sdc_ip="10.0.0.21")
out["sdc_list"] = q(m, "fmt_all_sdc")
out["sdc_gone"] = run(m, "remove_sdc", sdc_name="gone")
out["sdc_list2"] = q(m, "fmt_all_sdc")
mem = m.state["members"]
mem += [{"id": "0xm2", "name": "m2", "ips": ["10.0.0.2"], "mgmt_ips": [], "manager": True, "role": "slave"},
        {"id": "0xt1", "name": "t1", "ips": ["10.0.0.3"], "mgmt_ips": [], "manager": False, "role": "tb"},
        {"id": "0xm3", "name": "m3", "ips": ["10.0.0.4"], "mgmt_ips": [], "manager": True, "role": "standby"},
        {"id": "0xt2", "name": "t2", "ips": ["10.0.0.5"], "mgmt_ips": [], "manager": False, "role": "standby"}]
m.state["mode"] = "3_node"
for x in ("0xm2", "0xt1", "0xm3", "0xt2"):
    m.seen[x] = clock[0]
out["rm_slave"] = run(m, "remove_standby_mdm", remove_mdm_name="m2")
out["rm_tb"] = run(m, "remove_standby_mdm", remove_mdm_name="t1")
out["to5_bad"] = run(m, "switch_cluster_mode", cluster_mode="5_node", add_slave_mdm_name="m3")
out["to5"] = run(m, "switch_cluster_mode", cluster_mode="5_node", add_slave_mdm_name="m3", add_tb_name="t2")
out["c5"] = q(m, "fmt_cluster")
out["to3"] = run(m, "switch_cluster_mode", cluster_mode="3_node", remove_slave_mdm_name="m3", remove_tb_name="t2")
out["c3"] = q(m, "fmt_cluster")
clock[0] += 10
m.seen["0xt1"] = m.seen["0xm3"] = m.seen["0xt2"] = clock[0]
out["c_lost"] = q(m, "fmt_cluster")
out["swap"] = run(m, "switch_cluster_mode", cluster_mode="3_node", add_slave_mdm_name="m3", remove_slave_mdm_name="m2")
out["rm_old"] = run(m, "remove_standby_mdm", remove_mdm_name="m2")
out["rm_standby_tb"] = run(m, "remove_standby_mdm", remove_mdm_ip="10.0.0.5")
out["c_new"] = q(m, "fmt_cluster")
`);

  it("--remove_sdc is refused while volumes are mapped; a disconnected SDC can go", () => {
    expect(out.sdc_mapped).toBe(
      "Error: MDM failed command.  Status: SDC 10.0.0.21 has 1 mapped volume(s) (v1); unmap them first",
    );
    expect(out.sdc_list).toMatch(/Name: gone IP: 10\.0\.0\.22 State: Disconnected/);
    expect(out.sdc_gone).toBe("Successfully removed SDC gone");
    expect(out.sdc_list2).toMatch(/^Query all SDC returned 1 SDC nodes\.$/m);
  });

  it("members of the active cluster are not removed; 3 -> 5 -> 3 both ways", () => {
    expect(out.rm_slave).toMatch(
      /Status: Only a standby MDM can be removed; switch the cluster mode first$/,
    );
    expect(out.rm_tb).toMatch(/Only a standby MDM can be removed/);
    expect(out.to5_bad).toMatch(
      /Cluster mode 5_node needs 2 slave MDM\(s\) and 2 tie-breaker\(s\)/,
    );
    expect(out.to5).toBe("Successfully switched the cluster mode.");
    expect(out.c5).toMatch(/Mode: 5_node, State: Normal, Active: 5\/5, Replicas: 3\/3/);
    expect(out.to3).toBe("Successfully switched the cluster mode.");
    expect(out.c3).toMatch(/Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2/);
    expect(out.c3).toMatch(/Standby MDMs:\n {4}Name: m3, ID: 0xm3, Manager\n/);
  });

  it("a lost slave: Degraded, replaced by a standby, then removed; the cluster is Normal", () => {
    expect(out.c_lost).toMatch(/Mode: 3_node, State: Degraded, Active: 2\/3, Replicas: 1\/2/);
    expect(out.c_lost).toMatch(/Name: m2, ID: 0xm2\n.*\n {8}Status: Disconnected/);
    expect(out.swap).toBe("Successfully switched the cluster mode.");
    expect(out.rm_old).toBe("Successfully removed the standby MDM");
    expect(out.rm_standby_tb).toBe("Successfully removed the standby MDM");
    expect(out.c_new).toMatch(/Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2/);
    expect(out.c_new).not.toMatch(/m2|t2|Standby MDMs/);
  });
});

describe("emulator day 2: the fixtures in test/fixtures/scli/day2 are what the emulator prints", () => {
  it("each fixture is reproduced by its scenario", () => {
    const dir = path.join(FIXTURES, "day2");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".txt"));
    expect(files.length).toBeGreaterThan(0);
    const out = scenario(fs.readFileSync(path.join(dir, "scenario.py"), "utf8"));
    for (const f of files) {
      expect(out[f], f).toBe(fs.readFileSync(path.join(dir, f), "utf8"));
    }
  });
});

describe("emulator day 2: the scli surface of the day-2 commands", () => {
  // Forms public automation writes (test/emulator/README.md, "Day 2"), and wrong ones.
  const PARSE = `
import json, sys
from scaleio_emu import scli
res = []
for line in json.load(sys.stdin):
    try:
        res.append(scli.parse_command(line.split(" "))[0])
    except scli.Failure as f:
        res.append("exit %d: %s" % (f.code, str(f).splitlines()[0]))
print(json.dumps(res))
`;
  const parse = (lines: string[]) =>
    JSON.parse(
      execFileSync("python3", ["-c", PARSE], {
        env: { ...process.env, PYTHONPATH: LIB },
        input: JSON.stringify(lines),
      }).toString(),
    ) as string[];

  it("accepts the public forms", () => {
    expect(
      parse([
        "--remove_sds --sds_name mySDS",
        "--remove_sds --sds_ip 192.168.50.11",
        "--remove_sdc --sdc_ip 1.2.3.4 --i_am_sure",
        "--remove_sdc --sdc_ip 1.2.3.4",
        "--remove_standby_mdm --remove_mdm_name name",
        "--switch_cluster_mode --cluster_mode 1_node --remove_slave_mdm_ip 10.0.0.2 --remove_tb_ip 10.0.0.3",
        "--query_storage_pool --protection_domain_name pd1 --storage_pool_name sp1",
        "--query_storage_pool --storage_pool_id b1e4f0a200000000",
      ]),
    ).toEqual([
      "remove_sds",
      "remove_sds",
      "remove_sdc",
      "remove_sdc",
      "remove_standby_mdm",
      "switch_cluster_mode",
      "query_storage_pool",
      "query_storage_pool",
    ]);
  });

  it("refuses a missing or doubled selector as a usage error (exit 2)", () => {
    expect(
      parse([
        "--remove_sdc",
        "--remove_sdc --sdc_ip 1.2.3.4 --sdc_name c",
        "--query_storage_pool --protection_domain_name pd1",
        "--remove_sds --sds_name a --force",
      ]),
    ).toEqual([
      "exit 2: Error: --remove_sdc needs exactly one of --sdc_id | --sdc_name | --sdc_ip | --sdc_guid",
      "exit 2: Error: --remove_sdc needs exactly one of --sdc_id | --sdc_name | --sdc_ip | --sdc_guid (got --sdc_name --sdc_ip)",
      "exit 2: Error: --query_storage_pool needs exactly one of --storage_pool_id | --storage_pool_name",
      "exit 2: Error: Unknown option --force for --remove_sds",
    ]);
  });
});
