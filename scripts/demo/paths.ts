// Where the demo keeps what it owns, and the fixed names it uses. Everything under stateDir()
// (Pulumi backend, PULUMI_HOME, passphrase, SSH key copy, logs) is removed by `demo -- down`;
// the lab keeps its hosts under its own state directory (test/lab/hosts/paths.ts).
import * as path from "node:path";

/** The repository (the Pulumi project directory). */
export const REPO = path.resolve(__dirname, "..", "..");

/** Lab name (1-10 chars, unique on this machine) and Pulumi stack name. */
export const LAB_NAME = "demo";
export const STACK = "demo";
export const HOSTS = ["node1", "node2", "node3"] as const;

/** The emulator's package version and distro tag that the demo installs. */
export const SCALEIO_VERSION = "3.6-700.103";
export const SCALEIO_DIST = "el7";

/** Root-only (0700) folder of the demo's own state; ARROWHEAD_DEMO_STATE moves it. */
export function stateDir(): string {
  return process.env.ARROWHEAD_DEMO_STATE ?? "/var/lib/arrowhead-demo";
}

/** One file or folder inside stateDir(). */
export function statePath(...parts: string[]): string {
  return path.join(stateDir(), ...parts);
}

/** The stack's config file (never committed: .gitignore). */
export function stackFile(): string {
  return path.join(REPO, "stacks", `Pulumi.${STACK}.yaml`);
}

/**
 * The first of the demo's loopback SSH ports (127.0.0.1:<first>, <first>+1, ... one per host).
 * Default 2201; ARROWHEAD_DEMO_PORT moves them. Throws when the value is not a usable port.
 */
export function firstPort(): number {
  const raw = process.env.ARROWHEAD_DEMO_PORT ?? "2201";
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1024 || n + HOSTS.length - 1 > 32767) {
    throw new Error(
      `ARROWHEAD_DEMO_PORT=${raw} is not usable: give a port from 1024 to ${32768 - HOSTS.length} ` +
        "(below Linux's ephemeral range), e.g. ARROWHEAD_DEMO_PORT=2301 npm run demo",
    );
  }
  return n;
}

/** The loopback SSH port of host number `index` (0-based). */
export function sshPortOf(index: number): number {
  return firstPort() + index;
}
