// Day 2 through the real Pulumi CLI on an `existing` stack (issue 20): 3 -> 5 -> 3 MDMs
// (arrowhead:clusterMode). Two hosts join the stack with 5_node: their MDM packages are installed,
// they are added as standbys, the mode is switched with them in; back to 3_node they leave the
// mode in one switch, are removed as standbys and lose their MDM package; the cluster is Normal
// after each `up` and a further `up` changes nothing. The first MDM-capable nodes take the roles
// in order (src/topology.ts), so the hosts are listed with the new slave third for 5_node.
// Each way `pulumi up` is SIGKILLed half-way (3 -> 5: once node5's MDM package is in, once node4
// is in the MDM cluster; 5 -> 3: once the mode is switched, once node4 is removed as a standby,
// before or after its MDM package went) and `pulumi cancel` + `pulumi up` finish the job.
// After each, every SDC knows exactly the cluster's managers (master + slaves; tie-breakers are
// not managers), in its running driver (`drv_cfg --query_mdms`) and in drv_cfg.txt's `mdm` line.
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

const STACK = `d2mode${process.pid}`;
const MDM_PASSWORD = "Lab-D2mo-Mdm-9";

requireRoot();

describe("day 2: 3 -> 5 -> 3 MDMs", () => {
  let e: EngineLab;
  const times: Record<string, number> = {};
  const sh = (host: string, cmd: string) => labSh(e.lab, host, cmd);
  const ip = (n: string) => e.lab.hosts.find((h) => h.name === n)!.privateAddress;
  const scli = scliOnNode1(() => e, MDM_PASSWORD);
  /** arrowhead:hosts in this order of names (the first MDM-capable ones take the roles). */
  const hostsInOrder = (names: string[]) =>
    editStackConfig(e.stack, (c) => {
      const all = existingHostEntries(e.lab);
      c["arrowhead:hosts"] = names.map((n) => all.find((h) => h.name === n)!);
    });
  const noChange = () => expectNoChange(e.stack);
  /** Each SDC host's MDM IPs: the running driver's and its config file's, comma-joined. */
  const expectSdcMdms = async (managers: string[]) => {
    const want = managers.map(ip).join(",");
    for (const n of ["node1", "node2", "node3", "node4", "node5"]) {
      const live = await sh(n, "/opt/emc/scaleio/sdc/bin/drv_cfg --query_mdms");
      const ips = [...live.matchAll(/\[\d+\]-(\S+)/g)].map((m) => m[1]).join(",");
      expect(`${n}: ${ips}`).toBe(`${n}: ${want}`);
      expect(live).not.toMatch(/MDM-ID 0{16}/); // connected through the new list
      expect(await sh(n, "grep '^mdm ' /etc/emc/scaleio/drv_cfg.txt")).toBe(`mdm ${want}`);
    }
  };

  beforeAll(async () => {
    e = await startEngineLab({
      name: "d2mode",
      stackName: STACK,
      passphrase: "d2-mode-passphrase",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Lab-D2mo-Gw-8",
    });
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up with three hosts");
    times.install = r.seconds;
    await e.lab.addHost();
    await e.lab.addHost();
  });

  afterAll(() => stopEngineLab(e, "day2-mode", times));

  it("3 -> 5, killed twice: two standbys added, the mode switched, Normal", async () => {
    hostsInOrder(["node1", "node2", "node4", "node3", "node5"]);
    await e.stack.must(e.stack.cli(["config", "set", "arrowhead:clusterMode", "5_node"]), "set");
    const p = await e.stack.must(e.stack.cli(["preview"]), "preview 5_node");
    expect(p.stdout + p.stderr).toMatch(
      /MDM cluster: node4 \(slave\), node5 \(tiebreaker\) added as standby MDMs, the cluster mode switched \(3_node -> 5_node\)/,
    );
    const t0 = Date.now();
    await upKilledWhen(
      e.stack,
      async () => (await e.lab.exec("node5", "rpm -q EMC-ScaleIO-mdm")).code === 0,
      "kill 1 (node5's MDM package installed)",
    );
    expect(await scli("--query_cluster")).toMatch(/Mode: 3_node, State: Normal/);
    await upKilledWhen(
      e.stack,
      async () => (await scli("--query_cluster")).includes(ip("node4")),
      "kill 2 (node4 in the MDM cluster)",
    );
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up 5_node after two kills");
    times.to5WithKills = Math.round((Date.now() - t0) / 1000);
    times.to5LastUp = r.seconds;
    const c = await scli("--query_cluster");
    expect(c).toMatch(/Mode: 5_node, State: Normal/);
    expect(c).toMatch(new RegExp(`Slave MDMs:[\\s\\S]*${ip("node4")}[\\s\\S]*Tie-Breakers:`));
    expect((await e.stack.outputs()).clusterState).toBe("5_node Normal");
    await expectSdcMdms(["node1", "node2", "node4"]);
    await noChange();
  });

  it("5 -> 3, killed twice: two members out of the mode, removed as standbys, their MDM package gone", async () => {
    hostsInOrder(["node1", "node2", "node3", "node4", "node5"]);
    await e.stack.must(e.stack.cli(["config", "set", "arrowhead:clusterMode", "3_node"]), "set");
    const t0 = Date.now();
    await upKilledWhen(
      e.stack,
      async () => /Mode: 3_node/.test(await scli("--query_cluster")),
      "kill 3 (the mode switched to 3_node)",
    );
    await upKilledWhen(
      e.stack,
      async () => !(await scli("--query_cluster")).includes(ip("node4")),
      "kill 4 (node4 removed as a standby MDM)",
    );
    // 1 when the kill fell between node4's standby removal and its package removal.
    times.kill4MdmPackageLeft =
      (await e.lab.exec("node4", "rpm -q EMC-ScaleIO-mdm")).code === 0 ? 1 : 0;
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up 3_node after two kills");
    times.to3WithKills = Math.round((Date.now() - t0) / 1000);
    times.to3LastUp = r.seconds;
    const c = await scli("--query_cluster");
    expect(c).toMatch(/Mode: 3_node, State: Normal/);
    for (const n of ["node4", "node5"]) {
      expect(c).not.toContain(ip(n));
      expect(await sh(n, "rpm -q EMC-ScaleIO-mdm || true")).toMatch(/not installed/);
      // Still members: their SDS, SDC and Docker stay.
      expect(await sh(n, "findmnt -n -o TARGET /var/lib/docker")).toBe("/var/lib/docker");
    }
    expect((await e.stack.outputs()).clusterState).toBe("3_node Normal");
    await expectSdcMdms(["node1", "node2"]);
    await noChange();
  });
});
