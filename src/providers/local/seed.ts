// The cloud-init NoCloud seed: user-data, meta-data and network-config on an ISO labelled
// "cidata". Every document is written as JSON, which YAML parsers (cloud-init's PyYAML) accept
// as-is: no quoting rules to get wrong, no injection through names or keys.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface SeedSpec {
  hostname: string;
  /** Changes whenever the machine is recreated, so cloud-init runs its first-boot modules. */
  instanceId: string;
  /** The image's login user (centos, rocky...); gets the key and passwordless sudo. */
  user: string;
  sshPublicKey: string;
  hostKeyPublic: string;
  hostKeyPrivate: string;
  /** MAC of the user-mode NIC (DHCP from QEMU, carries the forwarded SSH port). */
  publicMac: string;
  /** MAC and static address (CIDR) of the NIC on the private network. */
  privateMac: string;
  privateCidr: string;
  /** Shell script run once at first boot (cloud-init's final stage). */
  prepareScript?: string;
}

export function userData(s: SeedSpec): string {
  const doc = {
    hostname: s.hostname,
    // Root logs in with the same key (the installer may connect as root).
    disable_root: false,
    // No ssh_pwauth: setting it makes cloud-init restart sshd after boot, dropping connections;
    // the users' passwords are locked anyway.
    ssh_authorized_keys: [s.sshPublicKey],
    users: [
      {
        name: s.user,
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        shell: "/bin/bash",
        lock_passwd: true,
        ssh_authorized_keys: [s.sshPublicKey],
      },
    ],
    // Our host key only: the key the provider reports is the key sshd serves.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: s.hostKeyPrivate, ed25519_public: s.hostKeyPublic },
    ...(s.prepareScript
      ? {
          write_files: [
            {
              path: "/var/lib/arrowhead/prepare.sh",
              permissions: "0700",
              content: s.prepareScript,
            },
          ],
          runcmd: [["/bin/bash", "/var/lib/arrowhead/prepare.sh"]],
        }
      : {}),
  };
  return "#cloud-config\n" + JSON.stringify(doc, null, 2) + "\n";
}

export function metaData(s: SeedSpec): string {
  return JSON.stringify({ "instance-id": s.instanceId, "local-hostname": s.hostname }, null, 2);
}

/** Network config version 2: NICs matched by MAC, so PCI order and naming schemes do not matter. */
export function networkConfig(s: SeedSpec): string {
  const doc = {
    version: 2,
    ethernets: {
      eth0: { match: { macaddress: s.publicMac }, "set-name": "eth0", dhcp4: true },
      eth1: {
        match: { macaddress: s.privateMac },
        "set-name": "eth1",
        dhcp4: false,
        addresses: [s.privateCidr],
      },
    },
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

/** Which ISO tool this host has, in order of preference, with the Debian package to install. */
export function findIsoTool(has: (cmd: string) => boolean = commandExists): {
  cmd: string;
  prefix: string[];
} {
  if (has("genisoimage")) return { cmd: "genisoimage", prefix: [] };
  if (has("xorriso")) return { cmd: "xorriso", prefix: ["-as", "mkisofs"] };
  throw new Error(
    "making the cloud-init seed ISO needs genisoimage or xorriso: apt-get install genisoimage",
  );
}

function commandExists(cmd: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .some((d) => d && fs.existsSync(path.join(d, cmd)));
}

/**
 * Writes the three documents into `dir` and packs them as `iso`. Both hold the host's private
 * key, so both are readable by the owner only.
 */
export function writeSeedIso(s: SeedSpec, dir: string, iso: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: [string, string][] = [
    ["user-data", userData(s)],
    ["meta-data", metaData(s)],
    ["network-config", networkConfig(s)],
  ];
  for (const [name, text] of files) {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
  }
  const tool = findIsoTool();
  const fd = fs.openSync(iso, "w", 0o600);
  fs.closeSync(fd);
  try {
    execFileSync(
      tool.cmd,
      [
        ...tool.prefix,
        "-quiet",
        "-output",
        iso,
        "-volid",
        "cidata",
        "-joliet",
        "-rock",
        ...files.map(([name]) => path.join(dir, name)),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
    throw new Error(`${tool.cmd} could not build the cloud-init seed ${iso}: ${stderr}`);
  }
}
