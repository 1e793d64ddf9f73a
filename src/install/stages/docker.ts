// Stage "docker": put /var/lib/docker on the host's ScaleIO volume and run Docker on it.
// The volume is found by its stable by-id name (never by guessing /dev/scinia), formatted only
// when blkid finds no filesystem, and mounted by a systemd mount unit ordered after the SDC so
// it comes back after a reboot. Docker gets RequiresMountsFor so it can never start on the bare
// directory. Existing data in /var/lib/docker is never hidden or deleted: the stage refuses.
import type { InstallContext } from "../context";
import { q } from "../shell";
import { fixRepos, missingPackages } from "./prepare";

export const STEP = "docker";
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

async function ensureFile(
  ctx: InstallContext,
  host: string,
  file: string,
  content: string,
): Promise<boolean> {
  const cur = await ctx.run(host, STEP, `cat ${q(file)} 2>/dev/null || true`, { quiet: true });
  if (cur.stdout === content) return false;
  await ctx.run(host, STEP, writeFile(file, content), { change: true });
  return true;
}

export class DockerDataExistsError extends Error {}

export async function setupDocker(
  ctx: InstallContext,
  host: string,
  vol: { device: string; volumeName: string },
): Promise<DockerResult> {
  await ctx.step(host, STEP);
  const real = (
    await ctx.run(host, STEP, `readlink -f ${q(vol.device)}`, { quiet: true })
  ).stdout.trim();
  const src = (
    await ctx.run(host, STEP, `findmnt -n -o SOURCE --mountpoint ${DOCKER_ROOT} || true`, {
      quiet: true,
    })
  ).stdout.trim();
  const srcReal = src
    ? (await ctx.run(host, STEP, `readlink -f ${q(src)}`, { quiet: true })).stdout.trim()
    : "";
  if (src && srcReal !== real) {
    throw new Error(
      `[${host}] ${STEP}: ${DOCKER_ROOT} is already a mount of ${src}, not of the ScaleIO volume ${vol.device}. ` +
        `Unmount it (and remove it from /etc/fstab) after saving its data, then re-run.`,
    );
  }
  if (!src) {
    // Not mounted: the directory must be empty (or absent), or we would hide existing data.
    const ls = await ctx.run(host, STEP, `ls -A ${DOCKER_ROOT} 2>/dev/null | head -5`, {
      quiet: true,
    });
    if (ls.stdout.trim() !== "") {
      throw new DockerDataExistsError(
        `[${host}] ${STEP}: ${DOCKER_ROOT} already holds data (${ls.stdout.trim().split("\n").join(", ")}...). ` +
          `Arrowhead will not hide or delete it. Stop Docker and move the data away ` +
          `(systemctl stop docker; mv ${DOCKER_ROOT} ${DOCKER_ROOT}.old), re-run, then copy what you need back ` +
          `into the new ${DOCKER_ROOT} (which is on ScaleIO volume ${vol.volumeName}).`,
      );
    }
    const fs = await ctx.run(host, STEP, `blkid -o value -s TYPE ${q(real)} || true`, {
      quiet: true,
    });
    if (fs.stdout.trim() === "") {
      await ctx.step(host, `${STEP}:mkfs`);
      await ctx.run(host, STEP, `mkfs.${FS_TYPE} -q -L docker ${q(real)}`, {
        change: true,
        timeoutMs: 30 * 60_000,
      });
    } else if (fs.stdout.trim() !== FS_TYPE) {
      throw new Error(
        `[${host}] ${STEP}: volume ${vol.volumeName} (${vol.device}) already holds a ${fs.stdout.trim()} filesystem; ` +
          `expected ${FS_TYPE}. Arrowhead does not reformat a volume that holds data.`,
      );
    }
  }
  // Device units only exist where udev runs; in a container the dependency would never start.
  const virt = await ctx.run(host, STEP, "systemd-detect-virt --container 2>/dev/null || true", {
    quiet: true,
  });
  const inContainer = virt.stdout.trim() !== "" && virt.stdout.trim() !== "none";
  let reload = await ensureFile(
    ctx,
    host,
    WAIT_UNIT_PATH,
    waitUnitText(vol.device, vol.volumeName),
  );
  reload =
    (await ensureFile(
      ctx,
      host,
      MOUNT_UNIT_PATH,
      mountUnitText(vol.device, vol.volumeName, !inContainer),
    )) || reload;
  reload = (await ensureFile(ctx, host, DROPIN_PATH, dockerDropIn())) || reload;
  if (reload) await ctx.run(host, STEP, "systemctl daemon-reload", { change: true });
  const wEnabled = await ctx.run(host, STEP, `systemctl is-enabled ${WAIT_UNIT}`, {
    check: false,
    quiet: true,
  });
  if (wEnabled.stdout.trim() !== "enabled")
    await ctx.run(host, STEP, `systemctl enable ${WAIT_UNIT}`, { change: true });
  const enabled = await ctx.run(host, STEP, `systemctl is-enabled ${MOUNT_UNIT}`, {
    check: false,
    quiet: true,
  });
  if (enabled.stdout.trim() !== "enabled")
    await ctx.run(host, STEP, `systemctl enable ${MOUNT_UNIT}`, { change: true });
  const active = await ctx.run(host, STEP, `systemctl is-active ${MOUNT_UNIT}`, {
    check: false,
    quiet: true,
  });
  if (active.stdout.trim() !== "active")
    await ctx.run(host, STEP, `systemctl start ${MOUNT_UNIT}`, { change: true });

  await ctx.step(host, `${STEP}:install`);
  const pkgs = ctx.spec.dockerPackages ?? (ctx.spec.os === "centos7" ? ["docker"] : ["docker-ce"]);
  const missing = await missingPackages(ctx, host, STEP, pkgs);
  if (missing.length > 0) {
    await ctx.run(host, STEP, `yum install -y ${missing.map(q).join(" ")}`, {
      change: true,
      timeoutMs: 20 * 60_000,
    });
    await fixRepos(ctx, host, STEP);
  }
  const dEnabled = await ctx.run(host, STEP, "systemctl is-enabled docker", {
    check: false,
    quiet: true,
  });
  if (dEnabled.stdout.trim() !== "enabled")
    await ctx.run(host, STEP, "systemctl enable docker", { change: true });
  const dActive = await ctx.run(host, STEP, "systemctl is-active docker", {
    check: false,
    quiet: true,
  });
  if (dActive.stdout.trim() !== "active")
    await ctx.run(host, STEP, "systemctl start docker", { change: true, timeoutMs: 5 * 60_000 });
  return checkDockerRoot(ctx, host, vol.device, STEP);
}

/** Docker's root dir, and proof that it is a mount of the ScaleIO device. */
export async function checkDockerRoot(
  ctx: InstallContext,
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
  return { node: host, device, rootDir: root };
}

/** Undo setupDocker on an adopted host: stop Docker, unmount, remove our units (data stays on the volume). */
export async function teardownDocker(ctx: InstallContext, host: string): Promise<void> {
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
