// Where device-mapper-multipath runs, multipathd may claim any new block device, the SDC's
// /dev/scini* volumes included, and then the mount unit and Docker find the device busy. On
// hosts that have multipath installed, a drop-in blacklists the scini devices before the SDC
// package is installed; hosts without multipath get nothing. Asked in the prepare stage's probe.
// Syntax and defaults from Red Hat's DM Multipath guide for RHEL 7 (§4.2.2 "Blacklisting By
// Device Name": `blacklist { devnode "<regex>" }`; `config_dir`, default /etc/multipath/conf.d,
// whose *.conf files are read as part of multipath.conf). No ScaleIO document was found that
// names this blacklist; the device names (/dev/scinia, scinib, ...) are the reference's §1.
import { createHash } from "crypto";
import { q } from "../shell";

/** multipath.conf's default drop-in directory (`config_dir`, device-mapper-multipath 0.4.9+, EL7 on). */
export const MULTIPATH_CONF_DIR = "/etc/multipath/conf.d";
export const MULTIPATH_DROPIN_NAME = "arrowhead-scaleio.conf";

/** The drop-in: multipath.conf syntax, a `blacklist` section with the scini device nodes. */
export function multipathDropIn(): string {
  return [
    "# Written by Arrowhead: ScaleIO SDC volumes (/dev/scini*) belong to the scini driver;",
    "# multipathd must never claim them.",
    "blacklist {",
    '    devnode "^scini[a-z]*"',
    "}",
    "",
  ].join("\n");
}

/**
 * Read-only probe printing `installed=1` when multipathd exists, `active=<systemctl answer>`,
 * `dir=<config_dir>` (from /etc/multipath.conf, else the default) and `sha=<sha256 of our
 * drop-in, empty when absent>`.
 */
export const MULTIPATH_PROBE = [
  `if command -v multipathd >/dev/null 2>&1 || [ -x /sbin/multipathd ] || [ -x /usr/sbin/multipathd ]; then`,
  `  echo installed=1`,
  `  echo "active=$(systemctl is-active multipathd 2>/dev/null)"`,
  `  d=$(sed -n 's/^[[:space:]]*config_dir[[:space:]]*"\\{0,1\\}\\([^"[:space:]]*\\).*/\\1/p' /etc/multipath.conf 2>/dev/null | tail -1)`,
  `  d=\${d:-${MULTIPATH_CONF_DIR}}; echo "dir=$d"`,
  `  echo "sha=$(sha256sum "$d/${MULTIPATH_DROPIN_NAME}" 2>/dev/null | cut -d' ' -f1)"`,
  `fi`,
].join("\n");

/** What MULTIPATH_PROBE found: installed, running, where drop-ins go, our drop-in's sha256 ("" when absent). */
export interface MultipathProbe {
  installed: boolean;
  active: boolean;
  dir: string;
  sha: string;
}

/** Parse MULTIPATH_PROBE's `key=value` lines; empty output means multipath is not installed. */
export function parseMultipathProbe(out: string): MultipathProbe {
  const kv = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return {
    installed: kv.get("installed") === "1",
    active: kv.get("active") === "active",
    dir: kv.get("dir") || MULTIPATH_CONF_DIR,
    sha: kv.get("sha") ?? "",
  };
}

/**
 * The shell that writes the drop-in (atomically) and asks a running multipathd to reread its
 * configuration; undefined when nothing is to be done (no multipath, or the drop-in is current).
 */
export function multipathDropInScript(p: MultipathProbe): string | undefined {
  if (!p.installed) return undefined;
  const text = multipathDropIn();
  if (p.sha === createHash("sha256").update(text).digest("hex")) return undefined;
  const file = `${p.dir}/${MULTIPATH_DROPIN_NAME}`;
  const b64 = Buffer.from(text).toString("base64");
  return (
    `mkdir -p ${q(p.dir)} && echo ${b64} | base64 -d > ${q(file + ".tmp")} && mv -f ${q(file + ".tmp")} ${q(file)}` +
    (p.active ? ` && multipathd reconfigure` : "")
  );
}
