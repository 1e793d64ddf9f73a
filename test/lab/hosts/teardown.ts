// Removing a lab, synchronously (it also runs from process exit handlers): container PID
// namespaces, every process in the lab's network namespace, mounts under the state directory,
// loop devices backed by lab files (including ones created inside hosts), the namespace, and
// nspawn's leftovers under /run.
import * as fs from "node:fs";
import * as path from "node:path";
import { machineCgroupDirs, removeCgroupTrees, removeEmptyDockerCgroups } from "./cgroups";
import { detachLoopSync, listLoops } from "./disks";
import { deleteNetworkSync, listLabNetworks, pidsInNetwork } from "./network";
import { machineOf, netnsOf, stateDirOf, stateRoot } from "./paths";
import { containerInit, isAlive, killQuietly, listProcs, readProc, sleepSync } from "./procs";
import { mountsUnder, removeTree } from "./fsutil";
import { runSync } from "./run";
import { readState, ownerAlive } from "./state";

/** maj:min of every file system mounted in the mount namespace of pid. */
export function mountDevsOf(pid: number): string[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/mountinfo`, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")[2]);
  } catch {
    return [];
  }
}

function devOf(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    // Linux encodes dev_t as major (12 bits, split) and minor (20 bits, split).
    const dev = st.dev;
    const major = Math.floor(dev / 0x100) & 0xfff;
    const minor = (dev & 0xff) | (Math.floor(dev / 0x1000) & 0xfff00);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

function nspawnPidsOf(netns: string, known: number[]): number[] {
  const inNs = pidsInNetwork(netns).filter((p) => readProc(p)?.comm === "systemd-nspawn");
  return [...new Set([...ours(netns, known), ...inNs])];
}

/**
 * The recorded pids that are still this lab's: alive and in its network namespace, where every
 * lab process runs. Pids are reused (pid_max is 32768 here), so a recorded pid alone may name
 * another lab's container or relay by now; killing it took down labs of other test runs.
 */
function ours(netns: string, recorded: number[]): number[] {
  const inNs = new Set(pidsInNetwork(netns));
  return recorded.filter((p) => isAlive(p) && inNs.has(p));
}

function waitGone(pids: number[], ms: number): void {
  const deadline = Date.now() + ms;
  while (pids.some(isAlive) && Date.now() < deadline) sleepSync(50);
}

/** Kills the containers and all other lab processes; returns inner file system devices seen. */
function killProcesses(netns: string, knownNspawn: number[], relayPids: number[]): string[] {
  const devs: string[] = [];
  const nspawns = nspawnPidsOf(netns, knownNspawn);
  const inits = nspawns.map(containerInit).filter((p): p is number => p !== undefined);
  for (const init of inits) {
    devs.push(...mountDevsOf(init));
    // Mounts made inside nested namespaces (Docker containers) count too.
    for (const p of listProcs()) {
      if (p.ppid === init) devs.push(...mountDevsOf(p.pid));
    }
  }
  for (const init of inits) killQuietly(init, "SIGKILL");
  waitGone(inits, 10_000);
  const rest = [...new Set([...pidsInNetwork(netns), ...nspawns, ...ours(netns, relayPids)])];
  for (const p of rest) killQuietly(p, "SIGKILL");
  waitGone(rest, 10_000);
  return devs;
}

/**
 * Detaches loop devices backed by files under the state directory or on file systems that
 * lived inside hosts; loops backed by other lab loops go first.
 */
function detachLoops(stateDir: string, innerDevs: Set<string>): string[] {
  const detached: string[] = [];
  for (let round = 0; round < 5; round++) {
    const loops = listLoops();
    const labLoops = new Set(
      loops
        .filter(
          (l) =>
            l.backFile.startsWith(`${stateDir}/`) ||
            (innerDevs.has(l.backDev) && !l.backDev.startsWith("0:0")),
        )
        .map((l) => l.name),
    );
    // A loop whose backing file sits on a lab loop's file system is the lab's too.
    const labLoopDevs = new Set([...labLoops].map((n) => `7:${n.replace("/dev/loop", "")}`));
    for (const l of loops) if (labLoopDevs.has(l.backDev)) labLoops.add(l.name);
    if (labLoops.size === 0) break;
    const nested = loops.filter((l) => labLoops.has(l.name) && labLoopDevs.has(l.backDev));
    const order = [
      ...nested.map((l) => l.name),
      ...[...labLoops].filter((n) => !nested.some((l) => l.name === n)),
    ];
    for (const n of order) {
      detachLoopSync(n);
      detached.push(n);
    }
    if (listLoops().every((l) => !labLoops.has(l.name))) break;
    sleepSync(200);
  }
  return detached;
}

function removeNspawnLeftovers(machines: string[]): void {
  for (const m of machines) {
    for (const sub of ["propagate", "unix-export", "incoming"]) {
      fs.rmSync(path.join("/run/systemd/nspawn", sub, m), { recursive: true, force: true });
    }
  }
}

/** Removes everything of lab `name`, whether or not its owner is alive. */
export function teardownLab(name: string): void {
  const stateDir = stateDirOf(name);
  const netns = netnsOf(name);
  const state = readState(stateDir);
  const innerDevs = new Set(state?.innerDevs ?? []);
  const hostDirs = fs.existsSync(path.join(stateDir, "hosts"))
    ? fs.readdirSync(path.join(stateDir, "hosts"))
    : [];
  // Overlay roots' devices: loops created inside hosts over files on their root. nspawn's
  // image lock files are named after the root directory's device and inode.
  const lockFiles: string[] = [];
  for (const h of hostDirs) {
    const root = path.join(stateDir, "hosts", h, "root");
    const d = devOf(root);
    if (d) innerDevs.add(d);
    try {
      const st = fs.statSync(root);
      lockFiles.push(path.join("/run/systemd/nspawn/locks", `inode-${st.dev}:${st.ino}`));
    } catch {
      // No root left.
    }
  }
  const known = (state?.hosts ?? []).map((h) => h.nspawnPid).filter((p): p is number => !!p);
  for (const d of killProcesses(netns, known, state?.relayPids ?? [])) innerDevs.add(d);
  for (const p of ours(netns, state?.repoPid ? [state.repoPid] : [])) killQuietly(p, "SIGKILL");
  const machines = [
    ...(state?.hosts ?? []).map((h) => h.machine),
    ...hostDirs.map((h) => machineOf(name, h)),
  ];
  removeCgroupTrees([
    ...new Set([
      ...(state?.hosts ?? []).flatMap((h) => h.cgroups ?? []),
      ...machines.flatMap(machineCgroupDirs),
    ]),
  ]);
  removeEmptyDockerCgroups();
  // The host's own root file system must never count as "inside a host".
  const rootDev = devOf("/");
  if (rootDev) innerDevs.delete(rootDev);
  const stateDev = devOf(stateRoot());
  if (stateDev) innerDevs.delete(stateDev);
  for (const m of mountsUnder(stateDir)) runSync("umount", ["-l", m], { allowFail: true });
  detachLoops(stateDir, innerDevs);
  deleteNetworkSync(netns);
  removeNspawnLeftovers(machines);
  for (const f of lockFiles) fs.rmSync(f, { force: true });
  removeTree(stateDir);
}

/** Names of labs that exist on this machine (state directories and namespaces). */
export function listLabs(): string[] {
  const names = new Set<string>();
  if (fs.existsSync(stateRoot())) {
    for (const d of fs.readdirSync(stateRoot())) {
      if (fs.existsSync(path.join(stateRoot(), d, "lab.json"))) names.add(d);
    }
  }
  for (const ns of listLabNetworks()) names.add(ns.slice("ahlab-".length));
  return [...names];
}

/** Removes labs whose owning process is dead (labs from `lab:up` have no owner: kept). */
export function teardownStaleLabs(): string[] {
  const removed: string[] = [];
  for (const name of listLabs()) {
    const state = readState(stateDirOf(name));
    if (state && (state.owner === null || ownerAlive(state.owner))) continue;
    teardownLab(name);
    removed.push(name);
  }
  return removed;
}
