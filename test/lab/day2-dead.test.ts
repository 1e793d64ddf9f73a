// Day 2 through the real Pulumi CLI on an `existing` stack (issue 20): a node that died is
// replaced. node3 (the tie-breaker, an SDS and a Docker host) is stopped (its nspawn container
// powered off), then taken out of arrowhead:hosts; node4, already a member, takes the tie-breaker
// role. `pulumi up` works without node3 answering: the MDM cluster gets node4 as its tie-breaker
// (standby added, mode switched with node3 out, node3 removed), ScaleIO rebuilds node3's data
// and the MDM removes its SDS and SDC, node3's own resources are let go with a note, and the
// cluster ends 3_node Normal with node4 serving, even with `up` killed twice half-way; a further
// `up` changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editStackConfig, existingHostEntries } from "../support/pulumi-cli";
import {
  requireRoot,
  startEngineLab,
  type EngineLab,
  scliOnNode1,
  stopEngineLab,
  expectNoChange,
} from "./fixtures";
import { upKilledWhen } from "./up-kill";

const STACK = `d2deadk${process.pid}`;
const MDM_PASSWORD = "Lab-D2dd-Mdm-9";

requireRoot();

describe("day 2: a dead node replaced", () => {
  let e: EngineLab;
  const times: Record<string, number> = {};
  const ip = (n: string) => e.lab.hosts.find((h) => h.name === n)!.privateAddress;
  const scli = scliOnNode1(() => e, MDM_PASSWORD);

  beforeAll(async () => {
    e = await startEngineLab({
      name: "d2deadk",
      stackName: STACK,
      passphrase: "d2-dead-passphrase",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Lab-D2dd-Gw-8",
    });
    await e.lab.addHost();
    editStackConfig(e.stack, (c) => (c["arrowhead:hosts"] = existingHostEntries(e.lab)));
  });

  afterAll(() => stopEngineLab(e, "day2-dead", times));

  it("installs four nodes, node3 the tie-breaker", async () => {
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up with four hosts");
    times.install = r.seconds;
    expect(await scli("--query_cluster")).toMatch(
      new RegExp(`Tie-Breakers:[\\s\\S]*${ip("node3")}`),
    );
  });

  it("replaces node3 after it died: node4 takes its role, the MDM removes its SDS and SDC", async () => {
    await e.lab.stop("node3");
    // The MDM notices (SDS and SDC disconnected, the cluster degraded) before the user acts.
    for (let i = 0; i < 30 && !/Disconnected/.test(await scli("--query_all_sds")); i++)
      await new Promise((r) => setTimeout(r, 1000));
    expect(await scli("--query_all_sds")).toMatch(/Disconnected/);
    editStackConfig(e.stack, (c) => {
      c["arrowhead:hosts"] = existingHostEntries(e.lab).filter((h) => h.name !== "node3");
    });
    const p = await e.stack.must(e.stack.cli(["preview"]), "preview without node3");
    expect(p.stdout + p.stderr).toMatch(/node3 leaves the cluster/);
    expect(p.stdout + p.stderr).toMatch(/MDM cluster: node4 \(tiebreaker\) added as standby MDMs/);
    // Killed twice half-way (issue 20), each time `pulumi cancel` and `up` again: once node4
    // is in the MDM cluster, once node3 is out of it.
    const t0 = Date.now();
    const killed1 = await upKilledWhen(
      e.stack,
      async () => (await scli("--query_cluster")).includes(ip("node4")),
      "kill 1 (node4 in the MDM cluster)",
    );
    const killed2 = await upKilledWhen(
      e.stack,
      async () => !(await scli("--query_cluster")).includes(ip("node3")),
      "kill 2 (node3 out of the MDM cluster)",
    );
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up without the dead node3");
    times.replaceDeadWithKills = Math.round((Date.now() - t0) / 1000);
    times.lastUp = r.seconds;
    const text = killed1 + killed2 + r.stdout + r.stderr;
    expect(text).toMatch(/node3 does not answer/);
    const cluster = await scli("--query_cluster");
    expect(cluster).toMatch(/Mode: 3_node, State: Normal/);
    expect(cluster).toMatch(new RegExp(`Tie-Breakers:[\\s\\S]*${ip("node4")}`));
    expect(cluster).not.toContain(ip("node3"));
    expect(await scli("--query_all_sds")).not.toContain(ip("node3"));
    expect(await scli("--query_all_sdc")).not.toContain(`IP: ${ip("node3")} `);
    const outs = await e.stack.outputs();
    expect(outs.clusterState).toBe("3_node Normal");
    expect(Object.keys(outs.dockerRootDirs as object).sort()).toEqual(["node1", "node2", "node4"]);
  });

  it("changes nothing on a further `up`", async () => {
    await expectNoChange(e.stack);
  });
});
