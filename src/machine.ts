// The one description of a machine that every provider returns and the installer consumes.
// Providers produce it (with Pulumi Outputs for cloud-computed fields); the installer sees it
// resolved. Nothing here knows about any particular cloud.

/** A node's part in the MDM cluster. At most one master; 3-node: 1 slave + 1 TB; 5-node: 2 + 2. */
export type MdmRole = "master" | "slave" | "tiebreaker";

/** Everything else a node can run. */
export type ServiceRole = "sds" | "sdc" | "gateway" | "docker" | "lia";

/** The operating systems we create machines with (or accept on existing hosts). */
export type OsName = "centos7" | "rocky8" | "rocky9";

/** The RPM dist tag the ScaleIO packages for an OS carry. */
export function distTagOf(os: OsName): "el7" | "el8" | "el9" {
  return os === "centos7" ? "el7" : os === "rocky8" ? "el8" : "el9";
}

export interface NodeRoles {
  /** Stable node name, also its hostname and the ScaleIO object names derive from it. */
  name: string;
  mdm?: MdmRole;
  services: ServiceRole[];
}

export interface Machine extends NodeRoles {
  /** Address the installer connects to over SSH (public IP, or 127.0.0.1 for local QEMU). */
  sshHost: string;
  sshPort: number;
  /** Login user: root on existing hosts if so configured, else the image's user (centos, rocky...). */
  sshUser: string;
  /** Public address users reach the node (and the gateway) on; may equal sshHost. */
  publicAddress: string;
  /** Address on the cluster network: all ScaleIO traffic (MDM, SDS, SDC) uses it. */
  privateAddress: string;
  /** Raw devices for SDS as the guest sees them, e.g. /dev/vdb, /dev/nvme1n1, /dev/sdc. */
  dataDisks: string[];
  /**
   * Known SSH host public key ("ssh-ed25519 AAAA..."), when the provider or the user knows it.
   * Empty means: pin on first contact (only for machines this stack created).
   */
  hostKey?: string;
  os: OsName;
  /**
   * Where a guest port is reachable from the user's side when it is not on publicAddress itself
   * (local QEMU forwards 22 and 443 to loopback ports): guest port -> "host:port".
   */
  forwardedPorts?: Record<number, string>;
}
