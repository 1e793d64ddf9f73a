// The cluster stage's decisions as one pure function, table-tested against what --query_cluster
// reports: fresh clusters, re-runs, failovers, nameless (3.6) clusters, wrong roles.
import { readFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import {
  findMdm,
  planCluster,
  type WantedCluster,
  type WantedMdm,
} from "../../src/install/stages/cluster";
import { parseQueryCluster, type ClusterInfo, type MdmInfo } from "../../src/install/scli";

const w = (n: number): WantedMdm => ({ node: `node${n}`, ip: `10.0.0.${n}`, name: `node${n}` });
const WANT3: WantedCluster = { mode: "3_node", master: w(1), slaves: [w(2)], tbs: [w(3)] };
const WANT5: WantedCluster = {
  mode: "5_node",
  master: w(1),
  slaves: [w(2), w(4)],
  tbs: [w(3), w(5)],
};

const mdm = (n: number, o: Partial<MdmInfo> = {}): MdmInfo => ({
  name: `node${n}`,
  id: `0x${n}`,
  ips: [`10.0.0.${n}`],
  managementIps: [],
  ...o,
});
const cluster = (o: Partial<ClusterInfo>): ClusterInfo => ({
  mode: "1_node",
  state: "Normal",
  virtualIps: [],
  slaves: [],
  tieBreakers: [],
  standbys: [],
  ...o,
});

describe("planCluster", () => {
  const cases: {
    what: string;
    want: WantedCluster;
    have: ClusterInfo;
    add: string[];
    switch?: { mode: string; slaves: string[]; tbs: string[] };
    problem?: RegExp;
  }[] = [
    {
      what: "a new 1_node cluster: both standbys, then the switch",
      want: WANT3,
      have: cluster({ master: mdm(1) }),
      add: ["node2:manager", "node3:tb"],
      switch: { mode: "3_node", slaves: ["node2"], tbs: ["node3"] },
    },
    {
      what: "standbys added by an interrupted run: only the switch",
      want: WANT3,
      have: cluster({
        master: mdm(1),
        standbys: [mdm(2, { role: "Manager" }), mdm(3, { role: "Tie Breaker" })],
      }),
      add: [],
      switch: { mode: "3_node", slaves: ["node2"], tbs: ["node3"] },
    },
    {
      what: "complete: nothing to do",
      want: WANT3,
      have: cluster({ mode: "3_node", master: mdm(1), slaves: [mdm(2)], tieBreakers: [mdm(3)] }),
      add: [],
    },
    {
      what: "after a failover the master is node2: still complete",
      want: WANT3,
      have: cluster({ mode: "3_node", master: mdm(2), slaves: [mdm(1)], tieBreakers: [mdm(3)] }),
      add: [],
    },
    {
      what: "3.6 lists only IDs: matched by address, nothing to do",
      want: WANT3,
      have: cluster({
        mode: "3_node",
        master: mdm(1, { name: undefined }),
        slaves: [mdm(2, { name: undefined })],
        tieBreakers: [mdm(3, { name: undefined })],
      }),
      add: [],
    },
    {
      what: "another tool named the MDMs differently: matched by address",
      want: WANT3,
      have: cluster({
        mode: "3_node",
        master: mdm(1, { name: "Manager1" }),
        slaves: [mdm(2, { name: "Manager2" })],
        tieBreakers: [mdm(3, { name: "Tie-Breaker1" })],
      }),
      add: [],
    },
    {
      what: "nameless standby (3.6 lists only IDs): switched by the name we gave it",
      want: WANT3,
      have: cluster({
        master: mdm(1),
        standbys: [mdm(2, { name: undefined, role: "Manager" }), mdm(3, { role: "Tie Breaker" })],
      }),
      add: [],
      switch: { mode: "3_node", slaves: ["node2"], tbs: ["node3"] },
    },
    {
      what: "3_node to 5_node: two more standbys and the switch names only the new ones",
      want: WANT5,
      have: cluster({ mode: "3_node", master: mdm(1), slaves: [mdm(2)], tieBreakers: [mdm(3)] }),
      add: ["node4:manager", "node5:tb"],
      switch: { mode: "5_node", slaves: ["node4"], tbs: ["node5"] },
    },
    {
      what: "a tie-breaker node joined as a manager: a problem, no add",
      want: WANT3,
      have: cluster({
        master: mdm(1),
        standbys: [mdm(2, { role: "Manager" }), mdm(3, { role: "Manager" })],
      }),
      add: [],
      problem:
        /node3 \(10\.0\.0\.3\) is in the MDM cluster as a manager but must be a tie-breaker: reinstall/,
    },
    {
      what: "a manager node joined as a tie-breaker",
      want: WANT3,
      have: cluster({ mode: "3_node", master: mdm(1), tieBreakers: [mdm(2)], slaves: [mdm(3)] }),
      add: [],
      problem: /node2 .* as a tie-breaker but must be a manager/,
    },
    {
      what: "a cluster built without our master",
      want: WANT3,
      have: cluster({ master: mdm(9) }),
      add: [],
      problem: /does not list master node node1/,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const p = planCluster(c.want, c.have);
      expect(p.addStandbys.map((a) => `${a.mdm.node}:${a.role}`)).toEqual(c.add);
      expect(
        p.switchMode && {
          mode: p.switchMode.mode,
          slaves: p.switchMode.addSlaves,
          tbs: p.switchMode.addTbs,
        },
      ).toEqual(c.switch);
      if (c.problem) expect(p.problems.join("; ")).toMatch(c.problem);
      else expect(p.problems).toEqual([]);
    });
  }

  it("on the real 3.6 layout (IDs only) a re-run does nothing", () => {
    const have = parseQueryCluster(
      readFileSync(join(__dirname, "..", "fixtures", "scli", "3.6", "query_cluster.txt"), "utf8"),
    );
    const want: WantedCluster = {
      mode: "3_node",
      master: { node: "a", ip: "10.10.40.111", name: "a" },
      slaves: [{ node: "b", ip: "10.10.40.112", name: "b" }],
      tbs: [{ node: "c", ip: "10.10.40.113", name: "c" }],
    };
    expect(planCluster(want, have)).toEqual({
      addStandbys: [],
      switchMode: undefined,
      problems: [],
    });
  });

  it("findMdm prefers the address over the name", () => {
    const byName = mdm(7, { name: "node2" });
    const byIp = mdm(2, { name: "other" });
    expect(findMdm([byName, byIp], w(2))).toBe(byIp);
    expect(findMdm([byName], w(2))).toBe(byName);
    expect(findMdm([mdm(5, { ips: [], managementIps: ["10.0.0.2"] })], w(2))?.id).toBe("0x5");
  });
});
