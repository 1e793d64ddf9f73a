// Where the lab keeps things, and how names derive from the lab name. Caches survive `down()`;
// state directories do not.
import * as path from "node:path";

/** Base rootfs, debootstrap's .deb cache, stand-in RPMs: kept across labs. */
export function cacheRoot(): string {
  return process.env.ARROWHEAD_LAB_CACHE ?? "/var/cache/arrowhead-lab";
}

/** One directory per lab: keys, overlays, disks, logs. Removed by `down()`. */
export function stateRoot(): string {
  return process.env.ARROWHEAD_LAB_STATE ?? "/var/lib/arrowhead-lab";
}

export function stateDirOf(lab: string): string {
  return path.join(stateRoot(), lab);
}

/** Lab names end up in interface, netns and machine names: keep them short and plain. */
export function checkLabName(name: string): string {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(name)) {
    throw new Error(
      `lab: name "${name}" is not usable: use 1-10 lowercase letters/digits starting with a letter`,
    );
  }
  return name;
}

export function netnsOf(lab: string): string {
  return `ahlab-${lab}`;
}

/** nspawn's machine name; global on this machine (it names /run/systemd/nspawn entries). */
export function machineOf(lab: string, host: string): string {
  return `ahlab-${lab}-${host}`;
}

export const BRIDGE = "ahbr0";
export const SUBNET_PREFIX = "10.77.0";
export const GATEWAY_ADDRESS = `${SUBNET_PREFIX}.1`;
export const REPO_PORT = 8080;

export function hostAddress(index: number): string {
  return `${SUBNET_PREFIX}.${11 + index}`;
}
