// The demo's three hosts: lab "demo" (test/lab/hosts), kept running after this process exits,
// reached through the demo's fixed loopback ports. demo.json records a lab that came up whole;
// a lab without it (a demo killed while building it) is removed and built again.
import * as fs from "node:fs";
import { destroyLab, startLab } from "../../test/lab/hosts";
import { publicKeyOf } from "../../test/lab/hosts/keys";
import { isAlive } from "../../test/lab/hosts/procs";
import { netnsOf, stateDirOf } from "../../test/lab/hosts/paths";
import { repoUrl } from "../../test/lab/hosts/repo";
import { readState } from "../../test/lab/hosts/state";
import { HOSTS, LAB_NAME, sshPortOf, statePath } from "./paths";
import { sshAnswers, startFixedRelay } from "./ports";
import type { DemoHost } from "./stack";

/** What demo.json holds: the lab as the stack and the printed commands see it. */
export interface DemoLab {
  createdAt: string;
  hosts: DemoHost[];
  repoUrl: string;
  /** Copies of the lab's key and a known_hosts for the demo's ports, in the state folder. */
  keyFile: string;
  knownHostsFile: string;
  publicKey: string;
}

const recordFile = () => statePath("demo.json");

/** The recorded lab, when its containers all run and its ports answer SSH; else undefined. */
export async function runningLab(): Promise<DemoLab | undefined> {
  let rec: DemoLab;
  try {
    rec = JSON.parse(fs.readFileSync(recordFile(), "utf8")) as DemoLab;
  } catch {
    return undefined;
  }
  const state = readState(stateDirOf(LAB_NAME));
  const containers = state?.hosts ?? [];
  if (containers.length !== HOSTS.length) return undefined;
  if (!containers.every((h) => h.nspawnPid !== undefined && isAlive(h.nspawnPid))) return undefined;
  if (rec.hosts.some((h, i) => h.sshPort !== sshPortOf(i))) return undefined;
  return (await sshAnswers(rec.hosts.map((h) => h.sshPort))) ? rec : undefined;
}

/** Whether anything of a lab "demo" exists (state folder or network namespace). */
export function labLeftovers(): boolean {
  return (
    fs.existsSync(stateDirOf(LAB_NAME)) ||
    fs.existsSync(`/run/netns/${netnsOf(LAB_NAME)}`) ||
    fs.existsSync(recordFile())
  );
}

/** Removes lab "demo" and its record, whoever started it. */
export async function removeLab(): Promise<void> {
  fs.rmSync(recordFile(), { force: true });
  await destroyLab(LAB_NAME);
}

/**
 * Starts the three hosts (kept after exit), the relay on the demo's ports, the key and
 * known_hosts copies, (recordLab() marks it whole). `log` gets the lab's progress lines.
 */
export async function buildLab(log: (line: string) => void): Promise<DemoLab> {
  const lab = await startLab({
    name: LAB_NAME,
    hosts: HOSTS.length,
    hostNames: [...HOSTS],
    os: "centos7",
    keep: true,
    log,
  });
  const hosts: DemoHost[] = lab.hosts.map((h, i) => ({
    name: h.name,
    sshPort: sshPortOf(i),
    privateAddress: h.privateAddress,
    hostKey: h.hostKey,
    dataDisks: h.dataDisks,
  }));
  await startFixedRelay(
    netnsOf(LAB_NAME),
    hosts.map((h) => ({ port: h.sshPort, host: h.privateAddress, hostPort: 22 })),
    statePath("relay.log"),
  );
  const rec: DemoLab = {
    createdAt: new Date().toISOString(),
    hosts,
    repoUrl: repoUrl(),
    keyFile: statePath("id_ed25519"),
    knownHostsFile: statePath("known_hosts"),
    publicKey: publicKeyOf(lab.privateKeyPath),
  };
  fs.copyFileSync(lab.privateKeyPath, rec.keyFile);
  fs.chmodSync(rec.keyFile, 0o600);
  fs.writeFileSync(
    rec.knownHostsFile,
    hosts.map((h) => `[127.0.0.1]:${h.sshPort} ${h.hostKey}\n`).join(""),
    { mode: 0o600 },
  );
  return rec;
}

/** Records the lab as whole (with its stack initialized): later runs reuse it. */
export function recordLab(rec: DemoLab): void {
  fs.writeFileSync(recordFile(), JSON.stringify(rec, null, 2), { mode: 0o600 });
}
