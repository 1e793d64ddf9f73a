// User data shared by every cloud: a shell script (cloud-init runs it as user data on AWS, Azure,
// DigitalOcean and QEMU; GCP runs it as its startup-script) that makes the host installable.
// Everything ScaleIO-specific stays in the installer; this only prepares the OS.
import type { OsName } from "../machine";

export interface UserDataOptions {
  os: OsName;
  hostname: string;
  /** Replacement for mirrorlist.centos.org, which is gone since CentOS 7's end of life. */
  centos7VaultUrl: string;
}

export function userData(opts: UserDataOptions): string {
  const lines = [
    "#!/bin/bash",
    "# Arrowhead host preparation (the installer re-checks all of it over SSH).",
    "set -euo pipefail",
    `hostnamectl set-hostname ${opts.hostname}`,
  ];
  if (opts.os === "centos7") {
    lines.push(
      "# CentOS 7 reached end of life on 2024-06-30: its mirrorlist is gone, packages live on the vault.",
      "for f in /etc/yum.repos.d/CentOS-*.repo; do",
      '  [ -e "$f" ] || continue',
      "  sed -i -e 's/^mirrorlist=/#mirrorlist=/' \\",
      `         -e 's|^#\\?baseurl=http://mirror.centos.org/centos/$releasever|baseurl=${opts.centos7VaultUrl}|' "$f"`,
      "done",
    );
  }
  lines.push(
    "# The storage cluster must not lose its devices to a kernel the SDC's scini module does not match.",
    "if [ -f /etc/yum.conf ]; then grep -q '^exclude=kernel' /etc/yum.conf || echo 'exclude=kernel*' >> /etc/yum.conf; fi",
    "",
  );
  return lines.join("\n");
}
