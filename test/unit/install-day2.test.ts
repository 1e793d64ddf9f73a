// Day 2's pure decisions (day2-plan.ts) and the scli pieces they need: who leaves, whether the
// rest has room for a leaving SDS's data (with the numbers), which MDMs leave the cluster and
// how, and what a preview says about data.
import { readFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import {
  departing,
  describeDay2,
  noRoomMessage,
  nodeList,
  planMdmRemoval,
  roomAfterRemoving,
  type PoolCapacity,
} from "../../src/install/day2-plan";
import {
  parseQueryCluster,
  parseSdsDetail,
  parseSparePolicy,
  Scli,
  sizeToGb,
} from "../../src/install/scli";
import type { Machine } from "../../src/machine";

const fixture = (f: string) => readFileSync(join(__dirname, "..", "fixtures", "scli", f), "utf8");

const node = (i: number, mdm?: Machine["mdm"], services = ["sds", "sdc", "docker"]): Machine => ({
  name: `node${i}`,
  ...(mdm ? { mdm } : {}),
  services: services as Machine["services"],
  sshHost: "127.0.0.1",
  sshPort: 22,
  sshUser: "root",
  publicAddress: `10.0.0.${i}`,
  privateAddress: `10.0.0.${i}`,
  dataDisks: ["/dev/vdb"],
  os: "centos7",
});

describe("day-2 scli builders", () => {
  const s = new Scli("3.x", ["10.0.0.1", "10.0.0.2"]);
  it("removes an SDS, an SDC and a standby MDM by address", () => {
    expect(s.removeSds("10.0.0.4").line).toMatch(
      /^scli --remove_sds --sds_ip 10\.0\.0\.4 --mdm_ip/,
    );
    expect(s.removeSdc("10.0.0.4").line).toMatch(
      /^scli --remove_sdc --sdc_ip 10\.0\.0\.4 --mdm_ip/,
    );
    expect(s.removeStandby("10.0.0.3").line).toMatch(
      /^scli --remove_standby_mdm --remove_mdm_ip 10\.0\.0\.3 --mdm_ip/,
    );
    expect(s.querySds("10.0.0.4").line).toMatch(/^scli --query_sds --sds_ip 10\.0\.0\.4 /);
  });
  it("switches the mode with members in and out in one command, empty lists left out", () => {
    const c = s.switchClusterModeRemoving("3_node", {
      addSlaves: [],
      addTbs: ["node4"],
      removeSlaves: [],
      removeTbs: ["node3"],
    });
    expect(c.line).toMatch(
      /^scli --switch_cluster_mode --cluster_mode 3_node --add_tb_name node4 --remove_tb_name node3 --mdm_ip/,
    );
    expect(() =>
      new Scli("1.3x", ["10.0.0.1"]).switchClusterModeRemoving("3_node", {
        addSlaves: [],
        addTbs: [],
        removeSlaves: ["a"],
        removeTbs: [],
      }),
    ).toThrow(/1\.3x/);
  });
});

// The emulator's --query_sds (the 2.0.12000 layout), as test/emulator prints it.
const QUERY_SDS = `SDS 6b2c0e0a00000003 Name: node4 Version: 3.6
Protection Domain: 9d1e7f2a00000000, Name: pd1
IP information total 1 IPs:
     1: 10.0.0.4     Role: All SDS and SDC
    Port: 7072
Device information total 2 devices:
     1: Name: N/A  Path: /dev/vdb  Original-path: /dev/vdb  ID: d1
        Storage Pool: sp1, Capacity: 120.0 GB (122880 MB) State: Normal
     2: Name: N/A  Path: /dev/vdc  Original-path: /dev/vdc  ID: d2
        Storage Pool: sp1, Capacity: 1.0 TB (1048576 MB) State: Normal
Membership-state: Joined; Connection-state: Connected; SDS-state: Normal`;

describe("day-2 parsers", () => {
  it("reads an SDS's raw capacity per pool and its states from --query_sds", () => {
    const d = parseSdsDetail(QUERY_SDS);
    expect(d).toMatchObject({
      id: "6b2c0e0a00000003",
      name: "node4",
      capacityGbByPool: { sp1: 120 + 1024 },
      membership: "Joined",
      connection: "Connected",
    });
    expect(d.progressPercent).toBeUndefined();
    const moving = parseSdsDetail(
      QUERY_SDS.replace("Joined", "Removing") + "\nData migration: 42% done",
    );
    expect(moving).toMatchObject({ membership: "Removing", progressPercent: 42 });
    expect(() => parseSdsDetail("Error: MDM failed command")).toThrow(/no "SDS <id> Name:"/);
  });
  it("reads the emulator's day-2 --query_sds samples: state, total and in-use capacity", () => {
    expect(parseSdsDetail(fixture("day2/query_sds-removing.txt"))).toMatchObject({
      name: "sds4",
      sdsState: "RemovalInProgress",
      connection: "Connected",
      totalGb: 100,
      inUseGb: 16,
      capacityGbByPool: { sp1: 100 },
    });
    expect(parseSdsDetail(fixture("day2/query_sds-disconnected.txt"))).toMatchObject({
      connection: "Disconnected",
      sdsState: "Normal",
      inUseGb: 34.7,
    });
  });
  it("converts sizes to GB", () => {
    expect(sizeToGb("512 MB")).toBe(0.5);
    expect(sizeToGb("2 TB")).toBe(2048);
    expect(sizeToGb("many")).toBeUndefined();
  });
  it("reads a pool's spare policy from --query_all (real 2.0 sample)", () => {
    const all = fixture("2.0/query_all-after-sed.txt");
    expect(parseSparePolicy(all, "default")).toBe(0.2);
    expect(parseSparePolicy(all, "other")).toBeUndefined();
  });
});

describe("who leaves, and room for a leaving SDS's data", () => {
  it("departing: nodes of the last outputs the new spec has not", () => {
    const before = [node(1, "master"), node(2, "slave"), node(3, "tiebreaker"), node(4)];
    expect(departing(before, before.slice(0, 3)).map((n) => n.name)).toEqual(["node4"]);
    expect(departing(before, before)).toEqual([]);
  });
  const cap: PoolCapacity = {
    pool: "sp1",
    spare: 0.1,
    rawGbBySds: { "10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.3": 100, "10.0.0.4": 100 },
    allocatedGb: 96,
  };
  it("counts two copies and the spare off the raw capacity that stays", () => {
    // 300 GB raw stays: 300 x 0.9 / 2 = 135 GB usable; node4 holds 96 x 2 / 4 = 48 GB.
    expect(roomAfterRemoving(cap, ["10.0.0.4"])).toEqual({
      ok: true,
      moveGb: 48,
      usableAfterGb: 135,
      allocatedGb: 96,
    });
    // Two leave: 200 x 0.9 / 2 = 90 GB usable < 96 GB.
    expect(roomAfterRemoving(cap, ["10.0.0.3", "10.0.0.4"]).ok).toBe(false);
  });
  it("says the numbers and the fix when there is no room", () => {
    const r = roomAfterRemoving(cap, ["10.0.0.3", "10.0.0.4"]);
    expect(noRoomMessage(["node3", "node4"], ["node1", "node2"], cap, r)).toBe(
      "removing the SDS of node3, node4 would leave storage pool sp1 without room for its data: " +
        "the SDSs that stay (node1, node2) hold 90 GB usable (two copies, 10% spare), the pool's " +
        "volumes take 96 GB. Add a node (or devices) before removing this one, or delete volumes " +
        "you no longer need; nothing was changed.",
    );
  });
  it("names runs of numbered nodes briefly", () => {
    expect(nodeList(["node1", "node2", "node3"])).toBe("node1-3");
    expect(nodeList(["node1", "node3"])).toBe("node1, node3");
    expect(nodeList(["a", "b", "c"])).toBe("a, b, c");
  });
});

describe("MDMs leaving the cluster", () => {
  const five = parseQueryCluster(`Cluster:
    Name: c1, ID: 1a2b, Mode: 5_node, State: Normal, Active: 5/5, Replicas: 3/3
Master MDM:
    Name: node1, ID: 0x01
        IPs: 10.0.0.1, Management IPs: 10.0.0.1
Slave MDMs:
    Name: node2, ID: 0x02
        IPs: 10.0.0.2, Management IPs: 10.0.0.2
    Name: node4, ID: 0x04
        IPs: 10.0.0.4, Management IPs: 10.0.0.4
Tie-Breakers:
    Name: node3, ID: 0x03
        IPs: 10.0.0.3
    Name: node5, ID: 0x05
        IPs: 10.0.0.5
Standby MDMs:
    Name: other, ID: 0x09, Tie Breaker
        IPs: 10.9.9.9
`);
  const ours = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"];
  it("5 -> 3: one slave and one tie-breaker out; a foreign standby left alone", () => {
    const p = planMdmRemoval(five, { managers: ["10.0.0.1", "10.0.0.2"], tbs: ["10.0.0.3"] }, ours);
    expect(p).toEqual({
      removeSlaves: ["node4"],
      removeTbs: ["node5"],
      removeStandbys: [],
      foreign: ["other"],
    });
  });
  it("the master leaves only after handing its role to a wanted slave", () => {
    const p = planMdmRemoval(
      five,
      { managers: ["10.0.0.2", "10.0.0.4"], tbs: ["10.0.0.3", "10.0.0.5"] },
      ours,
    );
    expect(p.newMaster?.name).toBe("node2");
    expect(p.removeSlaves).toEqual([]);
  });
  it("standbys of this stack that are not wanted are removed by address", () => {
    const three = parseQueryCluster(`Cluster:
    Name: c1, ID: 1a2b, Mode: 3_node, State: Normal, Active: 3/3, Replicas: 2/2
Master MDM:
    Name: node1, ID: 0x01
        IPs: 10.0.0.1, Management IPs: 10.0.0.1
Slave MDMs:
    Name: node2, ID: 0x02
        IPs: 10.0.0.2, Management IPs: 10.0.0.2
Tie-Breakers:
    Name: node4, ID: 0x04
        IPs: 10.0.0.4
Standby MDMs:
    Name: node3, ID: 0x03, Tie Breaker
        IPs: 10.0.0.3
`);
    const p = planMdmRemoval(
      three,
      { managers: ["10.0.0.1", "10.0.0.2"], tbs: ["10.0.0.4"] },
      ours,
    );
    expect(p).toEqual({
      removeSlaves: [],
      removeTbs: [],
      removeStandbys: ["10.0.0.3"],
      foreign: [],
    });
  });
});

describe("what a preview says about data", () => {
  const three = [node(1, "master"), node(2, "slave"), node(3, "tiebreaker")];
  it("a node leaving: its Docker volume, its SDS's data and where it goes, then the rest", () => {
    const room = { ok: true, moveGb: 96, usableAfterGb: 135, allocatedGb: 120 };
    expect(describeDay2([...three, node(4)], three, { room }).lines).toEqual([
      "node4 leaves the cluster: its Docker volume unmapped (kept in the cluster); its SDS " +
        "removed once ScaleIO has moved its data: 96 GB to move to node1-3; then its SDC and packages removed.",
    ]);
    expect(describeDay2([...three, node(4)], three, { deleteVolumes: true }).lines[0]).toMatch(
      /deleted: deleteVolumes is set.*the amount is measured before anything is removed/,
    );
  });
  it("an MDM role moving and 3 -> 5", () => {
    const moved = [node(1, "master"), node(2, "slave"), node(4, "tiebreaker")];
    expect(describeDay2([...three, node(4)], moved).lines).toEqual([
      expect.stringMatching(/^node3 leaves the cluster/),
      "MDM cluster: node4 (tiebreaker) added as standby MDMs, the cluster mode switched " +
        "(3_node -> 3_node) with them in, node3 (tiebreaker) taken out and removed; the cluster " +
        "keeps serving I/O throughout.",
    ]);
    const five = [...three, node(4, "slave"), node(5, "tiebreaker")];
    expect(describeDay2([...three, node(4), node(5)], five).lines).toEqual([
      expect.stringMatching(/node4 \(slave\), node5 \(tiebreaker\) added .*3_node -> 5_node/),
    ]);
    expect(describeDay2(three, three).lines).toEqual([]);
  });
});
