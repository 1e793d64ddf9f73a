// Stage "HostPackages", its last step on an SDC node: the MDM addresses the SDC knows kept equal
// to the cluster's manager IPs (master + slaves). The SDC package takes them once, at install
// (MDM_IP); when managers join, leave or move (3 <-> 5 MDMs, a role moved), every SDC is told,
// as public ScaleIO automation does it: the running driver (`drv_cfg --mod_mdm_ip`,
// dell/terraform-provider-powerflex) and the config file it loads when scini starts (the same
// with `--file`, swisscom/puppet-scaleio). Each is read first and changed only when it differs.
import type { StageContext } from "../context";
import {
  DRV_CFG_MDM_LINES,
  drvCfg,
  modMdmIp,
  parseDrvCfgMdmLines,
  parseDrvQueryMdms,
} from "../scli";
import { sectioned, splitSections } from "../shell";
import { managerIps } from "../spec";

/** What an SDC host holds: the running driver's MDM lists and its config file's `mdm` lines. */
export interface SdcMdms {
  /** One list per MDM cluster the driver knows; undefined when the driver did not answer. */
  live?: string[][];
  /** The config file found (DRV_CFG_FILES), undefined when there is none. */
  file?: string;
  /** Its `mdm` lines, one list each. */
  fileLines: string[][];
}

/** One read-only round trip: `drv_cfg --query_mdms` and the config file's `mdm` lines. */
export const SDC_MDMS_QUERY = sectioned({
  live: drvCfg("--query_mdms"),
  file: DRV_CFG_MDM_LINES,
});

/** SDC_MDMS_QUERY's output -> SdcMdms. Pure. */
export function parseSdcMdms(out: string): SdcMdms {
  const p = splitSections(out);
  const fileOut = p.file?.out ?? "";
  return {
    live: p.live?.code === 0 ? parseDrvQueryMdms(p.live.out) : undefined,
    file: /^file (\S+)$/m.exec(fileOut)?.[1],
    fileLines: parseDrvCfgMdmLines(fileOut),
  };
}

/**
 * This cluster's list among an SDC's lists (it may know several MDM clusters): the one sharing
 * an address with `want`, else the only one there is (every manager replaced at once).
 */
export function clusterList(lists: string[][], want: string[]): string[] | undefined {
  return (
    lists.find((l) => l.some((ip) => want.includes(ip))) ??
    (lists.length === 1 ? lists[0] : undefined)
  );
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** What `sdcMdmPlan` found: the commands that make the SDC match, what differs, what cannot be fixed. */
export interface SdcMdmPlan {
  commands: string[];
  /** "its SDC knows MDMs a,b,c" / "its SDC config file F lists MDMs a,b,c": one per difference. */
  differences: string[];
  /** What `--mod_mdm_ip` cannot fix (no config file, no line of this cluster, driver silent). */
  problems: string[];
}

/** The `drv_cfg --mod_mdm_ip` commands (live, then the file) that make `s` hold `want`. Pure. */
export function sdcMdmPlan(s: SdcMdms, want: string[]): SdcMdmPlan {
  const plan: SdcMdmPlan = { commands: [], differences: [], problems: [] };
  const live = s.live === undefined ? undefined : clusterList(s.live, want);
  if (s.live === undefined)
    plan.problems.push("its SDC driver did not answer drv_cfg --query_mdms");
  else if (!live) plan.problems.push("its SDC driver knows no MDM of this cluster");
  else if (!same(live, want)) {
    plan.commands.push(modMdmIp(live[0], want));
    plan.differences.push(`its SDC knows MDMs ${live.join(",")}`);
  }
  const line = clusterList(s.fileLines, want);
  if (!s.file) plan.problems.push("it has no SDC config file (drv_cfg.txt)");
  else if (!line)
    plan.problems.push(`its SDC config file ${s.file} has no mdm line for this cluster`);
  else if (!same(line, want)) {
    plan.commands.push(modMdmIp(line[0], want, s.file));
    plan.differences.push(`its SDC config file ${s.file} lists MDMs ${line.join(",")}`);
  }
  return plan;
}

/** The probe's drift lines for an SDC node (HostPackages, `pulumi refresh`): read-only. */
export async function sdcMdmDrift(
  ctx: StageContext,
  host: string,
  step: string,
): Promise<string[]> {
  const want = managerIps(ctx.spec.machines);
  const out = await ctx.run(host, step, SDC_MDMS_QUERY, { quiet: true });
  return sdcMdmPlan(parseSdcMdms(out.stdout), want).differences.map(
    (d) => `${host}: ${d}; the cluster's managers are ${want.join(",")}`,
  );
}

/**
 * Make the SDC on `host` know the cluster's manager IPs, live and in its config file; nothing
 * when both already do. What `--mod_mdm_ip` cannot fix is logged, not thrown (a driver just
 * restarted by its package may not answer yet; the file it loads is then the package's, right).
 * Throws when the driver still differs after the change.
 */
export async function syncSdcMdms(ctx: StageContext, host: string, step: string): Promise<void> {
  const want = managerIps(ctx.spec.machines);
  const read = async () =>
    sdcMdmPlan(
      parseSdcMdms((await ctx.run(host, step, SDC_MDMS_QUERY, { quiet: true })).stdout),
      want,
    );
  const plan = await read();
  for (const p of plan.problems) ctx.log(host, step).info(`SDC MDM list not checked: ${p}`);
  if (plan.commands.length === 0) return;
  ctx.log(host, step).info(`SDC: ${plan.differences.join("; ")}; setting ${want.join(",")}`);
  for (const c of plan.commands) await ctx.run(host, step, c, { change: true });
  const after = await read();
  if (after.differences.length > 0)
    throw new Error(
      `[${host}] ${step}: drv_cfg --mod_mdm_ip did not take: ${after.differences.join("; ")} ` +
        `(want ${want.join(",")}); check the scini service (systemctl status scini) and re-run.`,
    );
}
