// User data shared by every cloud: a shell script (cloud-init runs it as user data on AWS, Azure,
// DigitalOcean and QEMU; GCP runs it as its startup-script) that makes the host installable.
// Everything ScaleIO-specific stays in the installer; this only prepares the OS.
import { q } from "../install/shell";
import type { OsName } from "../machine";

export interface UserDataOptions {
  os: OsName;
  hostname: string;
  /** Replacement for mirrorlist.centos.org, which is gone since CentOS 7's end of life. */
  centos7VaultUrl: string;
}

/**
 * The sed command that points a CentOS 7 repo file at `vaultUrl`. The URL is validated in config
 * (config/values.ts httpUrlProblem), and is also made harmless here whatever it holds: `\`, `|`
 * and `&` are escaped for sed's replacement and the whole expression is one single-quoted shell
 * word, so the URL can only ever become text in the repo file. A line break (which sed cannot
 * take literally) is refused.
 */
export function vaultSedCommand(vaultUrl: string): string {
  if (/[\r\n]/.test(vaultUrl))
    throw new Error("centos7VaultUrl contains a line break; it cannot go into a repo file");
  const replacement = vaultUrl.replace(/[\\|&]/g, "\\$&");
  const rewrite = `s|^#\\?baseurl=http://mirror.centos.org/centos/$releasever|baseurl=${replacement}|`;
  return `sed -i -e 's/^mirrorlist=/#mirrorlist=/' -e ${q(rewrite)} "$f"`;
}

/** The part of the first-boot script that points every CentOS-*.repo file at `vaultUrl`. */
export function vaultRewriteLines(vaultUrl: string): string[] {
  return [
    "# CentOS 7 reached end of life on 2024-06-30: its mirrorlist is gone, packages live on the vault.",
    "for f in /etc/yum.repos.d/CentOS-*.repo; do",
    '  [ -e "$f" ] || continue',
    `  ${vaultSedCommand(vaultUrl)}`,
    "done",
  ];
}

/** The first-boot script of a machine: its hostname, CentOS 7's vault, no kernel updates. */
export function userData(opts: UserDataOptions): string {
  const lines = [
    "#!/bin/bash",
    "# Arrowhead host preparation (the installer re-checks all of it over SSH).",
    "set -euo pipefail",
    `hostnamectl set-hostname ${q(opts.hostname)}`,
  ];
  if (opts.os === "centos7") lines.push(...vaultRewriteLines(opts.centos7VaultUrl));
  lines.push(
    "# The storage cluster must not lose its devices to a kernel the SDC's scini module does not match.",
    "if [ -f /etc/yum.conf ]; then grep -q '^exclude=kernel' /etc/yum.conf || echo 'exclude=kernel*' >> /etc/yum.conf; fi",
    "",
  );
  return lines.join("\n");
}
