// Read-only probe of a Docker host's DockerVolume: its ScaleIO volume in the cluster, mapped to
// the host's SDC and seen by it, mounted at /var/lib/docker by Arrowhead's units, and Docker
// installed and running on it: what the "volumes" and "docker" stages would change now.
import { createHash } from "crypto";
import type { StageContext } from "../context";
import { drvCfg, parseDrvQueryVols, parseSdcs, parseVolumes, volumeDevicePath } from "../scli";
import { mdmNodes } from "../spec";
import { scliQuery } from "../cluster-view";
import {
  DOCKER_ROOT,
  dockerPackagesOf,
  dockerProbeScript,
  dockerUnitFiles,
  MOUNT_UNIT,
  parseDockerProbe,
  WAIT_UNIT,
  type DockerProbe,
  type Volume,
} from "../stages/docker";
import { findVolume, volumeName } from "../stages/volumes";
import { readLogin } from "./cluster";
import { STEP, type Observed } from "./probe";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * What differs on a Docker host from what the docker stage makes, given what the host's probe
 * found (`p`) and whether its SDC has the volume (`mapped`). Pure.
 */
export function dockerDrift(host: string, vol: Volume, p: DockerProbe, mapped: boolean): string[] {
  const drift: string[] = [];
  const name = vol.volumeName;
  if (!mapped) drift.push(`${host}: volume ${name} is not mapped to ${host}'s SDC`);
  else if (!p.present) drift.push(`${host}: volume ${name}'s device ${vol.device} is missing`);
  if (p.mountSource === "")
    drift.push(`${host}: ${DOCKER_ROOT} is not mounted from volume ${name}`);
  else if (p.mountSourceReal !== p.real)
    drift.push(`${host}: ${DOCKER_ROOT} is a mount of ${p.mountSource}, not of volume ${name}`);
  for (const [file, text] of dockerUnitFiles(vol, p.inContainer))
    if (p.fileSha[file] !== sha256(text))
      drift.push(`${host}: ${file} is ${p.fileSha[file] ? "changed" : "missing"}`);
  for (const u of [WAIT_UNIT, MOUNT_UNIT, "docker.service"]) {
    const enabled = p.units[`enabled:${u}`] ?? "";
    if (enabled !== "enabled") drift.push(`${host}: ${u} is not enabled (${enabled || "unknown"})`);
  }
  for (const u of [MOUNT_UNIT, "docker.service"]) {
    const active = p.units[`active:${u}`] ?? "";
    if (active !== "active") drift.push(`${host}: ${u} is not active (${active || "unknown"})`);
  }
  if (p.missingPackages.length > 0)
    drift.push(`${host}: Docker package(s) not installed: ${p.missingPackages.join(", ")}`);
  return drift;
}

/**
 * DockerVolume: the volume (asked on the master), its SDC registered, then on the host what
 * the SDC sees and what the docker stage's own probe finds.
 */
export async function observeDockerVolume(ctx: StageContext, host: string): Promise<Observed> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  const login = await readLogin(ctx, master, ["sdc", "volumes"]);
  if ("drift" in login) return { drift: [login.drift] };
  const vols = parseVolumes(await scliQuery(ctx, master, STEP, "volumes"));
  const found = findVolume(
    ctx,
    vols.filter((v) => !v.snapshot),
    host,
  );
  if (!found) return { drift: [`${host}: volume ${volumeName(host)} is not in the cluster`] };
  const drift: string[] = [];
  const ip = ctx.machine(host).privateAddress;
  if (!parseSdcs(await scliQuery(ctx, master, STEP, "sdc")).some((c) => c.ip === ip))
    drift.push(`${host}: its SDC (${ip}) is not registered with the MDM`);
  const vol = {
    device: volumeDevicePath(login.systemId, found.id),
    volumeName: found.name ?? volumeName(host),
  };
  const sdcVols = await ctx.run(host, STEP, `${drvCfg("--query_vols")}; true`, { quiet: true });
  const mapped = parseDrvQueryVols(sdcVols.stdout).some((v) => v.volumeId === found.id);
  const probe = await ctx.run(
    host,
    STEP,
    dockerProbeScript(vol.device, dockerPackagesOf(ctx.spec)),
    {
      quiet: true,
    },
  );
  drift.push(...dockerDrift(host, vol, parseDockerProbe(probe.stdout), mapped));
  return { drift };
}
