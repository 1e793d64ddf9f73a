// Read-only probes of the two services Arrowhead configures on a host: the REST gateway (its
// unit enabled, its MDM list) and the Docker volume plugin (binary, config, CA file and unit as
// the stage writes them, the unit enabled and running, its socket): what the "gateway" and
// "volumeplugin" stages would change now.
import { createHash } from "crypto";
import type { StageContext } from "../context";
import { q, sectioned, splitSections } from "../shell";
import { gatewayNode, managerIps } from "../spec";
import {
  GATEWAY_PROPERTIES,
  GATEWAY_SERVICE,
  mdmAddressesOf,
  missingManagers,
} from "../stages/gateway";
import { unitRunning } from "../stages/services";
import {
  parsePluginProbe,
  pluginConfigText,
  pluginProbeScript,
  pluginUnitText,
  PLUGIN_UNIT,
  settingsFor,
  type PluginProbe,
  type PluginSettings,
} from "../stages/volume-plugin";
import { STEP, type Observed } from "./probe";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Gateway: its service enabled (it answers after a reboot) and running, and told every manager
 * MDM's address.
 */
export async function observeGateway(ctx: StageContext, host: string): Promise<Observed> {
  const out = await ctx.run(
    host,
    STEP,
    sectioned({
      enabled: `systemctl is-enabled ${GATEWAY_SERVICE}`,
      active: `systemctl is-active ${GATEWAY_SERVICE}`,
      properties: `cat ${q(GATEWAY_PROPERTIES)}`,
    }),
    { quiet: true },
  );
  const p = splitSections(out.stdout);
  const drift: string[] = [];
  const enabled = (p.enabled?.out ?? "").trim();
  if (enabled !== "enabled")
    drift.push(
      `${host}: the gateway service ${GATEWAY_SERVICE} is not enabled (${enabled || "not found"})`,
    );
  const active = (p.active?.out ?? "").trim();
  // A service that is not installed is said above already.
  const installed = enabled !== "" && !/not-found|No such file/i.test(enabled);
  if (p.active && installed && !unitRunning(active))
    drift.push(
      `${host}: the gateway service ${GATEWAY_SERVICE} is not running (${active || "no answer"}); \`pulumi up\` starts it`,
    );
  if (p.properties?.code === 0) {
    const listed = mdmAddressesOf(p.properties.out);
    const missing = missingManagers(listed, managerIps(ctx.spec.machines));
    if (missing.length > 0)
      drift.push(`${host}: the gateway's MDM list lacks ${missing.join(", ")}`);
  }
  return { drift };
}

/** What the plugin's files should hash to (the binary only when the spec names one). */
export interface PluginWanted {
  bin?: string;
  /** Undefined when it cannot be known (the gateway's service stopped: its certificate is in it). */
  config?: string;
  ca?: string;
  unit: string;
}

/** What differs between the host's plugin (`p`) and what the stage writes (`want`). Pure. */
export function pluginDrift(host: string, p: PluginProbe, want: PluginWanted): string[] {
  const drift: string[] = [];
  const file = (what: string, have: string, wanted: string | undefined) => {
    if (wanted !== undefined && have !== wanted)
      drift.push(`${host}: the volume plugin's ${what} is ${have ? "changed" : "missing"}`);
  };
  file("binary", p.bin, want.bin);
  file("config", p.config, want.config);
  file("gateway CA file", p.ca, want.ca);
  file("unit", p.unit, want.unit);
  if (p.config && (p.dirMode !== "700" || p.configMode !== "600 root"))
    drift.push(
      `${host}: the volume plugin's config is readable by others (${p.configMode || "?"})`,
    );
  if (p.enabled !== "enabled")
    drift.push(`${host}: ${PLUGIN_UNIT} is not enabled (${p.enabled || "not found"})`);
  if (p.active !== "active")
    drift.push(
      `${host}: the volume plugin is not running (${PLUGIN_UNIT} ${p.active || "not found"})`,
    );
  else if (!p.socket) drift.push(`${host}: the volume plugin's socket is missing`);
  return drift;
}

/** The plugin's settings and the gateway CA it trusts (volume-plugin.ts settingsFor by default). */
export type PluginSettingsOf = (
  ctx: StageContext,
  host: string,
) => Promise<{ settings: PluginSettings; caPem?: string }>;

/**
 * VolumePlugin: the host's plugin against what the stage writes. The settings need the gateway's
 * certificate, fetched over the verified SSH connection (a TLS handshake, nothing written).
 * When that fails because the gateway's service is stopped (the Gateway resource reports it, and
 * `up` starts it), the config and CA file are not compared and the rest is; any other failure
 * is the probe's.
 */
export async function observeVolumePlugin(
  ctx: StageContext,
  host: string,
  settingsOf: PluginSettingsOf = settingsFor,
): Promise<Observed> {
  const [probe, found] = await Promise.all([
    ctx.run(host, STEP, pluginProbeScript(), { quiet: true }),
    settingsOf(ctx, host).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
  ]);
  if (found instanceof Error && !(await gatewayStopped(ctx))) throw found;
  const known = found instanceof Error ? undefined : found;
  const want: PluginWanted = {
    bin: ctx.spec.volumePluginBinary?.sha256,
    config: known && sha256(pluginConfigText(known.settings, ctx.spec.mdmPassword)),
    ca: known?.caPem === undefined ? undefined : sha256(known.caPem),
    unit: sha256(pluginUnitText()),
  };
  return { drift: pluginDrift(host, parsePluginProbe(probe.stdout), want) };
}

/** Whether the gateway node's service is not running (`systemctl is-active`), once per run. */
function gatewayStopped(ctx: StageContext): Promise<boolean> {
  return ctx.memo("observe:gateway-stopped", async () => {
    const gw = gatewayNode(ctx.spec.machines);
    if (!gw) return false;
    const r = await ctx.run(gw.name, STEP, `systemctl is-active ${GATEWAY_SERVICE}`, {
      quiet: true,
      check: false,
    });
    return !unitRunning(r.stdout.trim());
  });
}
