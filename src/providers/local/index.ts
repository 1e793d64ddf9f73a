// The local QEMU driver: plain TypeScript, no Pulumi. It creates, checks and removes the
// machines of one stack and the hub of their private network. src/providers/local.ts wraps it in
// Pulumi resources; tests and scripts may call it directly.
//
// Layout of the state directory (default ~/.arrowhead):
//   <stateDir>/<stack>/hub/            hub.json, hub.log, members/<udp port>
//   <stateDir>/<stack>/machines/<name>/ root.qcow2, disk-N.*, seed/, seed.iso, serial.log,
//                                       qemu.pid, qmp.sock, machine.json
//   <stateDir>/<stack>/logs/           serial logs of machines that failed to boot
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AccelChoice, AccelSetting, detectAccel } from "./accel";
import { generateHostKey } from "../../ssh-keygen";
import { allocatePort, releasePort, tryBind } from "./ports";
import { isOurProcess, processesMentioning, readPidFile, stopQemu, terminate } from "./processes";
import { dataDiskDevices, macsFor, qemuArgs, type QemuSpec } from "./qemu";
import { writeSeedIso } from "./seed";
import { waitForSsh } from "./ssh-wait";

export { dataDiskDevices } from "./qemu";

export type Log = (msg: string) => void;
const defaultLog: Log = (msg) => process.stderr.write(`[arrowhead local] ${msg}\n`);

export function defaultStateDir(): string {
  return process.env.ARROWHEAD_STATE_DIR ?? path.join(os.homedir(), ".arrowhead");
}

export function stackDir(stateDir: string, stack: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stack)) {
    throw new Error(`stack name '${stack}' cannot name a directory: use letters, digits, . _ -`);
  }
  return path.join(path.resolve(stateDir), stack);
}

function machineDir(stateDir: string, stack: string, name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) {
    throw new Error(`machine name '${name}' is not a valid hostname: use a-z, 0-9 and -`);
  }
  return path.join(stackDir(stateDir, stack), "machines", name);
}

function findQemu(): string {
  const qemu = process.env.ARROWHEAD_QEMU ?? "qemu-system-x86_64";
  const r = spawnSync(qemu, ["--version"], { stdio: "ignore" });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${qemu} not found: apt-get install qemu-system-x86 qemu-utils (or set ARROWHEAD_QEMU)`,
    );
  }
  return qemu;
}

let accelCache: { setting: AccelSetting; choice: AccelChoice } | undefined;

/** The accelerator for this process's machines, probed once and logged. */
export function accelFor(setting: AccelSetting, log: Log = defaultLog): AccelChoice {
  if (accelCache?.setting !== setting) {
    const choice = detectAccel(setting, findQemu());
    log(`accelerator ${choice.accel}: ${choice.reason}`);
    accelCache = { setting, choice };
  }
  return accelCache.choice;
}

// ---------------------------------------------------------------------------------------------
// Hub

export interface HubState {
  port: number;
  pid: number;
  dir: string;
}

const HUB_SCRIPT = path.join(__dirname, "hub.js");

/** Starts the private network's hub for a stack (one per stack); replaces a leftover one. */
export async function startHub(stateDir: string, stack: string, log: Log = defaultLog) {
  const dir = path.join(stackDir(stateDir, stack), "hub");
  const old = readHubState(dir);
  if (old && isOurProcess(old.pid, dir)) {
    log(`stopping leftover hub of stack ${stack} (pid ${old.pid})`);
    await terminate(old.pid, dir);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "members"), { recursive: true, mode: 0o700 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await allocatePort("udp");
    const out = fs.openSync(path.join(dir, "hub.log"), "a");
    const child = spawn(process.execPath, [HUB_SCRIPT, String(port), path.join(dir, "members")], {
      detached: true,
      stdio: ["ignore", out, out],
    });
    fs.closeSync(out);
    child.unref();
    const pid = child.pid;
    // The hub is up once its port is taken.
    for (let i = 0; i < 50 && pid && isOurProcess(pid, dir); i++) {
      if ((await tryBind("udp", port)) === undefined) {
        const state: HubState = { port, pid, dir };
        fs.writeFileSync(path.join(dir, "hub.json"), JSON.stringify(state) + "\n");
        releasePort("udp", port);
        log(`hub of stack ${stack} listening on 127.0.0.1:${port}/udp (pid ${pid})`);
        return state;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (pid) await terminate(pid, dir);
    releasePort("udp", port);
  }
  const hubLog = fs.readFileSync(path.join(dir, "hub.log"), "utf8").trim();
  throw new Error(`the private network hub of stack ${stack} did not start:\n${hubLog}`);
}

function readHubState(dir: string): HubState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "hub.json"), "utf8")) as HubState;
  } catch {
    return undefined;
  }
}

export function hubAlive(hub: HubState): boolean {
  return isOurProcess(hub.pid, hub.dir);
}

/**
 * Stops the hub and removes the stack's directory when nothing else is left in it. The hub goes
 * last (every machine depends on it), so a machine directory still here belongs to a machine
 * that died and that `pulumi refresh` dropped from the state: nothing owns its disks any more,
 * and they go too. A machine still running is left alone.
 */
export async function stopHub(hub: HubState): Promise<void> {
  await terminate(hub.pid, hub.dir);
  fs.rmSync(hub.dir, { recursive: true, force: true });
  const stack = path.dirname(hub.dir);
  fs.rmSync(path.join(stack, "logs"), { recursive: true, force: true });
  const machines = path.join(stack, "machines");
  for (const name of fs.existsSync(machines) ? fs.readdirSync(machines) : []) {
    const dir = path.join(machines, name);
    const pid = readPidFile(path.join(dir, "qemu.pid"));
    if (!pid || !machineAlive({ pid, dir })) fs.rmSync(dir, { recursive: true, force: true });
  }
  removeIfEmpty(path.join(stack, "machines"));
  removeIfEmpty(stack);
}

function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // Not empty or already gone: either way nothing to do.
  }
}

// ---------------------------------------------------------------------------------------------
// Machines

export interface MachineSpec {
  stack: string;
  name: string;
  stateDir: string;
  /** Base image (qcow2 or raw); never written, each machine gets a copy-on-write overlay. */
  baseImage: string;
  /** Direct kernel boot for images without a bootloader. */
  kernel?: string;
  initrd?: string;
  kernelCmdline?: string;
  /** Grow the root disk to this size (cloud-init grows the filesystem); omitted = base size. */
  rootDiskGb?: number;
  cpus: number;
  memoryMb: number;
  dataDisks: { count: number; sizeGb: number; format: "qcow2" | "raw" };
  sshPublicKey: string;
  /** The image's login user: centos, rocky... */
  sshUser: string;
  /** Static address and prefix length on the private network, e.g. "10.77.0.11/24". */
  privateCidr: string;
  hubPort: number;
  /** Forward a loopback port to the guest's 443 (the REST gateway node). */
  forwardGateway: boolean;
  accel: AccelSetting;
  bootTimeoutSec: number;
  /** Shell script cloud-init runs once at first boot, after SSH is up (host preparation). */
  prepareScript?: string;
}

/** What is known about a running machine. No secrets: this ends up in Pulumi's state. */
export interface MachineState {
  name: string;
  dir: string;
  pid: number;
  sshPort: number;
  gatewayPort?: number;
  privatePort: number;
  privateAddress: string;
  hostKey: string;
  /** Guest device names of the data disks (/dev/vdb...). */
  dataDevices: string[];
  /** The accelerator QEMU runs with (the input `accel` is the setting, e.g. "auto"). */
  accelUsed: string;
  bootSeconds: number;
}

/**
 * No state key may shadow an input key but `name`: the engine diffs new inputs against the old
 * outputs, which hold both, so a shadowed key reads as a change on every `pulumi up` (it did:
 * `accel` "auto" against the "tcg" QEMU ran with, an update of every machine).
 */
type ShadowedInputs = Exclude<Extract<keyof MachineState, keyof MachineSpec>, "name">;
export const STATE_SHADOWS_NO_INPUT: [ShadowedInputs] extends [never] ? true : never = true;

function qemuImg(args: string[]): string {
  try {
    return execFileSync("qemu-img", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === "ENOENT") throw new Error("qemu-img not found: apt-get install qemu-utils");
    throw new Error(`qemu-img ${args.join(" ")}: ${(err.stderr ?? err.message).trim()}`);
  }
}

function checkReadable(what: string, file: string | undefined): void {
  if (file === undefined) return;
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    throw new Error(`${what} '${file}' is not a readable file: check the path in the stack config`);
  }
}

/** The last lines of a serial log, without terminal escapes, for error messages. */
export function serialTail(file: string, lines = 25): string {
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return "(no serial output)";
  }
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  const all = clean.split("\n").filter((l) => l.trim() !== "");
  return all.slice(-lines).join("\n") || "(no serial output)";
}

const QEMU_BIND_ERROR = /host forwarding|Address already in use|Could not bind|Failed to bind/i;

/** Creates the machine's disks and seed, boots it, and waits until SSH serves its host key. */
export async function createMachine(spec: MachineSpec, log: Log = defaultLog) {
  const started = Date.now();
  const qemu = findQemu();
  checkReadable("local.baseImage", spec.baseImage);
  checkReadable("local.kernel", spec.kernel);
  checkReadable("local.initrd", spec.initrd);
  const accel = accelFor(spec.accel, log);
  const dir = machineDir(spec.stateDir, spec.stack, spec.name);
  await removeMachineFiles(dir, 0);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  const { root, disks } = createDisks(spec, dir);
  const seed = writeSeed(spec, dir);
  const boot = { spec, dir, qemu, accel: accel.accel, root, disks, seed };
  const { pid, ports } = await startQemu(boot, log);
  log(
    `${spec.name}: started (pid ${pid}, ${accel.accel}), ssh 127.0.0.1:${ports.ssh}` +
      (ports.gateway ? `, https 127.0.0.1:${ports.gateway}` : "") +
      `, private ${spec.privateCidr}; waiting up to ${spec.bootTimeoutSec}s for SSH`,
  );
  await awaitSsh(spec, dir, pid, ports, seed.hostKey.publicKey);
  const state: MachineState = {
    name: spec.name,
    dir,
    pid,
    sshPort: ports.ssh,
    gatewayPort: ports.gateway,
    privatePort: ports.priv,
    privateAddress: spec.privateCidr.split("/")[0],
    hostKey: seed.hostKey.publicKey,
    dataDevices: dataDiskDevices(spec.dataDisks.count),
    accelUsed: accel.accel,
    bootSeconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(dir, "machine.json"), JSON.stringify(state, null, 2) + "\n");
  log(`${spec.name}: SSH up with the expected host key after ${state.bootSeconds}s`);
  return state;
}

/** The root overlay (copy-on-write over baseImage) and the sparse data disks, in `dir`. */
function createDisks(spec: MachineSpec, dir: string) {
  const baseImage = path.resolve(spec.baseImage);
  const info = JSON.parse(qemuImg(["info", "--output=json", baseImage])) as { format: string };
  const root = path.join(dir, "root.qcow2");
  const size = spec.rootDiskGb ? [`${spec.rootDiskGb}G`] : [];
  qemuImg(["create", "-q", "-f", "qcow2", "-F", info.format, "-b", baseImage, root, ...size]);
  const disks: QemuSpec["dataDisks"] = [];
  for (let i = 1; i <= spec.dataDisks.count; i++) {
    const file = path.join(dir, `disk-${i}.${spec.dataDisks.format}`);
    if (spec.dataDisks.format === "qcow2") {
      qemuImg(["create", "-q", "-f", "qcow2", file, `${spec.dataDisks.sizeGb}G`]);
    } else {
      // Sparse: takes no space until the guest writes.
      fs.closeSync(fs.openSync(file, "w", 0o600));
      fs.truncateSync(file, spec.dataDisks.sizeGb * 1024 ** 3);
    }
    disks.push({ path: file, format: spec.dataDisks.format });
  }
  return { root, disks };
}

/** The cloud-init seed (its own SSH host key, MACs, private address) as seed.iso in `dir`. */
function writeSeed(spec: MachineSpec, dir: string) {
  const hostKey = generateHostKey(`${spec.name}@arrowhead-${spec.stack}`);
  const macs = macsFor(spec.stack, spec.name);
  const iso = path.join(dir, "seed.iso");
  writeSeedIso(
    {
      hostname: spec.name,
      instanceId: `arrowhead-${spec.stack}-${spec.name}-${Date.now()}`,
      user: spec.sshUser,
      sshPublicKey: spec.sshPublicKey,
      hostKeyPublic: hostKey.publicKey,
      hostKeyPrivate: hostKey.privateKey,
      publicMac: macs.publicMac,
      privateMac: macs.privateMac,
      privateCidr: spec.privateCidr,
      prepareScript: spec.prepareScript,
    },
    path.join(dir, "seed"),
    iso,
  );
  return { hostKey, macs, iso };
}

interface BootInputs {
  spec: MachineSpec;
  dir: string;
  qemu: string;
  accel: AccelChoice["accel"];
  root: string;
  disks: QemuSpec["dataDisks"];
  seed: ReturnType<typeof writeSeed>;
}

interface Ports {
  ssh: number;
  gateway?: number;
  priv: number;
}

/** The hub's member list of the stack (its private network); throws when the hub is not running. */
function hubMembers(spec: MachineSpec): string {
  const members = path.join(stackDir(spec.stateDir, spec.stack), "hub", "members");
  if (!fs.existsSync(members)) {
    throw new Error(`the hub of stack ${spec.stack} is not running: run 'pulumi up' again`);
  }
  return members;
}

/**
 * Starts QEMU daemonized on free ports, joining the hub; a port taken between the test and
 * QEMU's bind is retried with new ports (3 tries). Returns QEMU's pid and the ports.
 */
async function startQemu(b: BootInputs, log: Log): Promise<{ pid: number; ports: Ports }> {
  const members = hubMembers(b.spec);
  const pidFile = path.join(b.dir, "qemu.pid");
  for (let attempt = 1; ; attempt++) {
    const p: Ports = {
      ssh: await allocatePort("tcp"),
      gateway: b.spec.forwardGateway ? await allocatePort("tcp") : undefined,
      priv: await allocatePort("udp"),
    };
    fs.writeFileSync(path.join(members, String(p.priv)), b.spec.name + "\n");
    const args = qemuArgsFor(b, p, pidFile);
    fs.writeFileSync(path.join(b.dir, "qemu.args"), JSON.stringify([b.qemu, ...args]) + "\n");
    // -daemonize: QEMU returns once the machine runs, and reports setup errors (a port taken
    // since we tested it) synchronously.
    const r = spawnSync(b.qemu, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    for (const port of [p.ssh, p.gateway]) if (port) releasePort("tcp", port);
    releasePort("udp", p.priv);
    if (r.status === 0) {
      const pid = readPidFile(pidFile);
      if (!pid) throw new Error(`QEMU started ${b.spec.name} but wrote no pid file ${pidFile}`);
      return { pid, ports: p };
    }
    fs.rmSync(path.join(members, String(p.priv)), { force: true });
    const err = (r.stderr || r.error?.message || "").trim();
    if (attempt >= 3 || !QEMU_BIND_ERROR.test(err)) {
      await removeMachineFiles(b.dir, 0);
      throw new Error(`QEMU could not start machine ${b.spec.name}: ${err}`);
    }
    log(`${b.spec.name}: a port was taken meanwhile (${err}); retrying with new ports`);
  }
}

function qemuArgsFor(b: BootInputs, p: Ports, pidFile: string): string[] {
  const { spec } = b;
  return qemuArgs({
    name: spec.name,
    accel: b.accel,
    cpus: spec.cpus,
    memoryMb: spec.memoryMb,
    rootDisk: b.root,
    dataDisks: b.disks,
    seedIso: b.seed.iso,
    kernel: spec.kernel && path.resolve(spec.kernel),
    initrd: spec.initrd && path.resolve(spec.initrd),
    kernelCmdline: spec.kernelCmdline,
    sshPort: p.ssh,
    gatewayPort: p.gateway,
    publicMac: b.seed.macs.publicMac,
    privateMac: b.seed.macs.privateMac,
    privatePort: p.priv,
    hubPort: spec.hubPort,
    serialLog: path.join(b.dir, "serial.log"),
    pidFile,
    qmpSocket: path.join(b.dir, "qmp.sock"),
  });
}

/**
 * Waits until the machine's SSH serves `hostKey`. On failure keeps the serial log in the stack's
 * logs/ folder, removes the half-booted machine, and throws with the console's last lines.
 */
async function awaitSsh(
  spec: MachineSpec,
  dir: string,
  pid: number,
  ports: Ports,
  hostKey: string,
) {
  const pidFile = path.join(dir, "qemu.pid");
  try {
    await waitForSsh({
      port: ports.ssh,
      hostKey,
      timeoutMs: spec.bootTimeoutSec * 1000,
      stillRunning: () => isOurProcess(pid, pidFile),
    });
  } catch (e) {
    const serialLog = path.join(dir, "serial.log");
    const logs = path.join(stackDir(spec.stateDir, spec.stack), "logs");
    fs.mkdirSync(logs, { recursive: true });
    const kept = path.join(logs, `${spec.name}-serial.log`);
    fs.copyFileSync(serialLog, kept);
    const tail = serialTail(serialLog);
    await stopQemu(pid, pidFile, path.join(dir, "qmp.sock"), 0);
    const member = path.join(
      stackDir(spec.stateDir, spec.stack),
      "hub",
      "members",
      `${ports.priv}`,
    );
    fs.rmSync(member, { force: true });
    await removeMachineFiles(dir, 0);
    throw new Error(
      `${spec.name}: ${(e as Error).message}. Last lines of its serial console ` +
        `(full log: ${kept}):\n${tail}\n` +
        `If the machine was still booting, raise arrowhead:local.bootTimeoutSeconds.`,
    );
  }
}

/** Is the machine's QEMU still running? (A machine that died is gone for `pulumi refresh`.) */
export function machineAlive(state: Pick<MachineState, "pid" | "dir">): boolean {
  return isOurProcess(state.pid, path.join(state.dir, "qemu.pid"));
}

async function removeMachineFiles(dir: string, graceMs: number): Promise<void> {
  const pidFile = path.join(dir, "qemu.pid");
  const pid = readPidFile(pidFile);
  if (pid) await stopQemu(pid, pidFile, path.join(dir, "qmp.sock"), graceMs);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Stops the machine (ACPI power-off, then kill after `graceMs`) and removes all its files. */
export async function deleteMachine(
  state: Pick<MachineState, "dir" | "privatePort" | "name">,
  graceMs = 15_000,
  log: Log = defaultLog,
): Promise<void> {
  await removeMachineFiles(state.dir, graceMs);
  const members = path.join(path.dirname(path.dirname(state.dir)), "hub", "members");
  fs.rmSync(path.join(members, String(state.privatePort)), { force: true });
  log(`${state.name}: stopped and removed`);
}

/**
 * Stops every process recorded under a stack's directory and removes it: for a run that died
 * before it could tear down (tests call it before and after).
 */
export async function destroyStack(stateDir: string, stack: string): Promise<void> {
  const dir = stackDir(stateDir, stack);
  const machines = path.join(dir, "machines");
  if (fs.existsSync(machines)) {
    await Promise.all(
      fs.readdirSync(machines).map((m) => removeMachineFiles(path.join(machines, m), 0)),
    );
  }
  // Anything else still running from this stack's directory (a hub whose start was cut short
  // before it wrote hub.json, a QEMU whose pid file is gone).
  const marker = dir + path.sep;
  await Promise.all(processesMentioning(marker).map((pid) => terminate(pid, marker)));
  fs.rmSync(dir, { recursive: true, force: true });
}
