// What a running lab is made of, written to <stateDir>/lab.json so that `lab:down`, a later
// run, or an exit handler can remove everything even when the process that built it is gone.
import * as fs from "node:fs";
import * as path from "node:path";
import { DataDisk } from "./disks";
import { LabOs } from "./distro";
import { readProc } from "./procs";

export interface HostState {
  name: string;
  index: number;
  address: string;
  machine: string;
  hostKey: string;
  disks: DataDisk[];
  nspawnPid?: number;
  sshPort?: number;
  /** The machine's own cgroup directories (cgroups.ts). */
  cgroups?: string[];
}

export interface Owner {
  pid: number;
  /** /proc start time, so a reused pid is not mistaken for the owner. */
  start: string;
}

export interface LabState {
  name: string;
  netns: string;
  os: LabOs;
  base: string;
  busyboxTar: string;
  /** null: nobody owns it (`lab:up`); only an explicit down removes it. */
  owner: Owner | null;
  dataDisks: { count: number; sizeGb: number };
  hostNames?: string[];
  hosts: HostState[];
  relayPids: number[];
  repoPid?: number;
  /** maj:min of file systems seen inside hosts; loop devices backed by them are the lab's. */
  innerDevs: string[];
}

export function stateFile(stateDir: string): string {
  return path.join(stateDir, "lab.json");
}

export function readState(stateDir: string): LabState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(stateDir), "utf8")) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(stateDir: string, s: LabState): void {
  const tmp = `${stateFile(stateDir)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
  fs.renameSync(tmp, stateFile(stateDir));
}

function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function currentOwner(): Owner {
  return { pid: process.pid, start: startTime(process.pid) ?? "" };
}

export function ownerAlive(o: Owner): boolean {
  const p = readProc(o.pid);
  return p !== undefined && p.state !== "Z" && startTime(o.pid) === o.start;
}
