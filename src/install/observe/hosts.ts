// Read-only probes of the per-host preparation and packages: what the "prepare" and "packages"
// stages would change on the host now (the same questions they ask first, nothing else).
import { distTagOf } from "../../machine";
import type { StageContext } from "../context";
import { q, sectioned, splitSections } from "../shell";
import { componentsOf } from "../spec";
import { MULTIPATH_PROBE, multipathDropInScript, parseMultipathProbe } from "../stages/multipath";
import {
  installedVersions,
  installedVersionsQuery,
  MDM_ROLE_QUERY,
  packageJobs,
  parseMdmRole,
  type PackageJob,
  wrongMdmRole,
} from "../stages/packages";
import { notInstalled, osFromRelease, prerequisites } from "../stages/prepare";
import { DEAD_MIRROR_REPOS } from "../stages/repos";
import { sdcMdmDrift } from "../stages/sdc-mdms";
import {
  packageServiceUnits,
  parseUnitStates,
  servicesDrift,
  unitStatesQuery,
} from "../stages/services";
import { STEP, type Observed } from "./probe";

/**
 * HostPrep: the OS the stack is set up for, CentOS 7's repo files on the vault, the
 * prerequisite packages, multipathd kept off the ScaleIO devices. One round trip.
 */
export async function observeHostPrep(ctx: StageContext, host: string): Promise<Observed> {
  const m = ctx.machine(host);
  const want = ctx.spec.os;
  const pkgs = prerequisites(m, want, ctx.rpms.dialect);
  const sdc = componentsOf(m).includes("sdc");
  const out = await ctx.run(
    host,
    STEP,
    sectioned({
      release: "cat /etc/os-release",
      repos: want === "centos7" ? DEAD_MIRROR_REPOS : "true",
      rpm: `rpm -q ${pkgs.map(q).join(" ")}`,
      ...(sdc ? { multipath: MULTIPATH_PROBE } : {}),
    }),
    { quiet: true },
  );
  const p = splitSections(out.stdout);
  const drift: string[] = [];
  const { os, pretty } = osFromRelease(p.release?.out ?? "");
  if (os !== want || distTagOf(want) !== ctx.rpms.dist)
    drift.push(`${host}: runs ${pretty || "an unknown OS"}, the stack is set up for ${want}`);
  const dead = (p.repos?.out ?? "").trim();
  if (dead !== "")
    drift.push(
      `${host}: repo files point at CentOS 7's dead mirrors: ${dead.split("\n").join(", ")}`,
    );
  const missing = notInstalled(pkgs, p.rpm?.out ?? "");
  if (missing.length > 0)
    drift.push(`${host}: prerequisite package(s) not installed: ${missing.join(", ")}`);
  if (p.multipath && multipathDropInScript(parseMultipathProbe(p.multipath.out)))
    drift.push(
      `${host}: multipathd may claim the ScaleIO devices (Arrowhead's blacklist is missing)`,
    );
  return { drift };
}

/**
 * HostPackages: each ScaleIO package of the node at the version the stack installs, an
 * MDM installed in the role the topology gives it, and an SDC knowing the cluster's managers.
 */
export async function observeHostPackages(ctx: StageContext, host: string): Promise<Observed> {
  const m = ctx.machine(host);
  const jobs = packageJobs(m, ctx.spec.machines, ctx.rpms.packages, ctx.rpms.dialect);
  const out = await ctx.run(
    host,
    STEP,
    sectioned({
      versions: installedVersionsQuery(ctx, host),
      ...(m.mdm ? { mdmrole: MDM_ROLE_QUERY } : {}),
      ...serviceSections(jobs),
    }),
    { quiet: true },
  );
  const p = splitSections(out.stdout);
  const have = installedVersions(p.versions?.out ?? "");
  const drift: string[] = [];
  for (const j of jobs) {
    const got = have.get(j.rpm.name);
    if (!got) drift.push(`${host}: package ${j.rpm.name} is not installed`);
    else if (got !== j.rpm.versionRelease)
      drift.push(
        `${host}: package ${j.rpm.name} is at ${got}, the stack installs ${j.rpm.versionRelease}`,
      );
  }
  // 2.x+: one MDM package whose role is fixed at install (1.3x has a tie-breaker package).
  const mdmJob = jobs.find((j) => j.env.MDM_ROLE_IS_MANAGER !== undefined);
  if (m.mdm && mdmJob && have.has(mdmJob.rpm.name)) {
    const installed = parseMdmRole(p.mdmrole?.out ?? "");
    if (wrongMdmRole(host, m.mdm, installed))
      drift.push(
        `${host}: its MDM is installed as a ${installed}, the topology makes it the ${m.mdm}`,
      );
  }
  drift.push(...serviceDriftOf(host, jobs, have, p.services?.out ?? ""));
  // An installed SDC whose MDM list (live or in its config file) is not the cluster's managers.
  const sdcJob = jobs.find((j) => j.component === "sdc");
  if (sdcJob && have.has(sdcJob.rpm.name)) drift.push(...(await sdcMdmDrift(ctx, host, STEP)));
  return { drift };
}

/** The query of the node's ScaleIO services (stages/services.ts), a section of the probe. */
function serviceSections(jobs: PackageJob[]): Record<string, string> {
  const units = packageServiceUnits(jobs.map((j) => j.component));
  return units.length > 0 ? { services: unitStatesQuery(units) } : {};
}

/**
 * A drift line for each ScaleIO service of an installed package that is stopped or disabled
 * (a package not installed is drift already). `out` is serviceSections' answer. Pure.
 */
export function serviceDriftOf(
  host: string,
  jobs: PackageJob[],
  have: Map<string, string>,
  out: string,
): string[] {
  const installed = jobs.filter((j) => have.has(j.rpm.name)).map((j) => j.component);
  return servicesDrift(host, packageServiceUnits(installed), parseUnitStates(out)).map(
    (d) => d.line,
  );
}
