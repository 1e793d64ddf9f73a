// What each emulator package contains and does at install time, as pure data and text: file
// names, systemd units, launchers and the RPM spec. build-rpms.ts only stages files and runs
// rpmbuild; everything a reviewer wants to compare with the real packages is here.

export type Component = "mdm" | "sds" | "sdc" | "lia" | "gateway";
export const COMPONENTS: readonly Component[] = ["mdm", "sds", "sdc", "lia", "gateway"];
export type Dist = "el7" | "el8" | "el9";

/** A ScaleIO version as the vendor writes it: `<major.minor>-<build>`, e.g. 2.0-14000.231. */
export interface ParsedVersion {
  version: string;
  release: string;
  major: number;
}

export function parseVersion(version: string): ParsedVersion {
  const m = /^(\d+)\.(\d+)-(\d+\.\d+)$/.exec(version);
  if (!m) {
    throw new Error(
      `ScaleIO version "${version}" is not of the form <major>.<minor>-<build>.<patch> ` +
        `(e.g. 2.0-14000.231 or 3.6-700.103)`,
    );
  }
  return { version: `${m[1]}.${m[2]}`, release: m[3], major: Number(m[1]) };
}

/** The vendor's file name: gateway has no dist tag from 2.0 on, everything else does. */
export function rpmFileName(component: Component, version: string, dist: Dist): string {
  const v = parseVersion(version);
  if (v.major < 2) throw new Error(`only 2.x and 3.x packages are emulated, not ${version}`);
  const tag = component === "gateway" ? "" : `.${dist}`;
  return `EMC-ScaleIO-${component}-${v.version}-${v.release}${tag}.x86_64.rpm`;
}

interface Program {
  /** Path under the component's bin directory. */
  bin: string;
  /** Python module in scaleio_emu whose main() it runs. */
  module: string;
}

interface ComponentSpec {
  programs: Program[];
  service: string;
  serviceDescription: string;
  /** Environment variable the install requires (checked in %pre, before any file lands). */
  requiredEnv?: { name: string; help: string };
  /** Extra checks run in %pre, before any file lands (a failing %pre aborts the install). */
  pre?: string;
  /** Shell run in %post (after files are installed, before the service starts). */
  post: string;
  /** Extra files outside /opt/emc/scaleio/<component> (absolute path -> symlink target). */
  links?: Record<string, string>;
  /** Files under /opt/emc/scaleio/<component> the admin edits (kept on upgrade). */
  config?: string[];
  /** Files at other absolute paths, where the vendor's package puts them. */
  extraFiles?: ExtraFile[];
}

export interface ExtraFile {
  path: string;
  content: string;
  mode: number;
  /** Edited by admins and automation: %config(noreplace), kept on upgrade. */
  config?: boolean;
}

// The SDC's driver-sync tooling, where EMC's Puppet module (thecodeteam/puppet-scaleio
// manifests/driver_sync.pp) edits and runs it. The emulator has no kernel module, so there is
// nothing to download; the scripts check what they can and say so.
const SCINI_SYNC = "/bin/emc/scaleio/scini_sync";
const DRIVER_SYNC_CONF = [
  "# driver_sync.conf (Arrowhead emulator): where update_driver_cache.sh fetches scini modules.",
  "# The emulator has no kernel module; the keys are the vendor's and are checked, not used.",
  "repo_address=ftp://ftp.emc.com",
  "repo_user=",
  "repo_password=",
  `local_dir=${SCINI_SYNC}/driver_cache/`,
  "module_sigcheck=1",
  `emc_public_gpg_key=${SCINI_SYNC}/RPM-GPG-KEY-ScaleIO`,
  `repo_public_rsa_key=${SCINI_SYNC}/scini_repo_key.pub`,
  "sync_pattern=.*",
  "",
].join("\n");
const UPDATE_DRIVER_CACHE = [
  "#!/bin/sh",
  "# update_driver_cache.sh (Arrowhead emulator): checks driver_sync.conf; there is no module to fetch.",
  `conf=${SCINI_SYNC}/driver_sync.conf`,
  `repo=$(sed -n 's/^repo_address=//p' "$conf" | tail -n 1)`,
  `dir=$(sed -n 's/^local_dir=//p' "$conf" | tail -n 1)`,
  `[ -n "$repo" ] || { echo "update_driver_cache.sh: repo_address is not set in $conf" >&2; exit 1; }`,
  `[ -n "$dir" ] || { echo "update_driver_cache.sh: local_dir is not set in $conf" >&2; exit 1; }`,
  `mkdir -p "$dir" || exit 1`,
  `echo "Arrowhead emulator: scini is a user-space daemon; no kernel module to fetch from $repo"`,
  "",
].join("\n");
const VERIFY_DRIVER = [
  "#!/bin/sh",
  "# verify_driver.sh (Arrowhead emulator): the 'driver' is the scini daemon; verified when it answers.",
  "if /opt/emc/scaleio/sdc/bin/drv_cfg --query_guid >/dev/null 2>&1; then",
  '  echo "scini is loaded and answering (Arrowhead emulator: user-space daemon)"',
  "  exit 0",
  "fi",
  'echo "verify_driver.sh: scini is not running (systemctl start scini)" >&2',
  "exit 1",
  "",
].join("\n");

const python = (comp: Component, code: string) =>
  `/usr/bin/python3 -c 'import sys; sys.path.insert(0, "/opt/emc/scaleio/${comp}/lib"); ${code}'`;

// Secrets reach python through the environment only (never argv), so `ps` never shows them.
const hashEnv = (comp: Component, env: string) =>
  python(
    comp,
    `import os; from scaleio_emu import common; print(common.hash_secret(os.environ["${env}"]))`,
  );

const needOpenssl = `command -v openssl >/dev/null 2>&1 || { echo "error: openssl is required to create the certificate: install it first" >&2; exit 1; }`;

export const SPECS: Record<Component, ComponentSpec> = {
  mdm: {
    programs: [
      { bin: "mdm", module: "mdm" },
      { bin: "cli", module: "scli" },
    ],
    service: "mdm",
    serviceDescription: "ScaleIO MDM (Arrowhead emulator)",
    requiredEnv: {
      name: "MDM_ROLE_IS_MANAGER",
      help: "set MDM_ROLE_IS_MANAGER=1 for a manager MDM (master/slave) or MDM_ROLE_IS_MANAGER=0 for a tie-breaker",
    },
    pre: `${needOpenssl}\ncase "$MDM_ROLE_IS_MANAGER" in 0|1|"") ;; *) echo "error: MDM_ROLE_IS_MANAGER must be 1 (manager) or 0 (tie-breaker), not $MDM_ROLE_IS_MANAGER" >&2; exit 1;; esac`,
    links: { "/usr/bin/scli": "/opt/emc/scaleio/mdm/bin/cli" },
    post: [
      `mkdir -p /opt/emc/scaleio/mdm/cfg /var/lib/scaleio-emu/mdm`,
      // The role is fixed at install, as in the real package; upgrades keep the old answer.
      `if [ -n "$MDM_ROLE_IS_MANAGER" ] || [ ! -f /opt/emc/scaleio/mdm/cfg/conf.txt ]; then`,
      `  echo "actor_role_is_manager=$MDM_ROLE_IS_MANAGER" > /opt/emc/scaleio/mdm/cfg/conf.txt`,
      `fi`,
      `c=/opt/emc/scaleio/mdm/cfg/mdm_management_certificate.pem`,
      `k=/opt/emc/scaleio/mdm/cfg/mdm_management_key.pem`,
      `if [ ! -f "$c" ]; then`,
      `  (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$(hostname)-mdm" -keyout "$k" -out "$c" >/dev/null 2>&1) || { echo "error: openssl could not create the MDM certificate" >&2; exit 1; }`,
      `fi`,
    ].join("\n"),
  },
  sds: {
    programs: [{ bin: "sds", module: "sds" }],
    service: "sds",
    serviceDescription: "ScaleIO SDS (Arrowhead emulator)",
    post: `mkdir -p /var/lib/scaleio-emu/sds`,
  },
  sdc: {
    programs: [
      { bin: "scini", module: "sdc" },
      { bin: "drv_cfg", module: "drv_cfg" },
    ],
    service: "scini",
    serviceDescription: "ScaleIO SDC scini driver (Arrowhead emulator)",
    extraFiles: [
      {
        path: `${SCINI_SYNC}/driver_sync.conf`,
        content: DRIVER_SYNC_CONF,
        mode: 0o600,
        config: true,
      },
      { path: `${SCINI_SYNC}/update_driver_cache.sh`, content: UPDATE_DRIVER_CACHE, mode: 0o755 },
      { path: `${SCINI_SYNC}/verify_driver.sh`, content: VERIFY_DRIVER, mode: 0o755 },
    ],
    // Checked in %pre: a failing %post does not stop rpm from installing the package.
    pre: [
      `if [ -n "$MDM_IP" ] && ! echo "$MDM_IP" | grep -Eq '^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+(,[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+)*$'; then`,
      `  echo "error: MDM_IP=$MDM_IP is not a comma-separated list of IPv4 addresses (MDM_IP=ip1,ip2)" >&2; exit 1`,
      `fi`,
    ].join("\n"),
    post: [
      `mkdir -p /etc/emc/scaleio /var/lib/scaleio-emu/sdc`,
      `if [ -n "$MDM_IP" ]; then`,
      `  { echo "## Generated by the SDC package"; echo "mdm $MDM_IP"; } > /etc/emc/scaleio/drv_cfg.txt`,
      `elif [ ! -f /etc/emc/scaleio/drv_cfg.txt ]; then`,
      `  echo "## Generated by the SDC package; add: mdm <ip1>,<ip2>" > /etc/emc/scaleio/drv_cfg.txt`,
      `fi`,
    ].join("\n"),
  },
  lia: {
    programs: [{ bin: "lia", module: "lia" }],
    service: "lia",
    serviceDescription: "ScaleIO LIA (Arrowhead emulator)",
    requiredEnv: { name: "TOKEN", help: "set TOKEN=<LIA password>" },
    post: [
      `mkdir -p /opt/emc/scaleio/lia/cfg`,
      `if [ -n "$TOKEN" ]; then`,
      `  (umask 077; ${hashEnv("lia", "TOKEN")} > /opt/emc/scaleio/lia/cfg/token.hash) || exit 1`,
      `fi`,
    ].join("\n"),
  },
  gateway: {
    programs: [{ bin: "gateway", module: "gateway" }],
    service: "scaleio-gateway",
    serviceDescription: "ScaleIO REST gateway (Arrowhead emulator)",
    requiredEnv: {
      name: "GATEWAY_ADMIN_PASSWORD",
      help: "set GATEWAY_ADMIN_PASSWORD=<gateway admin password>",
    },
    config: ["webapps/ROOT/WEB-INF/classes/gatewayUser.properties"],
    pre: needOpenssl,
    post: [
      `d=/opt/emc/scaleio/gateway`,
      `p=$d/webapps/ROOT/WEB-INF/classes/gatewayUser.properties`,
      `mkdir -p $d/conf/certificates $d/webapps/ROOT/WEB-INF/classes/certificates`,
      `if [ -n "$GATEWAY_ADMIN_PASSWORD" ]; then`,
      `  h=$(${hashEnv("gateway", "GATEWAY_ADMIN_PASSWORD")}) || exit 1`,
      `  grep -v '^gateway-admin.password=' "$p" > "$p.new" || true`,
      `  echo "gateway-admin.password=$h" >> "$p.new" && chmod 600 "$p.new" && mv "$p.new" "$p"`,
      `fi`,
      `if [ ! -f $d/conf/certificates/gateway.crt ]; then`,
      `  (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$(hostname)" -keyout $d/conf/certificates/gateway.key -out $d/conf/certificates/gateway.crt >/dev/null 2>&1) || { echo "error: openssl could not create the gateway certificate" >&2; exit 1; }`,
      `fi`,
    ].join("\n"),
  },
};

/** Initial gatewayUser.properties: no MDM and certificate checks on, like a fresh real gateway. */
export const GATEWAY_PROPERTIES = [
  "# Written by the EMC-ScaleIO-gateway package (Arrowhead emulator).",
  "# The gateway answers nothing about the cluster until mdm.ip.addresses is set and the MDM",
  "# certificate is trusted (security.bypass_certificate_check=true or /api/trustHostCertificate/Mdm).",
  "mdm.ip.addresses=",
  "security.bypass_certificate_check=false",
  "",
].join("\n");

export function launcher(component: Component, module: string): string {
  return [
    "#!/usr/bin/python3",
    `"""ScaleIO ${component} ${module} (Arrowhead emulator)."""`,
    "import os",
    "import sys",
    "",
    'sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "lib"))',
    `from scaleio_emu import ${module}  # noqa: E402`,
    "",
    `sys.exit(${module}.main())`,
    "",
  ].join("\n");
}

export function unitFile(component: Component): string {
  const spec = SPECS[component];
  const main = spec.programs[0].bin;
  return [
    "[Unit]",
    `Description=${spec.serviceDescription}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `ExecStart=/opt/emc/scaleio/${component}/bin/${main}`,
    "Restart=always",
    "RestartSec=2",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

const systemdUp = `[ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1`;

/** Shell scriptlets by RPM phase; $1 is RPM's instance count (0 = erase, 1 = install). */
export function scriptlets(
  component: Component,
): Record<"pre" | "post" | "preun" | "postun", string> {
  const spec = SPECS[component];
  const env = spec.requiredEnv;
  const service = `${spec.service}.service`;
  return {
    pre: [
      ...(env
        ? [
            `if [ "$1" = 1 ] && [ -z "$${env.name}" ]; then`,
            `  echo "error: EMC-ScaleIO-${component}: ${env.name} is not set: ${env.help}" >&2`,
            `  exit 1`,
            `fi`,
          ]
        : []),
      // The emulator's programs are Python: the one thing it needs that the real packages do not.
      `[ -x /usr/bin/python3 ] || { echo "error: EMC-ScaleIO-${component} (emulator) needs /usr/bin/python3: install python3 first" >&2; exit 1; }`,
      ...(spec.pre ? [spec.pre] : []),
      `exit 0`,
    ].join("\n"),
    post: [
      "set -e",
      spec.post,
      `if ${systemdUp}; then`,
      `  systemctl daemon-reload`,
      `  systemctl enable ${service} >/dev/null 2>&1`,
      `  systemctl restart ${service}`,
      `fi`,
      `exit 0`,
    ].join("\n"),
    preun: [
      `if [ "$1" = 0 ]; then`,
      `  if [ "$I_AM_SURE" != 1 ]; then`,
      `    echo "error: refusing to remove EMC-ScaleIO-${component}: this removes ScaleIO from this host. Set I_AM_SURE=1 to uninstall (I_AM_SURE=1 rpm -e EMC-ScaleIO-${component})" >&2`,
      `    exit 1`,
      `  fi`,
      `  if ${systemdUp}; then systemctl disable --now ${service} >/dev/null 2>&1 || true; fi`,
      `fi`,
      `exit 0`,
    ].join("\n"),
    postun: `if ${systemdUp}; then systemctl daemon-reload || true; fi\nexit 0`,
  };
}

/**
 * Lua wrappers around the shell scriptlets: an `sh` scriptlet would make rpmbuild add a
 * `Requires: /bin/sh`, which a Debian lab host's empty RPM database cannot satisfy.
 */
function luaScriptlet(phase: string, shell: string): string {
  if (shell.includes("]==]")) throw new Error("scriptlet contains the Lua long-string terminator");
  return [
    `%${phase} -p <lua>`,
    `local ok = rpm.execute("/bin/sh", "-c", [==[${shell}]==], "${phase}", tostring(arg[2]))`,
    `if not ok then error("${phase} scriptlet failed (see the message above)", 0) end`,
  ].join("\n");
}

export interface SpecInput {
  component: Component;
  version: string;
  dist: Dist;
  /** Directory rpmbuild copies into the buildroot. */
  stagedRoot: string;
  /** Absolute paths of every file and symlink staged, and the directories the package owns. */
  files: string[];
  dirs: string[];
}

export function renderSpec(input: SpecInput): string {
  const v = parseVersion(input.version);
  const spec = SPECS[input.component];
  const s = scriptlets(input.component);
  const configs = new Set([
    ...(spec.config ?? []).map((f) => `/opt/emc/scaleio/${input.component}/${f}`),
    ...(spec.extraFiles ?? []).filter((f) => f.config).map((f) => f.path),
  ]);
  for (const text of Object.values(s)) {
    // rpm expands macros inside scriptlets; a stray % would silently change the script.
    if (text.includes("%")) throw new Error(`scriptlet of ${input.component} contains a %`);
  }
  return [
    `Name: EMC-ScaleIO-${input.component}`,
    `Version: ${v.version}`,
    `Release: ${v.release}${input.component === "gateway" ? "" : `.${input.dist}`}`,
    `Summary: Arrowhead test emulator of EMC ScaleIO ${input.component} (not the EMC product)`,
    `License: Apache-2.0`,
    `BuildArch: x86_64`,
    `AutoReqProv: no`,
    `%define debug_package %{nil}`,
    `%define __os_install_post %{nil}`,
    `%define _build_id_links none`,
    // gzip payloads: EL7's rpm 4.11 cannot read rpm 4.18's default zstd.
    `%define _binary_payload w9.gzdio`,
    ``,
    `%description`,
    `A test double of the EMC ScaleIO ${input.component} package, built by Arrowhead's test suite.`,
    `It behaves like the real package at install time and on the network, but it is not ScaleIO.`,
    ``,
    `%install`,
    `mkdir -p %{buildroot}`,
    `cp -a ${input.stagedRoot}/. %{buildroot}/`,
    ``,
    luaScriptlet("pre", s.pre),
    luaScriptlet("post", s.post),
    luaScriptlet("preun", s.preun),
    luaScriptlet("postun", s.postun),
    ``,
    `%files`,
    ...input.dirs.map((d) => `%dir ${d}`),
    ...input.files.map((f) => (configs.has(f) ? `%config(noreplace) ${f}` : f)),
    ``,
  ].join("\n");
}
