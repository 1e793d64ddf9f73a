// The `existing` stack through the real Pulumi CLI against lab hosts: no mocks, no harness. The
// CLI starts the program through Pulumi's Node.js language host and runtime (ts-node with type
// checking, as for any user), `up` previews before it updates. The stack file is written as a
// user would (a copy of stacks/Pulumi.existing.yaml with the hosts filled in), secrets go through
// `pulumi config set --secret`. Checks: preview changes nothing and warns of nothing; preview
// from another directory (`-C`) resolves the default rpmDir in the project; up installs; a second
// up changes nothing and opens no SSH session on any host; a fourth host in arrowhead:hosts is
// previewed and installed alone; destroy removes what the stack installed (volumes kept unless
// deleteVolumes) and leaves the hosts usable; the state holds no secret in clear.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  editStackConfig,
  existingHostEntries,
  PulumiStack,
  REPO,
  resourceSummary,
} from "../support/pulumi-cli";
import { labSh, requireRoot, startEngineLab, sshLoginCount } from "./fixtures";
import type { Lab } from "./hosts";

const STACK = `labengine${process.pid}`;
const MDM_PASSWORD = "Lab-Engine-Mdm-9";
const GATEWAY_PASSWORD = "Lab-Engine-Gw-8";
const PASSPHRASE = "lab-engine-passphrase";

/**
 * Copies the emulator's RPMs into the project's assets/rpms (the default rpmDir) when it holds
 * none; returns the files added, for the caller to remove (a developer's own RPMs are left).
 */
function stageDefaultRpms(from: string): string[] {
  const dir = path.join(REPO, "assets", "rpms");
  if (fs.readdirSync(dir).some((f) => f.endsWith(".rpm"))) return [];
  return fs
    .readdirSync(from)
    .filter((f) => f.endsWith(".rpm"))
    .map((f) => {
      fs.copyFileSync(path.join(from, f), path.join(dir, f));
      return path.join(dir, f);
    });
}

/** The steps of a `pulumi preview` and what it will do with each: +, ~, -, +-, ... by name. */
function planned(stdout: string): { op: string; name: string }[] {
  const out: { op: string; name: string }[] = [];
  // Non-interactive lines: "+   ├─ pulumi-nodejs:dynamic/arrowhead:scaleio:HostPrep  scaleio-prep-node4  create".
  const line =
    /^\s*([-+~]+)\s+(?:[│├└─]+\s*)?pulumi-nodejs:dynamic\/arrowhead:scaleio:\w+\s+(\S+)/gm;
  for (const m of stdout.matchAll(line)) out.push({ op: m[1], name: m[2] });
  return out;
}

requireRoot();

describe("existing stack through the real Pulumi engine", () => {
  let lab: Lab;
  let tmp: string;
  let stack: PulumiStack;
  let rpmDir: string;
  const times: Record<string, number> = {};

  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  const logins = (host: string) => sshLoginCount(lab, host);
  /** The cluster's volume names, asked on the master (password on stdin). */
  const volumeNames = async () => {
    // Both managers: the master may have moved (the MDMs fail over under load).
    const mdm = `--mdm_ip ${lab.hosts[0].privateAddress},${lab.hosts[1].privateAddress}`;
    const out = await sh(
      "node1",
      `printf '%s\\n' '${MDM_PASSWORD}' | scli --login --username admin --approve_certificate ${mdm} >/dev/null && scli --query_all_volumes ${mdm}`,
    );
    return [...out.matchAll(/Volume ID: \S+ Name: (\S+)/g)].map((m) => m[1]).sort();
  };
  /** Install times of the ScaleIO packages on a host ("" when none). */
  const installed = (host: string) =>
    sh(host, "rpm -qa --qf '%{NAME} %{INSTALLTIME}\\n' 'EMC-ScaleIO-*' | sort");

  beforeAll(async () => {
    ({ lab, tmp, rpmDir, stack } = await startEngineLab({
      name: "engine",
      stackName: STACK,
      passphrase: PASSPHRASE,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
    }));
  });

  afterAll(async () => {
    try {
      if (stack && fs.existsSync(stack.configFile)) {
        await stack.cli(["destroy", "--yes"]);
        await stack.cli(["stack", "rm", "--yes", "--force"]);
      }
    } finally {
      if (stack) fs.rmSync(stack.configFile, { force: true });
      await lab?.down();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      console.log("engine (existing stack) timings (s):", JSON.stringify(times));
    }
  });

  it("keeps secrets encrypted in the stack file", () => {
    const text = fs.readFileSync(stack.configFile, "utf8");
    for (const s of [MDM_PASSWORD, GATEWAY_PASSWORD, lab.privateKey.split("\n")[1]]) {
      expect(text).not.toContain(s);
    }
    expect(text).toMatch(/arrowhead:mdmPassword:\n\s+secure: /);
  });

  it("previews a plan and changes nothing on the hosts", async () => {
    const before = await Promise.all(lab.hosts.map((h) => logins(h.name)));
    const r = await stack.must(stack.cli(["preview"]), "preview");
    times.preview = r.seconds;
    expect(resourceSummary(r.stdout).create).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/arrowhead:scaleio:MdmCluster/);
    // Nothing for a user to wonder about (an exported undefined output used to warn here).
    expect(r.stdout + r.stderr).not.toMatch(/warning/i);
    for (const [i, h] of lab.hosts.entries()) {
      expect(await installed(h.name)).toBe("");
      expect(await logins(h.name)).toBe(before[i]);
    }
  });

  it("resolves the default rpmDir in the project when started elsewhere (`pulumi preview -C`)", async () => {
    // The stack's own rpmDir is the emulator's; the default is assets/rpms of the project.
    const saved = fs.readFileSync(stack.configFile, "utf8");
    const added = stageDefaultRpms(rpmDir);
    try {
      editStackConfig(stack, (c) => delete c["arrowhead:rpmDir"]);
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ah-cwd-"));
      const r = await stack.cliIn(elsewhere, ["preview", "-C", REPO]);
      expect(r.stdout + r.stderr).not.toContain("src/assets");
      // (Where a developer keeps real RPMs in assets/rpms, those are what the preview checks.)
      if (added.length > 0) {
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(resourceSummary(r.stdout).create).toBeGreaterThan(10);
      }
      fs.rmSync(elsewhere, { recursive: true, force: true });
    } finally {
      for (const f of added) fs.rmSync(f, { force: true });
      fs.writeFileSync(stack.configFile, saved);
    }
  });

  it("installs the cluster with `up` and reports it in the stack outputs", async () => {
    const r = await stack.must(stack.cli(["up", "--yes"]), "up");
    times.up = r.seconds;
    const outs = await stack.outputs();
    expect(outs.cloud).toBe("existing");
    expect(outs.clusterState).toBe("3_node Normal");
    expect(outs.systemId).toMatch(/^[0-9a-f]{16}$/);
    expect(outs.dockerRootDirs).toEqual({
      node1: "/var/lib/docker",
      node2: "/var/lib/docker",
      node3: "/var/lib/docker",
    });
    // The user's own key: no generated key, no secret output.
    expect(outs.sshPrivateKey).toBeUndefined();
    for (const h of lab.hosts) {
      expect(await sh(h.name, "findmnt -n -o TARGET /var/lib/docker")).toBe("/var/lib/docker");
    }
  });

  it("changes nothing and opens no SSH session on a second `up`", async () => {
    const before = await Promise.all(lab.hosts.map((h) => logins(h.name)));
    const r = await stack.must(stack.cli(["up", "--yes"]), "second up");
    times.noopUp = r.seconds;
    const summary = resourceSummary(r.stdout);
    expect(summary).toEqual({ unchanged: summary.unchanged });
    const after = await Promise.all(lab.hosts.map((h) => logins(h.name)));
    // No session at all, so no command at all, let alone a state-changing one.
    expect(after).toEqual(before);
  });

  it("holds no password or private key in clear in the exported state", async () => {
    const r = await stack.must(stack.cli(["stack", "export"]), "pulumi stack export");
    const keyBody = lab.privateKey.split("\n").slice(1, -2).join("");
    expect(r.stdout.length).toBeGreaterThan(1000);
    for (const s of [MDM_PASSWORD, GATEWAY_PASSWORD, keyBody.slice(0, 40), keyBody.slice(-40)]) {
      expect(r.stdout).not.toContain(s);
    }
    expect(r.stdout).toContain("4dabf18193072939515e22adb298388d"); // secrets, encrypted
  });

  it("installs only on a host added to arrowhead:hosts", async () => {
    const added = await lab.addHost();
    const before = await Promise.all(lab.hosts.slice(0, 3).map((h) => installed(h.name)));
    editStackConfig(stack, (c) => {
      c["arrowhead:hosts"] = existingHostEntries(lab);
    });
    // The preview shows exactly the new host's steps created, and of the others only the
    // cluster-wide ones that the new SDS changes (storage layout, verification) as updates.
    const p = await stack.must(stack.cli(["preview"]), "preview with a fourth host");
    const plan = planned(p.stdout);
    expect(plan.filter((x) => x.op === "+").map((x) => x.name)).toEqual(
      expect.arrayContaining([`scaleio-prep-${added.name}`, `scaleio-packages-${added.name}`]),
    );
    for (const x of plan.filter((y) => y.op === "+")) expect(x.name).toMatch(added.name);
    expect(plan.filter((x) => x.op !== "+" && x.op !== "~")).toEqual([]);
    expect(plan.filter((x) => x.op === "~").map((x) => x.name)).toEqual(
      expect.not.arrayContaining([
        expect.stringMatching(/-(prep|packages|docker|volume-plugin|gateway)-node[123]$/),
      ]),
    );
    const r = await stack.must(stack.cli(["up", "--yes"]), "up with a fourth host");
    times.addHost = r.seconds;
    // The new host's own steps are created; no other host's steps are replaced.
    expect(r.stdout).toMatch(new RegExp(`\\+\\s+.*scaleio-packages-${added.name}\\b`));
    expect(r.stdout).not.toMatch(/\+-\s/);
    for (const [i, h] of lab.hosts.slice(0, 3).entries()) {
      expect(await installed(h.name)).toBe(before[i]);
    }
    expect(await installed(added.name)).toMatch(/EMC-ScaleIO-sds /);
    const outs = await stack.outputs();
    expect(Object.keys(outs.dockerRootDirs as object).sort()).toEqual([
      "node1",
      "node2",
      "node3",
      added.name,
    ]);
  });

  it("reports the cluster unchanged on `refresh`", async () => {
    const r = await stack.must(stack.cli(["refresh", "--yes"]), "pulumi refresh");
    times.refresh = r.seconds;
    expect(resourceSummary(r.stdout).delete ?? 0).toBe(0);
  });

  it("removes what it installed with `destroy`, keeps the volumes, and leaves the hosts usable", async () => {
    const volumesBefore = await volumeNames();
    expect(volumesBefore.length).toBe(lab.hosts.length);
    const r = await stack.must(stack.cli(["destroy", "--yes"]), "pulumi destroy");
    times.destroy = r.seconds;
    for (const h of lab.hosts) {
      expect(await sh(h.name, "findmnt -n /var/lib/docker || echo none")).toBe("none");
      expect(
        await sh(h.name, "ls /etc/systemd/system/var-lib-docker.mount 2>/dev/null || echo none"),
      ).toBe("none");
      // Still reachable over SSH with the same key and host key, and Docker starts again
      // (on the host's own /var/lib/docker now).
      const ssh = spawnSync(
        "ssh",
        [
          ...["-i", lab.privateKeyPath, "-o", `UserKnownHostsFile=${lab.knownHostsPath}`],
          ...["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", String(h.sshPort)],
          `root@${h.sshHost}`,
          "systemctl start docker && docker info -f '{{.DockerRootDir}}'",
        ],
        { encoding: "utf8", timeout: 120_000 },
      );
      expect(ssh.status, ssh.stderr).toBe(0);
      expect(ssh.stdout.trim()).toBe("/var/lib/docker");
      // Back to how it was adopted: a /var/lib/docker holding data is refused by the next install.
      await sh(h.name, "systemctl stop docker docker.socket && rm -rf /var/lib/docker/*");
    }
    // Without deleteVolumes the ScaleIO volumes and their cluster stay.
    expect(await volumeNames()).toEqual(volumesBefore);
    const ls = await stack.must(stack.cli(["stack", "export"]), "export after destroy");
    expect(JSON.parse(ls.stdout).deployment.resources ?? []).toEqual([]);
  });

  it("with deleteVolumes set after the install, `destroy` also removes volumes and packages", async () => {
    await stack.must(stack.cli(["up", "--yes"]), "up again on the adopted hosts");
    await stack.must(stack.cli(["config", "set", "arrowhead:deleteVolumes", "true"]), "config set");
    // The setting reaches the state through an update (delete() sees only the last outputs).
    const r = await stack.must(stack.cli(["up", "--yes"]), "up with deleteVolumes");
    const summary = resourceSummary(r.stdout);
    expect(summary.create ?? 0).toBe(0);
    expect(summary.update).toBeGreaterThan(0);
    expect((await volumeNames()).length).toBe(lab.hosts.length);
    await stack.must(stack.cli(["destroy", "--yes"]), "pulumi destroy with deleteVolumes");
    for (const h of lab.hosts) {
      expect(await installed(h.name)).toBe("");
      expect(await sh(h.name, "findmnt -n /var/lib/docker || echo none")).toBe("none");
    }
  });

  it("removes the stack with `stack rm`", async () => {
    await stack.must(stack.cli(["stack", "rm", "--yes"]), "pulumi stack rm");
    expect(fs.existsSync(stack.configFile)).toBe(false);
    const ls = await stack.must(stack.cliNoStack(["stack", "ls", "--json"]), "pulumi stack ls");
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });
});
