// What the lab suites share: the root check every suite makes first, the emulator's RPMs in a
// temporary folder, a lab with the installer's spec for it, commands on its hosts (through the
// lab's own exec or over SSH as a person would), and the pieces of a full install the volume
// plugin's suites wait for. Each suite keeps its own lab name (names are unique across suites).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "ssh2";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import { BUSYBOX_TAR_IN_HOST, type ExecResult, type Lab, type LabHost, startLab } from "./hosts";
import { labInstallSpec, type LabSpecOptions } from "./spec";
import type { InstallSpec } from "../../src/install/spec";
import { initExistingStack, PulumiStack, resourceSummary } from "../support/pulumi-cli";
import { expect } from "vitest";

/** The emulator's packages most suites install: 3.6 (the 3.x layout), built for el7. */
export const EMULATOR_VERSION = "3.6-700.103";

/** The image every lab host can `docker run` (imported from the lab's busybox tarball). */
export const BUSYBOX_IMAGE = "lab/busybox";

/** Where the installer puts the volume plugin (src/install/stages/volume-plugin.ts) on a host. */
export const PLUGIN_UNIT = "scaleio-volume-plugin";
export const PLUGIN_BIN = `/usr/local/bin/${PLUGIN_UNIT}`;
export const PLUGIN_CONFIG = `/etc/${PLUGIN_UNIT}/config.json`;
export const PLUGIN_STATE = `/var/lib/${PLUGIN_UNIT}/state.json`;
export const PLUGIN_MOUNTS = `/var/lib/${PLUGIN_UNIT}/mounts`;
export const PLUGIN_SOCKET = "/run/docker/plugins/scaleio.sock";

/**
 * Every lab suite calls this first, at module level: without root it fails the suite at once
 * with this message, never skips it (a skipped lab suite would look like a passing one).
 */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "lab tests need root (network namespaces, mounts, loop devices, systemd-nspawn): " +
        "run them as root, e.g. `sudo npm run test:lab` (see README, Tests)",
    );
  }
}

/** A lab with the installer's spec for it and the emulator's RPMs in `<tmp>/rpms`. */
export interface InstallLab {
  lab: Lab;
  spec: InstallSpec;
  tmp: string;
  rpmDir: string;
}

export interface InstallLabOptions extends Omit<LabSpecOptions, "rpmDir"> {
  /** The lab's name: unique across suites. */
  name: string;
  /** Prefix of the temporary folder under os.tmpdir(). */
  tmpPrefix: string;
  /** Raw data disks per host (default: the lab's, one of 120 GB). */
  dataDisks?: { count: number; sizeGb: number };
}

/**
 * Builds the emulator's RPMs (EMULATOR_VERSION, el7) into a temporary folder, starts 3 centos7
 * lab hosts and gives the full install spec for them (labInstallSpec with the options given).
 * stopInstallLab undoes it (and is done here when any of it fails).
 */
export async function startInstallLab(o: InstallLabOptions): Promise<InstallLab> {
  const { name, tmpPrefix, dataDisks, ...specOptions } = o;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const rpmDir = path.join(tmp, "rpms");
  let lab: Lab | undefined;
  try {
    await buildEmulatorRpms({ version: EMULATOR_VERSION, dist: "el7", outDir: rpmDir });
    lab = await startLab({ name, hosts: 3, os: "centos7", ...(dataDisks ? { dataDisks } : {}) });
    return { lab, spec: labInstallSpec(lab, { ...specOptions, rpmDir }), tmp, rpmDir };
  } catch (e) {
    await stopInstallLab(lab, tmp);
    throw e;
  }
}

/** Brings the lab down (if it came up) and removes the temporary folder. */
export async function stopInstallLab(lab: Lab | undefined, tmp: string | undefined): Promise<void> {
  await lab?.down();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

/** Runs cmd as root on a lab host; returns its trimmed stdout, throws on a non-zero exit. */
export async function labSh(lab: Lab, host: string, cmd: string): Promise<string> {
  const r = await lab.exec(host, cmd);
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** Imports BUSYBOX_IMAGE into the host's Docker unless it is there. */
export function importBusybox(lab: Lab, host: string): Promise<string> {
  return labSh(
    lab,
    host,
    `docker image inspect ${BUSYBOX_IMAGE} >/dev/null 2>&1 || docker import ${BUSYBOX_TAR_IN_HOST} ${BUSYBOX_IMAGE} >/dev/null`,
  );
}

/** Runs `test` on the host every 500 ms until it exits 0, at most `tries` times; never throws. */
export async function waitOn(lab: Lab, host: string, test: string, tries: number): Promise<void> {
  for (let i = 0; i < tries && (await lab.exec(host, test)).code; i++)
    await new Promise((r) => setTimeout(r, 500));
}

/** An SSH connection to a lab host as `user`, its host key checked against the lab's. */
export function sshConnect(
  h: LabHost,
  privateKey: string,
  user = "root",
  readyTimeout = 60_000,
): Promise<Client> {
  const expected = h.hostKey.split(" ")[1];
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on("ready", () => resolve(c));
    c.on("error", reject);
    c.connect({
      host: h.sshHost,
      port: h.sshPort,
      username: user,
      privateKey,
      readyTimeout,
      hostVerifier: (key: Buffer) => key.toString("base64") === expected,
    });
  });
}

/**
 * Runs cmd over the connection; never throws on a non-zero exit (a signal counts as 1).
 * closeStdin: end its stdin at once, so nothing can wait on a prompt.
 */
export function sshExec(
  c: Client,
  cmd: string,
  o: { closeStdin?: boolean } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      stream.on("data", (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      stream.on("close", (code: number | null) => resolve({ code: code ?? 1, stdout, stderr }));
      if (o.closeStdin) stream.end();
    });
  });
}

/** Copies a local file to the host over SFTP. */
export function sshPut(c: Client, local: string, remote: string): Promise<void> {
  return new Promise((resolve, reject) => {
    c.sftp((err, sftp) => {
      if (err) return reject(err);
      sftp.fastPut(local, remote, (e) => {
        sftp.end();
        if (e) reject(e);
        else resolve();
      });
    });
  });
}

/** A lab with an `existing` stack over it, as the engine suites use it. */
export interface EngineLab {
  lab: Lab;
  tmp: string;
  rpmDir: string;
  stack: PulumiStack;
}

/**
 * Builds the emulator's RPMs, starts 3 centos7 hosts (lab `name`) and writes the `existing`
 * stack `stackName` for them with the two passwords (initExistingStack), its backend in a
 * temporary folder. Throws what a step throws.
 */
export async function startEngineLab(o: {
  name: string;
  stackName: string;
  passphrase: string;
  mdmPassword: string;
  gatewayPassword: string;
}): Promise<EngineLab> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `ah-${o.name}-`));
  const rpmDir = path.join(tmp, "rpms");
  await buildEmulatorRpms({ version: EMULATOR_VERSION, dist: "el7", outDir: rpmDir });
  const lab = await startLab({ name: o.name, hosts: 3, os: "centos7" });
  const stack = new PulumiStack(o.stackName, path.join(tmp, "pulumi"), o.passphrase, () => {});
  await initExistingStack(stack, lab, {
    rpmDir,
    mdmPassword: o.mdmPassword,
    gatewayPassword: o.gatewayPassword,
  });
  return { lab, tmp, rpmDir, stack };
}

/**
 * scli on node1 of an engine lab, logged in as admin with `mdmPassword` first; every call
 * names node1 and node2 as the MDM managers (the master may move between them). Returns
 * stdout, trimmed; throws on a non-zero exit.
 */
export function scliOnNode1(e: () => EngineLab, mdmPassword: string) {
  const ip = (n: string) => e().lab.hosts.find((h) => h.name === n)!.privateAddress;
  return (args: string) =>
    labSh(
      e().lab,
      "node1",
      `m="--mdm_ip ${ip("node1")},${ip("node2")}"; printf '%s\\n' '${mdmPassword}' | ` +
        `scli --login --username admin --approve_certificate $m >/dev/null && scli ${args} $m`,
    );
}

/** A further `pulumi up --yes` changes nothing: every resource is reported unchanged. */
export async function expectNoChange(stack: PulumiStack): Promise<void> {
  const r = await stack.must(stack.cli(["up", "--yes"]), "a further up");
  const summary = resourceSummary(r.stdout);
  expect(summary).toEqual({ unchanged: summary.unchanged });
}

/**
 * An engine suite's teardown: `pulumi destroy` and `stack rm` (while the stack's config file
 * is there), then the stack file, the lab and the temporary folder; prints `times` as
 * "<suite> timings (s)". Safe when the set-up failed half-way (`e` undefined).
 */
export async function stopEngineLab(
  e: EngineLab | undefined,
  suite: string,
  times: Record<string, number>,
): Promise<void> {
  try {
    if (e && fs.existsSync(e.stack.configFile)) {
      await e.stack.cli(["destroy", "--yes"]);
      await e.stack.cli(["stack", "rm", "--yes", "--force"]);
    }
  } finally {
    if (e) fs.rmSync(e.stack.configFile, { force: true });
    await e?.lab.down();
    if (e?.tmp) fs.rmSync(e.tmp, { recursive: true, force: true });
    console.log(`${suite} timings (s):`, JSON.stringify(times));
  }
}

/** SSH logins sshd has accepted on `host` so far, read through the lab (so reading adds none). */
export async function sshLoginCount(lab: Lab, host: string): Promise<number> {
  return Number(
    await labSh(
      lab,
      host,
      "journalctl --no-pager -o cat _COMM=sshd _COMM=sshd-session | grep -c '^Accepted publickey' || true",
    ),
  );
}
