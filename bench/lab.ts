// Lab hosts for the benchmarks: the emulator's RPMs, N hosts in the installer's roles, and a
// spec for them. `withLab` always tears the hosts down, whatever happens inside.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StepLog } from "../src/install/log";
import type { InstallSpec } from "../src/install/spec";
import { SshSession } from "../src/install/ssh";
import { buildEmulatorRpms } from "../test/emulator/build-rpms";
import { startLab, type Lab, type LabHost } from "../test/lab/hosts";
import { labInstallSpec } from "../test/lab/spec";

export const SCALEIO_VERSION = "3.6-700.103";

/** Build (or reuse from the emulator's cache) the RPMs once per bench run. */
export async function emulatorRpms(tmp: string): Promise<string> {
  const dir = path.join(tmp, "rpms");
  if (!fs.existsSync(dir)) {
    await buildEmulatorRpms({ version: SCALEIO_VERSION, dist: "el7", outDir: dir });
  }
  return dir;
}

/** The lab tests' spec, every host as root with its host key known (none pinned blindly). */
export function specFor(lab: Lab, rpmDir: string): InstallSpec {
  return labInstallSpec(lab, {
    rpmDir,
    clusterName: `bench${lab.hosts.length}`,
    // Bench-only throwaway credentials for emulated hosts that live for one run.
    mdmPassword: "Bench-Mdm-Pw1",
    gatewayPassword: "Bench-Gw-Pw2",
    machine: () => ({ knownHostKey: true }),
    connectTimeoutMs: 120_000,
  });
}

/** Start `hosts` lab hosts, run `fn`, and remove the hosts afterwards in every case. */
export async function withLab<T>(
  name: string,
  hosts: number,
  fn: (lab: Lab) => Promise<T>,
): Promise<T> {
  const t0 = Date.now();
  const lab = await startLab({ name, hosts, os: "centos7", log: (m) => console.log(`  ${m}`) });
  console.log(`  lab ${name}: ${hosts} host(s) up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  try {
    return await fn(lab);
  } finally {
    const t1 = Date.now();
    await lab.down();
    console.log(`  lab ${name}: removed in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ah-bench-"));
}

/** An installer SSH session to a lab host as root, its host key verified against the lab's. */
export function connectAsRoot(lab: Lab, h: LabHost, log: StepLog): Promise<SshSession> {
  return SshSession.connect(
    {
      name: h.name,
      host: h.sshHost,
      port: h.sshPort,
      user: "root",
      privateKey: lab.privateKey,
      hostKey: h.hostKey,
      hostKeyFrom: "config",
      mayPin: false,
    },
    { log },
  );
}
