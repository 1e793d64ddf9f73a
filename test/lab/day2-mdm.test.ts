// Day 2 through the real Pulumi CLI on an `existing` stack (issue 20): a node holding an MDM
// role taken out. The nodes are listed (arrowhead:nodes): node1-3 the MDMs, node4 a plain
// member. Taking node3 (the tie-breaker) out without giving its role to another node is refused
// before anything changes, with the steps; giving role "mdm" to node4 in the same change moves
// the role (node4 added as a standby, the mode switched with node4 in and node3 out, node3
// removed), then node3 leaves like any node; a further `up` changes nothing. That `up` is
// SIGKILLed twice (once node4 is in the MDM cluster, once node3 is out of it) and `pulumi cancel`
// + `pulumi up` finish the move.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editStackConfig, existingHostEntries } from "../support/pulumi-cli";
import {
  labSh,
  requireRoot,
  startEngineLab,
  type EngineLab,
  scliOnNode1,
  stopEngineLab,
  expectNoChange,
} from "./fixtures";
import { upKilledWhen } from "./up-kill";

const STACK = `d2mdm${process.pid}`;
const MDM_PASSWORD = "Lab-D2md-Mdm-9";
const MEMBER = ["sds", "sdc", "docker"];

requireRoot();

describe("day 2: a node with an MDM role taken out", () => {
  let e: EngineLab;
  const times: Record<string, number> = {};
  const sh = (host: string, cmd: string) => labSh(e.lab, host, cmd);
  const ip = (n: string) => e.lab.hosts.find((h) => h.name === n)!.privateAddress;
  const scli = scliOnNode1(() => e, MDM_PASSWORD);
  /**
   * The stack's nodes and hosts: `mdm` lists the MDM-capable ones (first, in this order: the
   * roles follow it), `without` is left out.
   */
  const layout = (mdm: string[], without?: string) =>
    editStackConfig(e.stack, (c) => {
      const rest = e.lab.hosts.map((h) => h.name).filter((n) => !mdm.includes(n));
      const names = [...mdm, ...rest].filter((n) => n !== without);
      c["arrowhead:nodes"] = names.map((name, i) => ({
        name,
        roles: [...(mdm.includes(name) ? ["mdm"] : []), ...MEMBER, ...(i === 0 ? ["gateway"] : [])],
      }));
      c["arrowhead:hosts"] = existingHostEntries(e.lab).filter((h) => h.name !== without);
    });

  beforeAll(async () => {
    e = await startEngineLab({
      name: "d2mdm",
      stackName: STACK,
      passphrase: "d2-mdm-passphrase",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Lab-D2md-Gw-8",
    });
    await e.lab.addHost();
    layout(["node1", "node2", "node3"]);
  });

  afterAll(() => stopEngineLab(e, "day2-mdm", times));

  it("installs node1-3 as the MDMs and node4 as a member", async () => {
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up with four hosts");
    times.install = r.seconds;
    expect(await scli("--query_cluster")).toMatch(
      new RegExp(`Tie-Breakers:[\\s\\S]*${ip("node3")}`),
    );
  });

  it("refuses to take the tie-breaker out without giving its role to another node", async () => {
    layout(["node1", "node2"], "node3");
    const r = await e.stack.cli(["up", "--yes"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /a 3_node MDM cluster needs 3 MDM-capable nodes \(role "mdm"\), but 2 are listed.*Taking an MDM node out of a running cluster: give role "mdm" to another node in the same change/,
    );
    // Nothing changed: node3 is still the tie-breaker and has its packages.
    expect(await scli("--query_cluster")).toMatch(
      new RegExp(`Tie-Breakers:[\\s\\S]*${ip("node3")}`),
    );
    expect(await sh("node3", "rpm -q EMC-ScaleIO-mdm")).toMatch(/^EMC-ScaleIO-mdm-/);
  });

  it("moves the role to node4 when the change gives it one, then node3 leaves (killed twice)", async () => {
    layout(["node1", "node2", "node4"], "node3");
    const p = await e.stack.must(e.stack.cli(["preview"]), "preview with node4 as an MDM");
    expect(p.stdout + p.stderr).toMatch(
      /MDM cluster: node4 \(tiebreaker\) added as standby MDMs, the cluster mode switched \(3_node -> 3_node\) with them in, node3 \(tiebreaker\) taken out and removed/,
    );
    const t0 = Date.now();
    await upKilledWhen(
      e.stack,
      async () => (await scli("--query_cluster")).includes(ip("node4")),
      "kill 1 (node4 in the MDM cluster)",
    );
    await upKilledWhen(
      e.stack,
      async () => {
        const c = await scli("--query_cluster");
        return /Mode: 3_node/.test(c) && !c.includes(ip("node3"));
      },
      "kill 2 (node3 out of the MDM cluster)",
    );
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up after two kills");
    times.moveRoleWithKills = Math.round((Date.now() - t0) / 1000);
    times.lastUp = r.seconds;
    const cluster = await scli("--query_cluster");
    expect(cluster).toMatch(/Mode: 3_node, State: Normal/);
    expect(cluster).toMatch(new RegExp(`Tie-Breakers:[\\s\\S]*${ip("node4")}`));
    expect(cluster).not.toContain(ip("node3"));
    expect(await scli("--query_all_sds")).not.toContain(ip("node3"));
    expect(await sh("node3", "rpm -qa 'EMC-ScaleIO-*'")).toBe("");
    expect((await e.stack.outputs()).clusterState).toBe("3_node Normal");
  });

  it("refuses, before anything changes, an order that would make the tie-breaker the slave", async () => {
    // node2 (slave) out, node3 back as an MDM listed last: node4 (tie-breaker) would be second.
    layout(["node1", "node4", "node3"], "node2");
    const r = await e.stack.cli(["up", "--yes"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /node4 \(now tie-breaker\) would become slave\. .*in this order .*: node1, node3, node4\. Nothing was changed\./,
    );
    // Refused in the preview: node3 got no package, node2 is still the slave.
    expect(await sh("node3", "rpm -qa 'EMC-ScaleIO-*'")).toBe("");
    expect(await scli("--query_cluster")).toMatch(
      new RegExp(`Slave MDMs:[\\s\\S]*${ip("node2")}[\\s\\S]*Tie-Breakers:`),
    );
    layout(["node1", "node2", "node4"], "node3");
  });

  it("changes nothing on a further `up`", async () => {
    await expectNoChange(e.stack);
  });
});
