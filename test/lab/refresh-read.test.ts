// `pulumi refresh` reads the cluster: the `existing` stack through the real Pulumi CLI on lab
// hosts, as the README writes the commands (refresh --yes, preview, up --yes). After an `up`,
// hands change the hosts the ways a person does: a prerequisite package removed (node1), the
// volume plugin stopped and the Docker volume's mapping removed after stopping Docker (node2), an
// SDS removed from the cluster with scli (node3's), a host no longer answering SSH (node3). A
// refresh reports each, on exactly the resources whose stage would change it, and changes
// nothing on the hosts; the spec stays secret in the state; `preview` shows exactly those
// resources to update, naming the drift; `up` repairs them; a second `up` changes nothing and a
// refresh then finds nothing.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiStack, resourceSummary } from "../support/pulumi-cli";
import { labSh, requireRoot, startEngineLab, sshLoginCount } from "./fixtures";
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
      name: "rrlab",
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
});
