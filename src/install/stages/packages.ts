// Stage "HostPackages": stage the host's ScaleIO RPMs in the root-only staging folder (sent only when
// the staged copy's sha256 differs, see upload.ts) and install them with the install-time
// variables the package scripts read (reference §3), each only after root checked the folders
// and hashed the file. A package whose installed version equals the file's is skipped. Secret
// variables travel on stdin.
import type { StageName } from "../registry";
import type { Machine, MdmRole } from "../../machine";
import { SECRET_VARS, type StageContext } from "../context";
import type { Component, RpmFile } from "../rpms";
import { q } from "../shell";
import { componentsOf, managerIps } from "../spec";
import { installStaged, localSha256, stagedPath } from "../upload";
import { fixRepos } from "./repos";
import { syncSdcMdms } from "./sdc-mdms";
import { ensureServices, packageServiceUnits } from "./services";

export const STEP: StageName = "HostPackages";
/** Where the RPMs are staged on a host (root-only, see upload.ts). */
export const REMOTE_RPM_DIR = stagedPath("rpms");

export interface PackageJob {
  component: Component;
  rpm: RpmFile;
  /** Non-secret variables, put on the command line. */
  env: Record<string, string>;
  /** Secret variables, read from stdin. */
  secrets: string[];
}

/** The packages for a node with their variables, in install order. Pure. */
export function packageJobs(
  m: Machine,
  all: Machine[],
  rpms: Record<string, RpmFile | undefined>,
  dialect: string,
): PackageJob[] {
  const jobs: PackageJob[] = [];
  for (const c of componentsOf(m)) {
    let comp: Component = c;
    const env: Record<string, string> = {};
    const secrets: string[] = [];
    if (c === "mdm") {
      if (dialect === "1.3x" && m.mdm === "tiebreaker") comp = "tb";
      else if (dialect !== "1.3x") env.MDM_ROLE_IS_MANAGER = m.mdm === "tiebreaker" ? "0" : "1";
    }
    if (c === "sdc") env.MDM_IP = managerIps(all).join(",");
    if (c === "lia") secrets.push(SECRET_VARS.liaToken);
    if (c === "gateway") secrets.push(SECRET_VARS.gatewayPassword);
    const rpm = rpms[comp];
    if (!rpm) throw new Error(`no ${comp} package selected for node ${m.name}`);
    jobs.push({ component: comp, rpm, env, secrets });
  }
  return jobs;
}

/** `rpm -q` of the host's ScaleIO packages: "NAME VERSION-RELEASE" or "... is not installed" per line. */
export function installedVersionsQuery(ctx: StageContext, host: string): string {
  const jobs = packageJobs(
    ctx.machine(host),
    ctx.spec.machines,
    ctx.rpms.packages,
    ctx.rpms.dialect,
  );
  return `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' ${jobs.map((j) => q(j.rpm.name)).join(" ")}`;
}

/** installedVersionsQuery's output -> package name -> installed VERSION-RELEASE. Pure. */
export function installedVersions(out: string): Map<string, string> {
  const have = new Map<string, string>();
  for (const line of out.split("\n")) {
    const [n, vr] = line.trim().split(" ");
    if (n && vr && !/not installed/.test(line)) have.set(n, vr);
  }
  return have;
}

/** The prepare stage asks installedVersionsQuery in its own round trip and keeps the answer here. */
export const installedVersionsFact = (host: string) => `rpm-versions:${host}`;

/**
 * Where the 2.x+ MDM package records the role it was installed in: `actor_role_is_manager=1`
 * (manager) or `=0` (tie-breaker), written from MDM_ROLE_IS_MANAGER at install time. EMC's own
 * Puppet modules (puppet-scaleio, the Fuel plugin) edit this same line, noting that yum run
 * without the variable (e.g. through a tool that resets the environment, as sudo does) left
 * every MDM a tie-breaker. Some write `true`/`false`.
 */
export const MDM_CONF = "/opt/emc/scaleio/mdm/cfg/conf.txt";

/** Prints the installed MDM's role value (nothing when no MDM package is installed). */
export const MDM_ROLE_QUERY = `sed -n 's/^actor_role_is_manager=//p' ${MDM_CONF} 2>/dev/null; true`;

/** The prepare stage asks MDM_ROLE_QUERY in its own round trip and keeps the answer here. */
export const mdmRoleFact = (host: string) => `mdm-role:${host}`;

/** `MDM_ROLE_QUERY`'s output -> the role installed; undefined when absent or unreadable. */
export function parseMdmRole(out: string): "manager" | "tiebreaker" | undefined {
  const v = out.trim().split("\n")[0]?.trim().toLowerCase();
  if (v === "1" || v === "true") return "manager";
  if (v === "0" || v === "false") return "tiebreaker";
  return undefined;
}

/**
 * The problem when the MDM on `host` was installed in another role than the topology gives it
 * (2.x+: one package, role fixed at install), with the fix; undefined when the role is right
 * or cannot be read. Pure.
 */
export function wrongMdmRole(
  host: string,
  want: MdmRole,
  installed: "manager" | "tiebreaker" | undefined,
): string | undefined {
  const wantManager = want !== "tiebreaker";
  if (installed === undefined || (installed === "manager") === wantManager) return undefined;
  const as = (manager: boolean) =>
    manager ? "a manager (MDM_ROLE_IS_MANAGER=1)" : "a tie-breaker (MDM_ROLE_IS_MANAGER=0)";
  return (
    `[${host}] ${STEP}: the MDM on ${host} was installed as ${as(!wantManager)} ` +
    `(${MDM_CONF}: actor_role_is_manager=${wantManager ? 0 : 1}), but the topology makes it the ${want} ` +
    `(${as(wantManager)}); the role is fixed when the package is installed, and the cluster would refuse ` +
    `to add it. Reinstall it in the right role: on ${host} run \`I_AM_SURE=1 rpm -e EMC-ScaleIO-mdm\` ` +
    `(if it is already a cluster member, remove it from the cluster first), then re-run; the installer ` +
    `sets MDM_ROLE_IS_MANAGER=${wantManager ? 1 : 0}. Nothing was added to the cluster.`
  );
}

export function installCommand(job: PackageJob, remoteFile: string): string {
  const env = Object.entries(job.env).map(([k, v]) => `${k}=${q(v)}`);
  return [...(env.length ? ["env", ...env] : []), "yum", "install", "-y", q(remoteFile)].join(" ");
}

export async function installPackages(
  ctx: StageContext,
  host: string,
): Promise<{ installed: string[] }> {
  await ctx.step(host, STEP);
  const m = ctx.machine(host);
  const jobs = packageJobs(m, ctx.spec.machines, ctx.rpms.packages, ctx.rpms.dialect);
  const versions =
    ctx.recall<string>(installedVersionsFact(host)) ??
    (await ctx.run(host, STEP, installedVersionsQuery(ctx, host), { check: false, quiet: true }))
      .stdout;
  const have = installedVersions(versions);
  // A vendor bundle's set-aside files and mixed builds: said once per run.
  void ctx.memo("rpm-notes", async () => {
    for (const n of ctx.rpms.notes ?? []) ctx.log(host, STEP).info(n);
  });
  const mdmJob = jobs.find((j) => j.env.MDM_ROLE_IS_MANAGER !== undefined);
  const checkRole = async (fresh: boolean) => {
    if (!mdmJob || !m.mdm) return;
    const out =
      (fresh ? undefined : ctx.recall<string>(mdmRoleFact(host))) ??
      (await ctx.run(host, STEP, MDM_ROLE_QUERY, { quiet: true })).stdout;
    const problem = wrongMdmRole(host, m.mdm, parseMdmRole(out));
    if (problem) throw new Error(problem);
  };
  const todo = jobs.filter((j) => have.get(j.rpm.name) !== j.rpm.versionRelease);
  // An MDM already installed in the wrong role is found before anything else is installed.
  if (mdmJob && !todo.includes(mdmJob)) await checkRole(false);
  if (todo.length > 0)
    await installTodo(ctx, host, todo, async (j) => {
      if (j === mdmJob) await checkRole(true);
    });
  // Installed but stopped or disabled by hand: started and enabled (stages/services.ts).
  await ensureServices(ctx, host, STEP, packageServiceUnits(jobs.map((j) => j.component)));
  // The SDC's MDM list follows the cluster's managers (MDM_IP only counts at install).
  if (jobs.some((j) => j.component === "sdc")) await syncSdcMdms(ctx, host, STEP);
  return { installed: todo.map((j) => j.rpm.file) };
}

/** Upload and install `todo` in order (`after` runs after each), then fix the repo files. */
async function installTodo(
  ctx: StageContext,
  host: string,
  todo: PackageJob[],
  after: (j: PackageJob) => Promise<void>,
): Promise<void> {
  const files = todo.map((j) => ({ local: j.rpm.path, name: `rpms/${j.rpm.file}` }));
  if ((await ctx.upload(host, STEP, files)) > 0)
    ctx.record(host, STEP, `upload ${todo.length} package file(s)`);
  for (const j of todo) {
    await ctx.step(host, `${STEP}:${j.component}`);
    const remote = stagedPath(`rpms/${j.rpm.file}`);
    // The variables go inside the privileged command (`sudo -n sh -c 'env VAR=.. yum ..'`,
    // see SshSession.wrap): sudo resets the environment, so set outside they would be lost.
    await installStaged(
      ctx,
      host,
      STEP,
      { file: remote, sha256: await localSha256(j.rpm.path) },
      installCommand(j, remote),
      { secrets: j.secrets, timeoutMs: 20 * 60_000 },
    );
    await after(j);
  }
  await fixRepos(ctx, host, STEP);
}

/** Remove what `installPackages` installed (reverse order; rpm -e needs I_AM_SURE=1). */
export async function removePackages(ctx: StageContext, host: string): Promise<void> {
  const m = ctx.machine(host);
  const names = packageJobs(m, ctx.spec.machines, ctx.rpms.packages, ctx.rpms.dialect)
    .map((j) => j.rpm.name)
    .reverse();
  const r = await ctx.run(host, "remove", `rpm -q ${names.map(q).join(" ")}`, {
    check: false,
    quiet: true,
  });
  const present = names.filter(
    (n) => !new RegExp(`package ${n} is not installed`).test(r.stdout + r.stderr),
  );
  if (present.length === 0) return;
  await ctx.run(host, "remove", `env I_AM_SURE=1 rpm -e ${present.map(q).join(" ")}`, {
    change: true,
  });
}
