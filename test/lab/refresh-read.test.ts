// `pulumi refresh` reads the cluster: the `existing` stack through the real Pulumi CLI on lab
// hosts, as the README writes the commands (refresh --yes, preview, up --yes). After an `up`,
// hands change the hosts the ways a person does: a prerequisite package removed (node1), the
// volume plugin stopped and the Docker volume's mapping removed after stopping Docker (node2), an
// SDS removed from the cluster with scli (node3's), a host no longer answering SSH (node3). A
// refresh reports each, on exactly the resources whose stage would change it, and changes
// nothing on the hosts; the spec stays secret in the state; `preview` shows exactly those
// resources to update, naming the drift; `up` repairs them; a second `up` changes nothing and a
// refresh then finds nothing. Then ScaleIO services are stopped by hand (sds on node2, which the
// MDM then shows Disconnected; scini on node3; the gateway's on node1): a refresh names each, an
// `up` starts them (the SDS connected again) and a further `up` changes nothing.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiStack, resourceSummary } from "../support/pulumi-cli";
import { expectNoChange, labSh, requireRoot, startEngineLab, sshLoginCount } from "./fixtures";
import type { Lab } from "./hosts";

const STACK = `rrlab${process.pid}`;
const MDM_PASSWORD = "Rr-Lab-Mdm-9";
const GATEWAY_PASSWORD = "Rr-Lab-Gw-8";
const PASSPHRASE = "rr-lab-passphrase";
/** The ScaleioCluster's name in the program: its steps are named scaleio-<step name>. */
const step = (name: string) => `scaleio-${name}`;

/**
 * The install steps a CLI run (`preview`, `refresh`, `up`; non-interactive) lists with what it
 * does or did to them ("~ update", "+ create", ...), once per step and operation, sorted. Lines of
 * steps in progress ("refreshing", "updating") and steps left alone (no operation) are skipped.
 */
function steps(stdout: string): string[] {
  const out = new Set<string>();
  const re =
    /^\s*([-+~]+)\s+pulumi-nodejs:dynamic\/arrowhead:scaleio:\w+\s+(\S+)\s+(update|create|delete|replace)d?\b/gm;
  for (const m of stdout.matchAll(re)) out.add(`${m[1]} ${m[2]}`);
  return [...out].sort();
}

interface StateResource {
  urn: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

requireRoot();

describe("pulumi refresh reads the cluster (existing stack, real CLI)", () => {
  let lab: Lab;
  let tmp: string;
  let stack: PulumiStack;
  const times: Record<string, number> = {};
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  const logins = (host: string) => sshLoginCount(lab, host);
  const mdm = () => `--mdm_ip ${lab.hosts[0].privateAddress},${lab.hosts[1].privateAddress}`;
  /** scli on node1 after a login (password on stdin). */
  const scli = (args: string) =>
    sh(
      "node1",
      `printf '%s\\n' '${MDM_PASSWORD}' | scli --login --username admin --approve_certificate ${mdm()} >/dev/null && scli ${args} ${mdm()} --approve_certificate`,
    );
  /** What a refresh must leave as it is, per host (read without SSH). */
  const snapshot = () =>
    Promise.all(
      lab.hosts.map((h) =>
        sh(
          h.name,
          "rpm -qa | sort | sha256sum; findmnt -n -o SOURCE /var/lib/docker || true; " +
            "systemctl is-active docker scaleio-volume-plugin mdm sds scini || true; " +
            "ls -la /etc/systemd/system /etc/scaleio-volume-plugin | sha256sum",
        ),
      ),
    );
  const state = async (): Promise<StateResource[]> => {
    const r = await stack.must(stack.cli(["stack", "export"]), "pulumi stack export");
    expect(r.stdout).not.toContain(MDM_PASSWORD);
    return JSON.parse(r.stdout).deployment.resources as StateResource[];
  };
  const byName = (rs: StateResource[], name: string) => rs.find((r) => r.urn.endsWith(`::${name}`));

  beforeAll(async () => {
    ({ lab, tmp, stack } = await startEngineLab({
      name: "rsread",
      stackName: STACK,
      passphrase: PASSPHRASE,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
    }));
  });

  afterAll(async () => {
    try {
      // The hosts go with the lab: the stack's state is dropped, not destroyed step by step.
      if (stack && fs.existsSync(stack.configFile))
        await stack.cli(["stack", "rm", "--yes", "--force"]);
    } finally {
      if (stack) fs.rmSync(stack.configFile, { force: true });
      await lab?.down();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      console.log("refresh-read timings (s):", JSON.stringify(times));
    }
  });

  it("after `up`, a refresh of untouched hosts finds nothing", async () => {
    times.up = (await stack.must(stack.cli(["up", "--yes"]), "up")).seconds;
    const before = await Promise.all(lab.hosts.map((h) => logins(h.name)));
    const r = await stack.must(stack.cli(["refresh", "--yes"]), "refresh");
    times.refreshClean = r.seconds;
    // A figure, not a rule: the SSH logins one refresh (its preview and its reads) costs per host.
    const after = await Promise.all(lab.hosts.map((h) => logins(h.name)));
    console.log(
      "SSH logins per host for one refresh:",
      after.map((n, i) => n - before[i]),
    );
    expect(steps(r.stdout)).toEqual([]);
    expect(resourceSummary(r.stdout)).toEqual({ unchanged: resourceSummary(r.stdout).unchanged });
    for (const res of await state()) expect(res.outputs?.drift).toBeUndefined();
  });

  const drifted = [
    "prep-node1",
    "storage",
    "docker-node2",
    "volume-plugin-node2",
    "prep-node3",
    "packages-node3",
    "docker-node3",
    "volume-plugin-node3",
  ].map(step);

  it("reports each hand change on exactly its resources, and changes nothing on the hosts", async () => {
    const node2 = lab.hosts[1].privateAddress;
    const node3 = lab.hosts[2].privateAddress;
    await sh("node1", "rpm -e --nodeps libaio");
    await sh(
      "node2",
      "systemctl stop scaleio-volume-plugin docker docker.socket && umount /var/lib/docker",
    );
    await scli(`--unmap_volume_from_sdc --volume_name docker_node2 --sdc_ip ${node2}`);
    await scli(`--remove_sds --sds_ip ${node3}`);
    // ScaleIO may take a while to move the data off an SDS before it is gone.
    for (let i = 0; i < 120 && (await scli("--query_all_sds")).includes(node3); i++)
      await new Promise((r) => setTimeout(r, 1000));
    expect(await scli("--query_all_sds")).not.toContain(node3);
    await sh("node3", "systemctl stop ssh.socket ssh 2>/dev/null; systemctl is-active ssh || true");
    const before = await snapshot();

    const r = await stack.must(stack.cli(["refresh", "--yes"]), "refresh after hand changes");
    times.refreshDrift = r.seconds;
    expect(steps(r.stdout)).toEqual(drifted.map((n) => `~ ${n}`).sort());
    expect(r.stdout).toMatch(/scaleio-storage updated .*\[diff: \+drift\]/);
    expect(resourceSummary(r.stdout).update).toBe(drifted.length);
    // Read-only: every host as the hands left it.
    expect(await snapshot()).toEqual(before);

    const rs = await state();
    const drift = (name: string) => byName(rs, name)?.outputs?.drift as string[] | undefined;
    expect(drift(step("prep-node1"))).toEqual([
      "node1: prerequisite package(s) not installed: libaio",
    ]);
    expect(drift(step("storage"))).toEqual([`node3: SDS node3 (${node3}) is not in the cluster`]);
    expect(drift(step("docker-node2"))).toEqual(
      expect.arrayContaining([
        "node2: volume docker_node2 is not mapped to node2's SDC",
        "node2: /var/lib/docker is not mounted from volume docker_node2",
        "node2: docker.service is not active (inactive)",
      ]),
    );
    expect(drift(step("volume-plugin-node2"))).toEqual([
      "node2: the volume plugin is not running (scaleio-volume-plugin.service inactive)",
    ]);
    for (const n of ["prep-node3", "packages-node3", "docker-node3", "volume-plugin-node3"])
      expect(drift(step(n))).toEqual([expect.stringMatching(/^node3: not answering over SSH/)]);
    // The spec (passwords, the key) stays secret in the outputs and the inputs after the read.
    for (const res of rs.filter((x) => x.urn.includes("dynamic/arrowhead:scaleio:"))) {
      expect(res.outputs?.spec).toHaveProperty(["4dabf18193072939515e22adb298388d"]);
      expect(res.inputs?.spec).toHaveProperty(["4dabf18193072939515e22adb298388d"]);
    }
  });

  it("`preview` shows exactly those resources to update, naming the drift", async () => {
    await lab.exec("node3", "systemctl start ssh.socket 2>/dev/null; systemctl start ssh");
    const r = await stack.must(stack.cli(["preview"]), "preview");
    times.preview = r.seconds;
    expect(steps(r.stdout)).toEqual(drifted.map((n) => `~ ${n}`).sort());
    expect(r.stdout).toMatch(/scaleio-docker-node2 update \[diff: -drift/);
    // `--diff` prints the drift itself.
    const d = await stack.must(stack.cli(["preview", "--diff"]), "preview --diff");
    expect(d.stdout).toContain(
      '-     [0]: "node2: volume docker_node2 is not mapped to node2\'s SDC"',
    );
    expect(d.stdout).not.toContain(MDM_PASSWORD);
  });

  it("`up` repairs exactly that; a second `up` changes nothing and a refresh finds nothing", async () => {
    const r = await stack.must(stack.cli(["up", "--yes"]), "up after refresh");
    times.upRepair = r.seconds;
    expect(resourceSummary(r.stdout).update).toBe(drifted.length);
    expect(steps(r.stdout)).toEqual(drifted.map((n) => `~ ${n}`).sort());
    expect(await sh("node1", "rpm -q libaio")).toMatch(/^libaio-/);
    expect(await scli("--query_all_sds")).toContain(lab.hosts[2].privateAddress);
    expect(await sh("node2", "findmnt -n -o TARGET /var/lib/docker")).toBe("/var/lib/docker");
    expect(await sh("node2", "systemctl is-active docker scaleio-volume-plugin")).toBe(
      "active\nactive",
    );
    for (const res of await state()) expect(res.outputs?.drift).toBeUndefined();

    const again = await stack.must(stack.cli(["up", "--yes"]), "second up");
    times.upNoop = again.seconds;
    expect(resourceSummary(again.stdout)).toEqual({
      unchanged: resourceSummary(again.stdout).unchanged,
    });
    const refresh = await stack.must(stack.cli(["refresh", "--yes"]), "refresh after repair");
    expect(steps(refresh.stdout)).toEqual([]);
  });

  it("names ScaleIO services stopped by hand and the SDS the MDM lost; `up` starts them", async () => {
    const node2 = lab.hosts[1].privateAddress;
    await sh("node2", "systemctl stop sds");
    await sh("node3", "systemctl stop scini");
    await sh("node1", "systemctl stop scaleio-gateway");
    // The MDM declares the SDS lost once its heartbeat is missed (a few seconds).
    const sdsLine = async () =>
      (await scli("--query_all_sds")).split("\n").find((l) => l.includes(node2)) ?? "";
    for (let i = 0; i < 30 && !/State: Disconnected/.test(await sdsLine()); i++)
      await new Promise((r) => setTimeout(r, 1000));
    expect(await sdsLine()).toMatch(/State: Disconnected/);

    const r = await stack.must(stack.cli(["refresh", "--yes"]), "refresh after services stopped");
    times.refreshServices = r.seconds;
    // scini's stop takes the mount and Docker with it (their units require it): docker-node3 too.
    const stopped = ["packages-node2", "packages-node3", "gateway-node1", "storage", "docker-node3"]
      .map(step)
      .map((n) => `~ ${n}`)
      .sort();
    expect(steps(r.stdout)).toEqual(stopped);
    const rs = await state();
    const drift = (name: string) => byName(rs, name)?.outputs?.drift as string[] | undefined;
    expect(drift(step("packages-node2"))).toEqual([
      "node2: service sds is inactive (stopped); `pulumi up` starts it",
    ]);
    expect(drift(step("packages-node3"))).toEqual([
      "node3: service scini is inactive (stopped); `pulumi up` starts it",
    ]);
    expect(drift(step("gateway-node1"))).toEqual([
      "node1: the gateway service scaleio-gateway is not running (inactive); `pulumi up` starts it",
    ]);
    expect(drift(step("storage"))).toEqual([
      `node2: the MDM shows SDS node2 (${node2}) Disconnected; \`pulumi up\` starts its sds service and waits for it to connect`,
    ]);
    expect(drift(step("docker-node3"))).toEqual(
      expect.arrayContaining(["node3: docker.service is not active (inactive)"]),
    );
    // Read-only: still stopped.
    expect(await sh("node2", "systemctl is-active sds || true")).toBe("inactive");

    const up = await stack.must(stack.cli(["up", "--yes"]), "up after services stopped");
    times.upServices = up.seconds;
    expect(steps(up.stdout)).toEqual(stopped);
    expect(await sh("node2", "systemctl is-active sds")).toBe("active");
    expect(await sh("node3", "systemctl is-active scini")).toBe("active");
    expect(await sh("node1", "systemctl is-active scaleio-gateway")).toBe("active");
    expect(await sdsLine()).toMatch(/State: Connected/);
    for (const res of await state()) expect(res.outputs?.drift).toBeUndefined();
    await expectNoChange(stack);
  });
});
