// Stage "VolumePlugin": the Docker volume plugin "scaleio" (driver/) on a Docker host. The
// binary built on this machine (plugin-build.ts) is staged like the RPMs (root-only staging
// folder, see upload.ts) and installed at /usr/local/bin after root hashed the staged copy; the root-only config file names the gateway (the gateway node's
// private address, 443), the MDM admin login the gateway's REST API takes, the system, domain
// and pool, and how to trust the gateway's certificate; a systemd unit ordered before Docker
// runs it. One query finds what is there (binary, config, CA file and unit hashes, the unit's
// state, the socket); only what differs is written, and the service restarts only when its
// binary, config or unit changed. The password travels on stdin, never in a command line.
import type { StageName } from "../registry";
import { createHash, X509Certificate } from "crypto";
import * as path from "path";
import { SECRET_VARS, waitFor, type StageContext } from "../context";
import { fetchCertificate } from "../gateway-api";
import { ensurePluginBinary, PLUGIN_BINARY_NAME, type PluginBinary } from "../plugin-build";
import { q } from "../shell";
import { volumePluginPool } from "../pools";
import { gatewayNode } from "../spec";
import { installStaged, stagedPath } from "../upload";
import { GATEWAY_PORT } from "./gateway";

export const STEP: StageName = "VolumePlugin";
export const PLUGIN_BIN = `/usr/local/bin/${PLUGIN_BINARY_NAME}`;
export const PLUGIN_DIR = "/etc/scaleio-volume-plugin";
export const PLUGIN_CONFIG = `${PLUGIN_DIR}/config.json`;
export const PLUGIN_CA = `${PLUGIN_DIR}/gateway-ca.pem`;
export const PLUGIN_UNIT = "scaleio-volume-plugin.service";
export const PLUGIN_UNIT_PATH = `/etc/systemd/system/${PLUGIN_UNIT}`;
export const PLUGIN_SOCKET = "/run/docker/plugins/scaleio.sock";
/** Where the plugin mounts its volumes (the driver's default mountRoot). */
export const PLUGIN_MOUNT_ROOT = "/var/lib/scaleio-volume-plugin/mounts";
/** The upload is staged here (root-only), then hashed and installed as root. */
export const PLUGIN_STAGING_NAME = `bin/${PLUGIN_BINARY_NAME}`;
export const PLUGIN_STAGING = stagedPath(PLUGIN_STAGING_NAME);
/** How long the socket may take to appear after a (re)start. */
const SOCKET_WAIT_MS = 60_000;

/** The unit: Wants, never Requires, on Docker, so a plugin restart never restarts Docker. */
export function pluginUnitText(): string {
  return [
    "# Written by Arrowhead: the Docker volume plugin for ScaleIO volumes (driver scaleio).",
    "[Unit]",
    "Description=Docker volume plugin for ScaleIO volumes (driver scaleio)",
    "After=network-online.target scini.service",
    "Wants=network-online.target",
    "Before=docker.service",
    "",
    "[Service]",
    `ExecStart=${PLUGIN_BIN} -config ${PLUGIN_CONFIG}`,
    "Restart=always",
    "RestartSec=2",
    "",
    "[Install]",
    "WantedBy=multi-user.target docker.service",
    "",
  ].join("\n");
}

/** The config file's settings except the password (see driver/internal/config/config.go). */
export interface PluginSettings {
  gateway: string;
  user: string;
  system: string;
  protectionDomain: string;
  storagePool: string;
  /** Trust this certificate file (when the gateway's certificate names its address). */
  caFile?: string;
  /** Else pin the gateway's certificate: sha256 of its DER, lower-case hex. */
  gatewayCertSha256?: string;
}

const PASSWORD_MARK = "@@arrowhead-password@@";

/**
 * The config file as the text before and after the password's JSON-escaped value: the host
 * writes head, the password (read from stdin and escaped there), tail. Pure.
 */
export function pluginConfigParts(s: PluginSettings): { head: string; tail: string } {
  const obj: Record<string, unknown> = {
    gateway: s.gateway,
    user: s.user,
    password: PASSWORD_MARK,
    system: s.system,
    protectionDomain: s.protectionDomain,
    storagePool: s.storagePool,
  };
  if (s.caFile) obj.caFile = s.caFile;
  if (s.gatewayCertSha256) obj.gatewayCertSha256 = s.gatewayCertSha256;
  const [head, tail] = (JSON.stringify(obj, null, 2) + "\n").split(PASSWORD_MARK);
  return { head, tail };
}

/** The whole config file with `password` in it, to compare hashes with the host's. Pure. */
export function pluginConfigText(s: PluginSettings, password: string): string {
  const { head, tail } = pluginConfigParts(s);
  return head + JSON.stringify(password).slice(1, -1) + tail;
}

/**
 * The shell that writes the config file root-only (directory 0700, file 0600) through a
 * temporary file and a rename. The password comes from $MDM_PASSWORD (stdin, see ssh.ts) and
 * is JSON-escaped by sed (`\` and `"`: the only characters an MDM password can hold that JSON
 * escapes, see `passwordFitsConfig`).
 */
export function writeConfigScript(s: PluginSettings): string {
  const { head, tail } = pluginConfigParts(s);
  const tmp = `${PLUGIN_CONFIG}.tmp`;
  return (
    `umask 077 && mkdir -p ${PLUGIN_DIR} && chmod 700 ${PLUGIN_DIR} && ` +
    `pw=$(printf '%s' "$${SECRET_VARS.mdmPassword}" | sed -e 's/[\\\\"]/\\\\&/g') && ` +
    `printf '%s%s%s' ${q(head)} "$pw" ${q(tail)} > ${tmp} && chmod 600 ${tmp} && mv -f ${tmp} ${PLUGIN_CONFIG}`
  );
}

/** Whether `password` can go into the config as the host's sed escapes it (no control characters). */
export function passwordFitsConfig(password: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f]/.test(password);
}

/**
 * How the plugin trusts the gateway: the gateway's own certificate as caFile when it names the
 * address the plugin connects to (Go checks the name); otherwise that certificate pinned by its
 * sha256 (`gatewayCertSha256`: the plugin verifies exactly it). Never unchecked. Pure.
 */
export function gatewayTrust(
  certPem: string,
  address: string,
): { caFile: boolean; sha256: string; reason: string } {
  const cert = new X509Certificate(certPem);
  const sha256 = cert.fingerprint256.replace(/:/g, "").toLowerCase();
  if (cert.checkIP(address) !== undefined || cert.checkHost(address) !== undefined)
    return { caFile: true, sha256, reason: `the gateway's certificate names ${address}` };
  return {
    caFile: false,
    sha256,
    reason:
      `the gateway's certificate (${cert.subject.replace(/\n/g, ", ")}) does not name ${address}, ` +
      `so the plugin pins it by its sha256 (${sha256.slice(0, 16)}...)`,
  };
}

/** What one query finds on a host. */
export interface PluginProbe {
  /** sha256 of the installed binary, config, CA file and unit ("" when absent). */
  bin: string;
  config: string;
  ca: string;
  unit: string;
  /** Modes: the directory's ("700") and the config file's ("600 root"). */
  dirMode: string;
  configMode: string;
  enabled: string;
  active: string;
  socket: boolean;
}

/** The probe: one command printing key=value lines. */
export function pluginProbeScript(): string {
  const sha = (k: string, f: string) =>
    `echo "${k}=$(sha256sum ${q(f)} 2>/dev/null | cut -d' ' -f1)"`;
  return [
    sha("bin", PLUGIN_BIN),
    sha("config", PLUGIN_CONFIG),
    sha("ca", PLUGIN_CA),
    sha("unit", PLUGIN_UNIT_PATH),
    `echo "dirMode=$(stat -c '%a' ${PLUGIN_DIR} 2>/dev/null)"`,
    `echo "configMode=$(stat -c '%a %U' ${PLUGIN_CONFIG} 2>/dev/null)"`,
    `systemctl show -p UnitFileState,ActiveState ${PLUGIN_UNIT} 2>/dev/null` +
      ` | sed -n -e 's/^UnitFileState=/enabled=/p' -e 's/^ActiveState=/active=/p'`,
    `[ -S ${PLUGIN_SOCKET} ] && echo socket=1`,
    "true",
  ].join("\n");
}

/** Parses pluginProbeScript's output. Pure. */
export function parsePluginProbe(out: string): PluginProbe {
  const kv = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const get = (k: string) => kv.get(k) ?? "";
  const hex = (k: string) => (/^[0-9a-f]{64}$/.test(get(k)) ? get(k) : "");
  return {
    bin: hex("bin"),
    config: hex("config"),
    ca: hex("ca"),
    unit: hex("unit"),
    dirMode: get("dirMode"),
    configMode: get("configMode"),
    enabled: get("enabled"),
    active: get("active"),
    socket: get("socket") === "1",
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Shell that writes `content` (not secret) to `file` atomically, mode 0644. */
function writeFile(file: string, content: string): string {
  const b64 = Buffer.from(content).toString("base64");
  return (
    `mkdir -p ${q(path.posix.dirname(file))} && echo ${b64} | base64 -d > ${q(file + ".tmp")} && ` +
    `chmod 644 ${q(file + ".tmp")} && mv -f ${q(file + ".tmp")} ${q(file)}`
  );
}

/** The plugin's settings for this cluster and how they trust the gateway (one query per run). */
export async function settingsFor(
  ctx: StageContext,
  host: string,
): Promise<{
  settings: PluginSettings;
  caPem?: string;
}> {
  const gw = gatewayNode(ctx.spec.machines);
  if (!gw)
    throw new Error(
      `[${host}] ${STEP}: no node has role "gateway": the volume plugin talks to the gateway. ` +
        "Give one node the gateway role, or turn the plugin off (arrowhead:volumePlugin: false).",
    );
  const address = gw.privateAddress;
  const pem = await ctx.memo(`plugin-gateway-cert:${gw.name}`, async () =>
    fetchCertificate(await ctx.session(gw.name), GATEWAY_PORT, ctx.log(gw.name, STEP)),
  );
  const trust = gatewayTrust(pem, address);
  void ctx.memo(`plugin-trust-note:${gw.name}`, async () =>
    ctx.log(gw.name, STEP).info(`volume plugin trust: ${trust.reason}`),
  );
  const settings: PluginSettings = {
    gateway: `https://${address}:${GATEWAY_PORT}`,
    // The REST API's /api/login takes the MDM's admin user (the gateway passes it to the MDM).
    user: "admin",
    system: ctx.spec.clusterName,
    // The pool a `docker volume create` without `-o pool=` uses (volumePluginPool).
    protectionDomain: volumePluginPool(ctx.spec).protectionDomain,
    storagePool: volumePluginPool(ctx.spec).name,
    ...(trust.caFile ? { caFile: PLUGIN_CA } : { gatewayCertSha256: trust.sha256 }),
  };
  return { settings, caPem: trust.caFile ? pem : undefined };
}

/** The binary this run installs: given in the spec (built at preflight), else built now. */
export function pluginBinaryOf(ctx: StageContext): PluginBinary {
  return ctx.spec.volumePluginBinary ?? ensurePluginBinary();
}

export interface VolumePluginResult {
  node: string;
  /** Whether the binary, config, CA file or unit changed (and the service was restarted). */
  restarted: boolean;
}

/** Install, configure, start and verify the plugin on `host`; changes only what differs. */
export async function setupVolumePlugin(
  ctx: StageContext,
  host: string,
): Promise<VolumePluginResult> {
  await ctx.step(host, STEP);
  if (!passwordFitsConfig(ctx.spec.mdmPassword))
    throw new Error(
      `[${host}] ${STEP}: mdmPassword holds a control character, which the plugin's JSON config ` +
        "cannot carry as written; choose an MDM password without control characters.",
    );
  const bin = pluginBinaryOf(ctx);
  const [p, { settings, caPem }] = await Promise.all([
    ctx
      .run(host, STEP, pluginProbeScript(), { quiet: true })
      .then((r) => parsePluginProbe(r.stdout)),
    settingsFor(ctx, host),
  ]);
  const run = (cmd: string, o: { secrets?: string[] } = {}) =>
    ctx.run(host, STEP, cmd, { change: true, ...o });

  let restart = await ensureBinary(ctx, host, p, bin);
  if (caPem && p.ca !== sha256(caPem)) {
    await run(`umask 077 && mkdir -p ${PLUGIN_DIR} && ${writeFile(PLUGIN_CA, caPem)}`);
    restart = true;
  }
  if (p.config !== sha256(pluginConfigText(settings, ctx.spec.mdmPassword))) {
    await ctx.step(host, `${STEP}:config`);
    await run(writeConfigScript(settings), { secrets: [SECRET_VARS.mdmPassword] });
    restart = true;
  } else if (p.dirMode !== "700" || p.configMode !== "600 root") {
    // Same content, loosened modes: the plugin refuses a config others can read.
    await run(
      `chown root:root ${PLUGIN_DIR} ${PLUGIN_CONFIG} && chmod 700 ${PLUGIN_DIR} && chmod 600 ${PLUGIN_CONFIG}`,
    );
  }
  if (p.unit !== sha256(pluginUnitText())) {
    await run(`${writeFile(PLUGIN_UNIT_PATH, pluginUnitText())} && systemctl daemon-reload`);
    restart = true;
  }
  if (p.enabled !== "enabled") await run(`systemctl enable ${PLUGIN_UNIT}`);
  const started = p.active !== "active";
  if (started) await run(`systemctl start ${PLUGIN_UNIT}`);
  else if (restart) await run(`systemctl restart ${PLUGIN_UNIT}`);
  if (!started && !restart && p.socket) return { node: host, restarted: false };
  await verifyPlugin(ctx, host, settings);
  ctx
    .log(host, STEP)
    .info(`volume plugin ${started ? "started" : "restarted"}; -check-config passed`);
  return { node: host, restarted: true };
}

/** The plugin's binary staged and installed unless the host has this one; true when installed. */
async function ensureBinary(
  ctx: StageContext,
  host: string,
  p: PluginProbe,
  bin: PluginBinary,
): Promise<boolean> {
  if (p.bin === bin.sha256) return false;
  await ctx.step(host, `${STEP}:binary`);
  const files = [{ local: bin.path, name: PLUGIN_STAGING_NAME }];
  if ((await ctx.upload(host, STEP, files)) > 0)
    ctx.record(host, STEP, `upload ${PLUGIN_BINARY_NAME}`);
  await installStaged(
    ctx,
    host,
    STEP,
    { file: PLUGIN_STAGING, sha256: bin.sha256 },
    `install -m 0755 -o root -g root ${PLUGIN_STAGING} ${PLUGIN_BIN}.tmp && mv -f ${PLUGIN_BIN}.tmp ${PLUGIN_BIN}`,
  );
  return true;
}

/** The plugin's socket is there and `-check-config` passes (gateway, login, this host's SDC). */
async function verifyPlugin(
  ctx: StageContext,
  host: string,
  settings: PluginSettings,
): Promise<void> {
  await ctx.step(host, `${STEP}:verify`);
  const journal = `journalctl -u ${PLUGIN_UNIT} -n 50 --no-pager`;
  await waitFor(
    ctx,
    `[${host}] ${STEP}: the plugin's socket ${PLUGIN_SOCKET} to appear (see \`${journal}\` on ${host})`,
    SOCKET_WAIT_MS,
    async () =>
      (await ctx.run(host, STEP, `test -S ${PLUGIN_SOCKET}`, { check: false, quiet: true }))
        .code === 0
        ? true
        : undefined,
  );
  const check = `${PLUGIN_BIN} -config ${PLUGIN_CONFIG} -check-config`;
  const r = await ctx.run(host, STEP, check, { check: false, quiet: true, timeoutMs: 120_000 });
  if (r.code === 0) return;
  const why = ctx.redactor.redact(
    (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-5).join("\n"),
  );
  throw new Error(
    `[${host}] ${STEP}: ${check} failed (exit ${r.code}): ${why}\n` +
      `The plugin cannot reach the gateway at ${settings.gateway}, log in, or find this host's SDC. ` +
      `Check that the gateway answers from ${host} (curl -k ${settings.gateway}/api/version), that ` +
      `the SDC is connected (drv_cfg --query_mdms), and \`${journal}\`; then re-run.`,
  );
}

/**
 * Undo setupVolumePlugin on an adopted host: stop and disable the unit, remove the binary, the
 * config folder, the unit and the uploaded copy (the plugin's state in /var/lib stays, like the
 * volumes). With `refuseMounted`, a plugin that still has volumes mounted (running containers)
 * is left alone with an error saying what to stop.
 */
export async function teardownVolumePlugin(
  ctx: StageContext,
  host: string,
  o: { refuseMounted: boolean },
): Promise<void> {
  const step = "remove";
  const probe = await ctx.run(
    host,
    step,
    `ls -d ${PLUGIN_BIN} ${PLUGIN_DIR} ${PLUGIN_UNIT_PATH} ${PLUGIN_STAGING} 2>/dev/null; ` +
      `findmnt -rn -o TARGET 2>/dev/null | grep '^${PLUGIN_MOUNT_ROOT}/' | sed 's/^/mounted=/'; true`,
    { quiet: true },
  );
  const lines = probe.stdout.split("\n").filter(Boolean);
  const mounted = lines.filter((l) => l.startsWith("mounted=")).map((l) => l.slice(8));
  if (lines.length === mounted.length) return;
  if (o.refuseMounted && mounted.length > 0)
    throw new Error(
      `[${host}] ${step}: the volume plugin still has ${mounted.length} volume(s) mounted ` +
        `(${mounted.join(", ")}): containers use them. Stop those containers (docker ps), then ` +
        "re-run; removing the plugin now would leave their file systems mounted.",
    );
  await ctx.run(
    host,
    step,
    `systemctl disable --now ${PLUGIN_UNIT} 2>/dev/null; ` +
      `rm -rf ${PLUGIN_BIN} ${PLUGIN_DIR} ${PLUGIN_UNIT_PATH} ${PLUGIN_STAGING} && ` +
      "systemctl daemon-reload",
    { change: true },
  );
}
