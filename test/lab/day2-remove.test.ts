// Day 2 through the real Pulumi CLI on an `existing` stack (issue 20): a node removed from
// arrowhead:hosts leaves the cluster. Four lab hosts are installed; a container on node4 writes
// to a ScaleIO volume of its own; the preview says what happens to node4's data before anything
// changes; `pulumi up` is SIGKILLed twice (once Docker is down on node4, once ScaleIO is moving
// its SDS's data) and each time `pulumi cancel` + `pulumi up` goes on; in the end node4's SDS and
// SDC are out of the cluster, its packages gone, its volume kept, the data read back on another
// host, and a further `up` changes nothing.
//
// The emulator keeps volume data on the SDC hosts, not on the SDSs (test/emulator/README.md,
// Differences): the data written on node4 is read once on node1 before the removal, so a copy
// lives on a host that stays; on real ScaleIO the SDS removal is what keeps it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editStackConfig, existingHostEntries, resourceSummary } from "../support/pulumi-cli";
import {
  BUSYBOX_IMAGE,
  importBusybox,
  labSh,
  requireRoot,
  startEngineLab,
  type EngineLab,
  scliOnNode1,
  stopEngineLab,
  expectNoChange,
} from "./fixtures";
import { upKilledWhen } from "./up-kill";

const STACK = `d2rm${process.pid}`;
const MDM_PASSWORD = "Lab-D2rm-Mdm-9";
const PASSPHRASE = "d2-remove-passphrase";

requireRoot();

describe("day 2: a node removed from the stack", () => {
  let e: EngineLab;
  const times: Record<string, number> = {};
  const sh = (host: string, cmd: string) => labSh(e.lab, host, cmd);
  const ip = (n: string) => e.lab.hosts.find((h) => h.name === n)!.privateAddress;
  const scli = scliOnNode1(() => e, MDM_PASSWORD);
  beforeAll(async () => {
    e = await startEngineLab({
      name: "d2rm",
      stackName: STACK,
      passphrase: PASSPHRASE,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Lab-D2rm-Gw-8",
    });
    await e.lab.addHost();
    editStackConfig(e.stack, (c) => (c["arrowhead:hosts"] = existingHostEntries(e.lab)));
  });

  afterAll(() => stopEngineLab(e, "day2-remove", times));

  it("installs four nodes; a container on node4 writes to its own ScaleIO volume", async () => {
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up with four hosts");
    times.install = r.seconds;
    // Slow ScaleIO's data moves down (emulator knob, on the managers) so the kill points exist.
    for (const n of ["node1", "node2"])
      await sh(
        n,
        "mkdir -p /etc/scaleio-emu && echo data_move_gb_per_s=0.5 >> /etc/scaleio-emu/knobs",
      );
    for (const n of ["node4", "node1"]) await importBusybox(e.lab, n);
    await sh("node4", "docker volume create -d scaleio -o size=8 d2data >/dev/null");
    await sh(
      "node4",
      `docker run --rm -v d2data:/data ${BUSYBOX_IMAGE} sh -c 'echo kept-by-day2 > /data/f'`,
    );
    expect(await sh("node1", `docker run --rm -v d2data:/data ${BUSYBOX_IMAGE} cat /data/f`)).toBe(
      "kept-by-day2",
    );
    expect(await scli("--query_all_sds")).toContain(ip("node4"));
  });

  it("previews in words what happens to node4's data, and changes nothing", async () => {
    editStackConfig(e.stack, (c) => {
      c["arrowhead:hosts"] = existingHostEntries(e.lab).filter((h) => h.name !== "node4");
    });
    const r = await e.stack.must(e.stack.cli(["preview"]), "preview without node4");
    times.preview = r.seconds;
    const text = r.stdout + r.stderr;
    expect(text).toMatch(
      /node4 leaves the cluster: its Docker volume unmapped \(kept in the cluster\); its SDS removed once ScaleIO has moved its data: [\d.]+ GB to move to node1-3; then its SDC and packages removed\./,
    );
    expect(resourceSummary(r.stdout).delete).toBeGreaterThan(0);
    expect(await scli("--query_all_sds")).toContain(ip("node4"));
    expect(await sh("node4", "findmnt -n -o TARGET /var/lib/docker")).toBe("/var/lib/docker");
  });

  it("killed twice (Docker down on node4; data moving), `up` finishes the removal", async () => {
    const t0 = Date.now();
    await upKilledWhen(
      e.stack,
      async () => (await e.lab.exec("node4", "findmnt -n /var/lib/docker")).code !== 0,
      "kill 1 (node4's Docker mount gone)",
    );
    expect(await scli("--query_all_sds")).toContain(ip("node4"));
    await upKilledWhen(
      e.stack,
      async () => /RemovalInProgress/.test(await scli(`--query_sds --sds_ip ${ip("node4")}`)),
      "kill 2 (node4's SDS being removed)",
    );
    const r = await e.stack.must(e.stack.cli(["up", "--yes"]), "up after two kills");
    times.removeWithKills = Math.round((Date.now() - t0) / 1000);
    times.lastUp = r.seconds;
    expect(r.stdout + r.stderr).toMatch(/node4 is out of the cluster/);
    expect(await scli("--query_all_sds")).not.toContain(ip("node4"));
    expect(await scli("--query_all_sdc")).not.toContain(`IP: ${ip("node4")} `);
    expect(await sh("node4", "rpm -qa 'EMC-ScaleIO-*'")).toBe("");
    expect(await sh("node4", "findmnt -n /var/lib/docker || echo none")).toBe("none");
    // Volumes are kept (deleteVolumes is off); the container's data is read on another host.
    const vols = await scli("--query_all_volumes");
    expect(vols).toMatch(/Name: docker_node4 /);
    // The plugin names its ScaleIO volumes dv-<name> (driver/README.md).
    expect(vols).toMatch(/Name: dv-d2data /);
    await importBusybox(e.lab, "node2");
    expect(await sh("node2", `docker run --rm -v d2data:/data ${BUSYBOX_IMAGE} cat /data/f`)).toBe(
      "kept-by-day2",
    );
    const outs = await e.stack.outputs();
    expect(outs.clusterState).toBe("3_node Normal");
    expect(Object.keys(outs.dockerRootDirs as object).sort()).toEqual(["node1", "node2", "node3"]);
  });

  it("changes nothing on a further `up`", async () => {
    await expectNoChange(e.stack);
  });
});
