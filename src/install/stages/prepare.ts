// Stage "HostPrep": make a host ready for the ScaleIO packages. Checks the OS matches the RPMs,
// points CentOS 7's repo files at the vault (the mirrors are gone), installs prerequisites.
import type { StageName } from "../registry";
import type { Machine, OsName } from "../../machine";
import { distTagOf } from "../../machine";
import type { StageContext } from "../context";
import { q, sectioned, splitSections } from "../shell";
import { componentsOf } from "../spec";
import { DEAD_MIRROR_REPOS, fixRepos } from "./repos";
import { checkAllSdsDevices } from "./devices";
import { multipathDropInScript, MULTIPATH_PROBE, parseMultipathProbe } from "./multipath";
import {
  installedVersionsFact,
  installedVersionsQuery,
  MDM_ROLE_QUERY,
  mdmRoleFact,
} from "./packages";
import { missingDevicesFact, missingDevicesQuery } from "./storage";

export const STEP: StageName = "HostPrep";

/** /etc/os-release -> our OS name (undefined when unsupported). */
export function osFromRelease(text: string): { os?: OsName; pretty: string } {
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, "m").exec(text)?.[1] ?? "";
  const id = get("ID");
  const major = get("VERSION_ID").split(".")[0];
  const pretty = get("PRETTY_NAME") || `${id} ${get("VERSION_ID")}`;
  if (id === "centos" && major === "7") return { os: "centos7", pretty };
  if (["rocky", "rhel", "almalinux", "centos"].includes(id) && major === "8")
    return { os: "rocky8", pretty };
  if (["rocky", "rhel", "almalinux", "centos"].includes(id) && major === "9")
    return { os: "rocky9", pretty };
  return { pretty };
}

/** Prerequisite packages per role (reference §3). */
export function prerequisites(m: Machine, os: OsName, dialect: string): string[] {
  const p = ["numactl", "libaio"];
  if (m.mdm) {
    p.push("bash-completion", os === "centos7" ? "python" : "python3");
    if (os === "centos7" && dialect !== "3.x") p.push("mutt", "python-paramiko");
  }
  if (m.services.includes("gateway"))
    p.push(dialect === "1.3x" ? "java-1.7.0-openjdk" : "java-1.8.0-openjdk");
  return p;
}

/** Which of `pkgs` `rpm -q`'s output says are not installed. */
export function notInstalled(pkgs: string[], rpmOutput: string): string[] {
  return pkgs.filter((p) =>
    new RegExp(`package ${p.replace(/[.+]/g, "\\$&")} is not installed`).test(rpmOutput),
  );
}

/**
 * SSH answers before cloud-init has finished a new machine's first boot: its final stage runs
 * the stack's host preparation script (repo files, yum.conf) and could run yum at the same time
 * as we do. Wait for it (bounded: an image whose cloud-init never ran must not hang the install).
 */
export const WAIT_FOR_CLOUD_INIT =
  "if command -v cloud-init >/dev/null 2>&1; then timeout 1200 cloud-init status --wait >/dev/null 2>&1 || true; fi";

export async function prepareHost(ctx: StageContext, host: string): Promise<{ os: OsName }> {
  await ctx.step(host, STEP);
  // Every SDS host's devices (mounted, partitioned, a file system, too small): refused before
  // any host changes anything; erased only where wipeDevices allows it. Once per run.
  await checkAllSdsDevices(ctx, host, STEP);
  const m = ctx.machine(host);
  const want = ctx.spec.os;
  const pkgs = prerequisites(m, want, ctx.rpms.dialect);
  const sdc = componentsOf(m).includes("sdc");
  // One round trip for everything this stage reads (a re-run usually needs nothing else), and
  // the packages stage's question too.
  const asOf = ctx.changeCount;
  const probe = splitSections(
    (
      await ctx.run(
        host,
        STEP,
        (ctx.spec.adopted ? "" : `${WAIT_FOR_CLOUD_INIT}; `) +
          sectioned({
            release: "cat /etc/os-release",
            repos: want === "centos7" ? DEAD_MIRROR_REPOS : "true",
            rpm: `rpm -q ${pkgs.map(q).join(" ")}`,
            scaleio: installedVersionsQuery(ctx, host),
            ...(m.services.includes("sds") ? { devices: missingDevicesQuery(m.dataDisks) } : {}),
            ...(m.mdm ? { mdmrole: MDM_ROLE_QUERY } : {}),
            ...(sdc ? { multipath: MULTIPATH_PROBE } : {}),
          }),
        { quiet: true, timeoutMs: 25 * 60_000 },
      )
    ).stdout,
  );
  if (probe.scaleio) ctx.remember(installedVersionsFact(host), probe.scaleio.out, asOf);
  if (probe.devices) ctx.remember(missingDevicesFact(host), probe.devices.out, asOf);
  if (probe.mdmrole) ctx.remember(mdmRoleFact(host), probe.mdmrole.out, asOf);
  const { os, pretty } = osFromRelease(probe.release?.out ?? "");
  if (os !== want || distTagOf(want) !== ctx.rpms.dist) {
    throw new Error(
      `[${host}] the host runs ${pretty} (${os ?? "unsupported"}) but the stack is set up for ${want} ` +
        `with ${ctx.rpms.dist} packages. Use machines running ${want}, or set the stack's os to match the hosts ` +
        `and put the matching ${os ? distTagOf(os) : ""} ScaleIO packages in ${ctx.rpms.dir}.`,
    );
  }
  if ((probe.repos?.out ?? "").trim() !== "") await fixRepos(ctx, host, STEP);
  // Before the SDC package: multipathd must never claim the scini devices.
  if (probe.multipath) {
    const script = multipathDropInScript(parseMultipathProbe(probe.multipath.out));
    if (script) await ctx.run(host, STEP, script, { change: true });
  }
  const missing = notInstalled(pkgs, probe.rpm?.out ?? "");
  if (missing.length > 0) {
    await ctx.run(host, STEP, `yum install -y ${missing.map(q).join(" ")}`, {
      change: true,
      timeoutMs: 20 * 60_000,
    });
    // Packages may drop new repo files that point at dead mirrors again.
    await fixRepos(ctx, host, STEP);
  }
  return { os: want };
}
