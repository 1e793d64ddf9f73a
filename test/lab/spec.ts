// The installer's spec for lab hosts, shared by the lab tests and the benchmarks: the original
// lab's roles (node1 master MDM + gateway + LIA, node2 slave, node3 tie-breaker, any further node
// SDS + SDC + Docker), the lab's key and yum repository, and the emulator's packages.
import type { Machine, MdmRole, ServiceRole } from "../../src/machine";
import type { InstallSpec } from "../../src/install/spec";
import type { Lab, LabHost } from "./hosts";

export interface LabRoles {
  mdm?: MdmRole;
  services: ServiceRole[];
}

/** The roles of the i-th lab host (0-based). */
export function labRoles(i: number): LabRoles {
  if (i === 0) return { mdm: "master", services: ["sds", "sdc", "lia", "gateway", "docker"] };
  if (i === 1) return { mdm: "slave", services: ["sds", "sdc", "docker"] };
  if (i === 2) return { mdm: "tiebreaker", services: ["sds", "sdc", "docker"] };
  return { services: ["sds", "sdc", "docker"] };
}

export interface LabMachineOptions {
  roles?: LabRoles;
  /** Log in as the lab's `centos` user (passwordless sudo) instead of root. */
  sudo?: boolean;
  /** Give the lab's host key in the spec (verified, never pinned on first contact). */
  knownHostKey?: boolean;
}

/** One lab host as an installer Machine (centos7, reached over its 127.0.0.1 port). */
export function labMachine(h: LabHost, i: number, o: LabMachineOptions = {}): Machine {
  return {
    name: h.name,
    ...(o.roles ?? labRoles(i)),
    sshHost: h.sshHost,
    sshPort: h.sshPort,
    sshUser: o.sudo ? "centos" : "root",
    publicAddress: h.sshHost,
    privateAddress: h.privateAddress,
    dataDisks: h.dataDisks,
    ...(o.knownHostKey ? { hostKey: h.hostKey } : {}),
    os: "centos7",
  };
}

export interface LabSpecOptions {
  rpmDir: string;
  clusterName: string;
  mdmPassword: string;
  gatewayPassword: string;
  /** Per host index, as labMachine takes them (roles, sudo, known host key). */
  machine?: (i: number) => LabMachineOptions;
  connectTimeoutMs?: number;
}

/** The full install spec for every host of a lab: pd1/sp1/HDD, 8 GB Docker volumes. */
export function labInstallSpec(lab: Lab, o: LabSpecOptions): InstallSpec {
  return {
    machines: lab.hosts.map((h, i) => labMachine(h, i, o.machine?.(i))),
    privateKey: lab.privateKey,
    os: "centos7",
    rpmDir: o.rpmDir,
    clusterName: o.clusterName,
    protectionDomain: "pd1",
    storagePool: "sp1",
    mediaType: "HDD",
    dockerVolumeGb: 8,
    mdmPassword: o.mdmPassword,
    gatewayPassword: o.gatewayPassword,
    vaultUrl: lab.repoUrl.replace(/\/$/, "") + "/vault",
    connectTimeoutMs: o.connectTimeoutMs ?? 60_000,
  };
}
