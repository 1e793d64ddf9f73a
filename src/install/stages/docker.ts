// Stage "DockerVolume": put /var/lib/docker on the host's ScaleIO volume and run Docker on it.
// The volume is found by its stable by-id name (never by guessing /dev/scinia), formatted only
// when blkid finds no filesystem, and mounted by a systemd mount unit ordered after the SDC so
// it comes back after a reboot. Docker gets RequiresMountsFor so it can never start on the bare
// directory. Existing data in /var/lib/docker is never hidden or deleted: the stage refuses.
import type { StageName } from "../registry";
import { createHash } from "crypto";
import { waitFor, type StageContext } from "../context";
import { q } from "../shell";
import { fixRepos } from "./repos";

export const STEP: StageName = "DockerVolume";
export const DOCKER_ROOT = "/var/lib/docker";
export const MOUNT_UNIT = "var-lib-docker.mount";
export const MOUNT_UNIT_PATH = `/etc/systemd/system/${MOUNT_UNIT}`;
export const DROPIN_PATH = "/etc/systemd/system/docker.service.d/arrowhead-scaleio.conf";
export const WAIT_UNIT = "arrowhead-docker-volume.service";
export const WAIT_UNIT_PATH = `/etc/systemd/system/${WAIT_UNIT}`;
export const FS_TYPE = "ext4";

/** systemd-escape --path: the unit name systemd gives a device or mount path. */
export function systemdEscapePath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/");
  if (trimmed === "") return "-";
  let out = "";
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i];
    if (c === "/") out += "-";
    else if (/[A-Za-z0-9:_]/.test(c) || (c === "." && i > 0)) out += c;
    else out += "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0");
  }
  return out;
}

export function deviceUnit(device: string): string {
  return `${systemdEscapePath(device)}.device`;
}

/**
 * A oneshot that waits for the volume's device node after boot: the SDC gets its volumes from
 * the MDM some time after scini.service has started. Where udev runs the device unit dependency
 * covers this too; in containers (no device units) this is the only wait.
 */
export function waitUnitText(device: string, volumeName: string): string {
  return [
    `# Written by Arrowhead: wait for ScaleIO volume ${volumeName} before mounting /var/lib/docker.`,
    `[Unit]`,
    `Description=Wait for ScaleIO volume ${volumeName}`,
    `Requires=scini.service`,
    `After=scini.service`,
    `Before=${MOUNT_UNIT}`,
    ``,
    `[Service]`,
    `Type=oneshot`,
    `RemainAfterExit=yes`,
    // $$ is systemd's escape for a literal $.
    `ExecStart=/bin/sh -c 'n=0; until [ -b ${device} ]; do n=$$((n+1)); [ $$n -ge 300 ] && { echo "ScaleIO volume ${device} did not appear" >&2; exit 1; }; sleep 1; done'`,
    ``,
    `[Install]`,
    `WantedBy=${MOUNT_UNIT}`,
    ``,
  ].join("\n");
}

/** The mount unit; `withDeviceUnit` false where udev is absent (containers) and no device units exist. */
export function mountUnitText(device: string, volumeName: string, withDeviceUnit = true): string {
  const dev = deviceUnit(device);
  const deps = `scini.service ${WAIT_UNIT}${withDeviceUnit ? ` ${dev}` : ""}`;
  return [
    `# Written by Arrowhead: Docker's data lives on ScaleIO volume ${volumeName}.`,
    `[Unit]`,
    `Description=Docker data on ScaleIO volume ${volumeName}`,
    `Requires=${deps}`,
    `After=${deps} network-online.target`,
    `Wants=network-online.target`,
    `Before=docker.service`,
    ``,
    `[Mount]`,
    `What=${device}`,
    `Where=${DOCKER_ROOT}`,
    `Type=${FS_TYPE}`,
    `Options=defaults,_netdev`,
    ``,
    `[Install]`,
    `WantedBy=docker.service multi-user.target`,
    ``,
  ].join("\n");
}

export function dockerDropIn(): string {
  return [
    `# Written by Arrowhead: never start Docker without its ScaleIO volume mounted.`,
    `[Unit]`,
    `RequiresMountsFor=${DOCKER_ROOT}`,
    `After=${MOUNT_UNIT}`,
    ``,
  ].join("\n");
}

/** Shell that writes `content` to `file` atomically (content travels base64: no quoting issues). */
function writeFile(file: string, content: string): string {
  const b64 = Buffer.from(content).toString("base64");
  return `mkdir -p ${q(file.replace(/\/[^/]*$/, ""))} && echo ${b64} | base64 -d > ${q(file + ".tmp")} && mv -f ${q(file + ".tmp")} ${q(file)}`;
}

export interface DockerResult {
  node: string;
  device: string;
  rootDir: string;
}

export class DockerDataExistsError extends Error {}

/** What one read-only command finds on a Docker host (a no-op re-run needs nothing else). */
export interface DockerProbe {
  /** readlink -f of the volume's by-id path ("" while /dev/disk/by-id or the link is missing). */
  real: string;
  /** The volume's device node exists (false: the SDC has not created it yet). */
  present: boolean;
  /** Source of the mount at /var/lib/docker ("" when nothing is mounted there), and its real path. */
  mountSource: string;
  mountSourceReal: string;
  /** First entries of /var/lib/docker (only looked at when nothing is mounted there). */
  entries: string[];
  /** Filesystem type on the volume ("" when none). */
  fsType: string;
  inContainer: boolean;
  /** sha256 of each of our unit files ("" when absent), by path. */
  fileSha: Record<string, string>;
  /** `systemctl is-enabled` / `is-active` answers, by "enabled:<unit>" / "active:<unit>". */
  units: Record<string, string>;
  missingPackages: string[];
  /** Docker's root dir and the real path of the device mounted there ("" when Docker is down). */
  dockerRoot: string;
  dockerRootSourceReal: string;
}

const PROBE_UNITS = [WAIT_UNIT, MOUNT_UNIT, "docker.service"];
const UNIT_FILES = [WAIT_UNIT_PATH, MOUNT_UNIT_PATH, DROPIN_PATH];

/**
 * Prints `real=<resolved path>` and, when that is a block device, `present=1`. A missing
 * /dev/disk/by-id directory (no by-id link created yet: udev has not run, or the SDC has not
 * mapped the volume) gives an empty `real` and no `present`: "not yet", never an error.
 */
export function volumePresenceScript(device: string): string {
  return `real=$(readlink -f ${q(device)} 2>/dev/null); echo "real=$real"; [ -n "$real" ] && [ -b "$real" ] && echo present=1`;
}

/** The probe as one shell script printing `key=value` lines. */
export function dockerProbeScript(device: string, pkgs: string[]): string {
  // The slow questions (Docker's daemon; the rpm database and the container check) run in the
  // background while the quick ones are asked; their answers are printed at the end.
  const slow = [
    `if systemctl is-active -q docker; then root=$(docker info -f '{{.DockerRootDir}}' 2>/dev/null);` +
      ` echo "dockerRoot=$root"; [ -n "$root" ] && s=$(findmnt -n -o SOURCE --target "$root") &&` +
      ` echo "dockerRootSourceReal=$(readlink -f "$s")"; fi`,
    [
      `echo "virt=$(systemd-detect-virt --container 2>/dev/null)"`,
      ...pkgs.map((p) => `rpm -q ${q(p)} >/dev/null 2>&1 || echo "missing=${p}"`),
    ].join("; "),
  ];
  const lines = [
    `t=$(mktemp -d) || exit 1`,
    ...slow.map((cmd, i) => `( ${cmd} ) > "$t/${i}" 2>/dev/null &`),
    volumePresenceScript(device) + "; true",
    `src=$(findmnt -n -o SOURCE --mountpoint ${DOCKER_ROOT} 2>/dev/null); echo "mountSource=$src"`,
    `[ -n "$src" ] && echo "mountSourceReal=$(readlink -f "$src")"`,
    `echo "entries=$(ls -A ${DOCKER_ROOT} 2>/dev/null | head -5 | tr '\\n' '/')"`,
    `[ -n "$src" ] || echo "fsType=$(blkid -o value -s TYPE "$real" 2>/dev/null)"`,
    ...UNIT_FILES.map((f) => `echo "sha:${f}=$(sha256sum ${q(f)} 2>/dev/null | cut -d' ' -f1)"`),
    // One systemctl call for every unit: blocks of Id=, UnitFileState=, ActiveState= lines
    // (unknown units get a block too, unlike is-enabled).
    `systemctl show -p Id,UnitFileState,ActiveState ${PROBE_UNITS.join(" ")} 2>/dev/null` +
      ` | sed -n -e 's/^Id=/unit=/p' -e 's/^UnitFileState=/enabled=/p' -e 's/^ActiveState=/active=/p'`,
    `wait; cat "$t"/*; rm -rf "$t"`,
    `true`,
  ];
  return lines.join("\n");
}

export function parseDockerProbe(out: string): DockerProbe {
  const kv = new Map<string, string>();
  const missing: string[] = [];
  const units: Record<string, string> = {};
  let unit = "";
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const [k, v] = [line.slice(0, i), line.slice(i + 1).trim()];
    if (k === "missing") missing.push(v);
    else if (k === "unit") unit = v;
    else if (k === "enabled" || k === "active") units[`${k}:${unit}`] = v;
    else kv.set(k, v);
  }
  const get = (k: string) => kv.get(k) ?? "";
  const virt = get("virt");
  const fileSha: Record<string, string> = {};
  for (const [k, v] of kv) if (k.startsWith("sha:")) fileSha[k.slice(4)] = v;
  return {
    real: get("real"),
    present: get("present") === "1",
    mountSource: get("mountSource"),
    mountSourceReal: get("mountSourceReal"),
    entries: get("entries").split("/").filter(Boolean),
    fsType: get("fsType"),
    inContainer: virt !== "" && virt !== "none",
    fileSha,
    units,
    missingPackages: missing,
    dockerRoot: get("dockerRoot"),
    dockerRootSourceReal: get("dockerRootSourceReal"),
  };
}

/** The Docker packages a host gets: the spec's, else docker on el7 and docker-ce elsewhere. */
export function dockerPackagesOf(
  spec: Pick<StageContext["spec"], "dockerPackages" | "os">,
): string[] {
  return spec.dockerPackages ?? (spec.os === "centos7" ? ["docker"] : ["docker-ce"]);
}

/**
 * The unit files setupDocker writes for this volume, by path (`inContainer`: no device units,
 * see mountUnitText).
 */
export function dockerUnitFiles(vol: Volume, inContainer: boolean): [string, string][] {
  return [
    [WAIT_UNIT_PATH, waitUnitText(vol.device, vol.volumeName)],
    [MOUNT_UNIT_PATH, mountUnitText(vol.device, vol.volumeName, !inContainer)],
    [DROPIN_PATH, dockerDropIn()],
  ];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A Docker host's ScaleIO volume: its by-id device path and its name. */
export type Volume = { device: string; volumeName: string };
type Change = (cmd: string, timeoutMs?: number) => Promise<unknown>;

export async function setupDocker(
  ctx: StageContext,
  host: string,
  vol: Volume,
): Promise<DockerResult> {
  await ctx.step(host, STEP);
  const p = await probeWhenPresent(ctx, host, vol);
  let changed = false;
  const run: Change = (cmd, timeoutMs) => {
    changed = true;
    return ctx.run(host, STEP, cmd, { change: true, timeoutMs });
  };
  await ensureFilesystem(ctx, host, vol, p, run);
  await ensureMountUnits(vol, p, run);
  await ctx.step(host, `${STEP}:install`);
  if (p.missingPackages.length > 0) {
    await run(`yum install -y ${p.missingPackages.map(q).join(" ")}`, 20 * 60_000);
    await fixRepos(ctx, host, STEP);
  }
  if (p.units["enabled:docker.service"] !== "enabled") await run("systemctl enable docker");
  if (p.units["active:docker.service"] !== "active")
    await run("systemctl start docker", 5 * 60_000);
  // Nothing changed: the probe already saw Docker's root on the volume.
  if (!changed && p.dockerRoot && p.dockerRootSourceReal === p.real)
    return ctx.remember(dockerRootFact(host), {
      node: host,
      device: vol.device,
      rootDir: p.dockerRoot,
    });
  return checkDockerRoot(ctx, host, vol.device, STEP);
}

/**
 * What the host has, once the volume's device is there: not there yet (no /dev/disk/by-id, or
 * no link in it), the SDC creates it once it has the mapping. Wait, bounded; never format or
 * mount a path that does not resolve to the volume.
 */
async function probeWhenPresent(ctx: StageContext, host: string, vol: Volume) {
  const script = dockerProbeScript(vol.device, dockerPackagesOf(ctx.spec));
  const ask = async () =>
    parseDockerProbe((await ctx.run(host, STEP, script, { quiet: true })).stdout);
  const p = await ask();
  if (p.present) return p;
  let polls = 0;
  return waitFor(
    ctx,
    `volume ${vol.volumeName} to appear on ${host} as ${vol.device} (check that scini runs and drv_cfg --query_vols lists it)`,
    180_000,
    async () => {
      const again = polls++ === 0 ? p : await ask();
      return again.present ? again : undefined;
    },
  );
}

/** A file system on the volume, made only where there is none; never over data. */
async function ensureFilesystem(
  ctx: StageContext,
  host: string,
  vol: Volume,
  p: DockerProbe,
  run: Change,
): Promise<void> {
  if (p.mountSource && p.mountSourceReal !== p.real) {
    throw new Error(
      `[${host}] ${STEP}: ${DOCKER_ROOT} is already a mount of ${p.mountSource}, not of the ScaleIO volume ${vol.device}. ` +
        `Unmount it (and remove it from /etc/fstab) after saving its data, then re-run.`,
    );
  }
  if (p.mountSource) return;
  // Not mounted: the directory must be empty (or absent), or we would hide existing data.
  if (p.entries.length > 0) {
    throw new DockerDataExistsError(
      `[${host}] ${STEP}: ${DOCKER_ROOT} already holds data (${p.entries.join(", ")}...). ` +
        `Arrowhead will not hide or delete it. Stop Docker and move the data away ` +
        `(systemctl stop docker; mv ${DOCKER_ROOT} ${DOCKER_ROOT}.old), re-run, then copy what you need back ` +
        `into the new ${DOCKER_ROOT} (which is on ScaleIO volume ${vol.volumeName}).`,
    );
  }
  if (p.fsType === "") {
    await ctx.step(host, `${STEP}:mkfs`);
    await run(`mkfs.${FS_TYPE} -q -L docker ${q(p.real)}`, 30 * 60_000);
  } else if (p.fsType !== FS_TYPE) {
    throw new Error(
      `[${host}] ${STEP}: volume ${vol.volumeName} (${vol.device}) already holds a ${p.fsType} filesystem; ` +
        `expected ${FS_TYPE}. Arrowhead does not reformat a volume that holds data.`,
    );
  }
}

/** The units that mount the volume at Docker's root, written where they differ, enabled, started. */
async function ensureMountUnits(vol: Volume, p: DockerProbe, run: Change): Promise<void> {
  // Device units only exist where udev runs; in a container the dependency would never start.
  const files = dockerUnitFiles(vol, p.inContainer);
  const stale = files.filter(([f, text]) => p.fileSha[f] !== sha256(text));
  for (const [f, text] of stale) await run(writeFile(f, text));
  if (stale.length > 0) await run("systemctl daemon-reload");
  for (const u of [WAIT_UNIT, MOUNT_UNIT])
    if (p.units[`enabled:${u}`] !== "enabled") await run(`systemctl enable ${u}`);
  if (p.units[`active:${MOUNT_UNIT}`] !== "active") await run(`systemctl start ${MOUNT_UNIT}`);
}

export const dockerRootFact = (host: string) => `docker-root:${host}`;

/** Docker's root dir, and proof that it is a mount of the ScaleIO device. */
export async function checkDockerRoot(
  ctx: StageContext,
  host: string,
  device: string,
  step: string,
): Promise<DockerResult> {
  const root = (
    await ctx.run(host, step, `docker info -f '{{.DockerRootDir}}'`, { quiet: true })
  ).stdout.trim();
  const mounted = await ctx.run(
    host,
    step,
    `s=$(findmnt -n -o SOURCE --target ${q(root)}) && [ "$(readlink -f "$s")" = "$(readlink -f ${q(device)})" ]`,
    { check: false, quiet: true },
  );
  if (mounted.code !== 0) {
    throw new Error(
      `[${host}] ${step}: Docker's root dir ${root} is not on the ScaleIO volume ${device}`,
    );
  }
  return ctx.remember(dockerRootFact(host), { node: host, device, rootDir: root });
}

/** Undo setupDocker on an adopted host: stop Docker, unmount, remove our units (data stays on the volume). */
export async function teardownDocker(ctx: StageContext, host: string): Promise<void> {
  const step = "remove";
  const has = await ctx.run(host, step, `test -f ${MOUNT_UNIT_PATH}`, {
    check: false,
    quiet: true,
  });
  if (has.code !== 0) return;
  await ctx.run(
    host,
    step,
    `systemctl stop docker docker.socket 2>/dev/null; systemctl disable --now ${MOUNT_UNIT}; systemctl disable ${WAIT_UNIT}; rm -f ${MOUNT_UNIT_PATH} ${WAIT_UNIT_PATH} ${DROPIN_PATH}; systemctl daemon-reload`,
    { change: true },
  );
}
