// The ScaleIO services of a node running and enabled: each package's systemd unit as the
// packages leave it (active, and enabled so that it starts at boot). A refresh reports a unit
// stopped or disabled by hand (observe/hosts.ts), and the next `pulumi up` starts or enables
// exactly those units (HostPackages), nothing when all run.
import type { StageContext } from "../context";
import type { Component } from "../rpms";
import { q } from "../shell";

/**
 * The systemd unit (without `.service`) of each ScaleIO package's service: `mdm` (the 1.3x
 * tie-breaker package's is `tb`), `sds`, `scini` (the SDC driver), `lia`, `scaleio-gateway`
 * (reference §5: service scini; the emulator's packages install the same names,
 * test/emulator/spec.ts SPECS).
 */
export const SERVICE_UNIT: Record<Component, string> = {
  mdm: "mdm",
  tb: "tb",
  sds: "sds",
  sdc: "scini",
  lia: "lia",
  gateway: "scaleio-gateway",
};

/** One unit's state as `systemctl show` gives it (LoadState, UnitFileState, ActiveState). */
export interface UnitState {
  /** Without `.service`. */
  unit: string;
  /** "loaded", "not-found", "masked", ... */
  load: string;
  /** "enabled", "disabled", "static", "generated", "masked", ... ("" for SysV scripts on old systemd). */
  enabled: string;
  /** "active", "inactive", "failed", "activating", ... */
  active: string;
}

/** Read-only: one `systemctl show` block per unit (units without `.service`, validated names). */
export function unitStatesQuery(units: readonly string[]): string {
  for (const u of units)
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(u)) throw new Error(`not a unit name: "${u}"`);
  const args = units.map((u) => q(`${u}.service`)).join(" ");
  return `systemctl show -p Id,LoadState,UnitFileState,ActiveState ${args}`;
}

/** unitStatesQuery's output -> unit (without `.service`) -> its state. Pure. */
export function parseUnitStates(out: string): Map<string, UnitState> {
  const states = new Map<string, UnitState>();
  for (const block of out.replace(/\r/g, "").split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    const id = kv.get("Id");
    if (!id) continue;
    const unit = id.replace(/\.service$/, "");
    states.set(unit, {
      unit,
      load: kv.get("LoadState") ?? "",
      enabled: kv.get("UnitFileState") ?? "",
      active: kv.get("ActiveState") ?? "",
    });
  }
  return states;
}

/** What to do about one unit: start it, enable it, or nothing that `up` can do (`refusal`). */
export interface UnitFix {
  unit: string;
  start: boolean;
  enable: boolean;
  /** Set when only a person can fix it (unit masked or missing): the problem and the fix. */
  refusal?: string;
}

/** Whether `systemctl`'s ActiveState (or `is-active` answer) is a running service's: "active", "reloading". */
export function unitRunning(active: string): boolean {
  return active === "active" || active === "reloading";
}

/**
 * What the unit needs, or undefined when it runs and is enabled. "static", "generated" and
 * the like start by other means and cannot be enabled: only "disabled" is. Pure.
 */
export function unitFix(host: string, s: UnitState): UnitFix | undefined {
  const unit = s.unit;
  if (s.load === "masked" || s.enabled === "masked")
    return {
      unit,
      start: false,
      enable: false,
      refusal: `service ${unit} is masked; run \`systemctl unmask ${unit}\` on ${host}, then \`pulumi up\``,
    };
  if (s.load === "not-found")
    return {
      unit,
      start: false,
      enable: false,
      refusal: `service ${unit} has no unit (${unit}.service not found) though its package is installed; reinstall the package on ${host}`,
    };
  const start = !unitRunning(s.active);
  const enable = s.enabled === "disabled";
  return start || enable ? { unit, start, enable } : undefined;
}

/** The drift line of a unit that needs `fix`: "node2: service sds is inactive (stopped); ...". Pure. */
export function unitDrift(host: string, s: UnitState, fix: UnitFix): string {
  if (fix.refusal) return `${host}: ${fix.refusal}`;
  const what = [
    ...(fix.start ? [`${s.active || "not running"} (stopped)`] : []),
    ...(fix.enable ? ["disabled (does not start at boot)"] : []),
  ].join(" and ");
  const does = [...(fix.start ? ["starts"] : []), ...(fix.enable ? ["enables"] : [])].join(" and ");
  return `${host}: service ${s.unit} is ${what}; \`pulumi up\` ${does} it`;
}

/** Each of `units` that needs something, with its drift line (units `systemctl` did not list are skipped). */
export function servicesDrift(
  host: string,
  units: readonly string[],
  states: Map<string, UnitState>,
): { fix: UnitFix; line: string }[] {
  const out: { fix: UnitFix; line: string }[] = [];
  for (const u of units) {
    const s = states.get(u);
    const fix = s && unitFix(host, s);
    if (s && fix) out.push({ fix, line: unitDrift(host, s, fix) });
  }
  return out;
}

/**
 * The units of the ScaleIO packages among `components` whose service the HostPackages stage
 * keeps running: all but the gateway's, which the Gateway stage owns.
 */
export function packageServiceUnits(components: readonly Component[]): string[] {
  return components.filter((c) => c !== "gateway").map((c) => SERVICE_UNIT[c]);
}

/** The one command that starts and enables exactly what `fixes` need (`enable --now` for both). */
export function servicesRepairCommand(fixes: readonly UnitFix[]): string | undefined {
  const enable = fixes.filter((f) => f.enable).map((f) => q(`${f.unit}.service`));
  const start = fixes.filter((f) => f.start && !f.enable).map((f) => q(`${f.unit}.service`));
  const cmds = [
    ...(enable.length > 0 ? [`systemctl enable --now ${enable.join(" ")}`] : []),
    ...(start.length > 0 ? [`systemctl start ${start.join(" ")}`] : []),
  ];
  return cmds.length > 0 ? cmds.join(" && ") : undefined;
}

/**
 * Start and enable the units among `units` that are stopped or disabled on `host` (one query,
 * then one recorded change only when something is needed). Throws, before any change, for a
 * unit masked or missing, naming it and the fix. Returns the units started or enabled.
 */
export async function ensureServices(
  ctx: StageContext,
  host: string,
  step: string,
  units: readonly string[],
): Promise<string[]> {
  if (units.length === 0) return [];
  const out = await ctx.run(host, step, unitStatesQuery(units), { quiet: true, check: false });
  const needed = servicesDrift(host, units, parseUnitStates(out.stdout));
  const refused = needed.filter((n) => n.fix.refusal).map((n) => n.fix.refusal!);
  if (refused.length > 0)
    throw new Error(`[${host}] ${step}: ${refused.join("; ")}. Nothing was changed.`);
  const cmd = servicesRepairCommand(needed.map((n) => n.fix));
  if (!cmd) return [];
  for (const n of needed)
    ctx
      .log(host, step)
      .info(n.line.slice(host.length + 2).replace(/; `pulumi up` (\w+).*$/, ": $1 it"));
  await ctx.run(host, step, cmd, { change: true, timeoutMs: 5 * 60_000 });
  return needed.map((n) => n.fix.unit);
}
