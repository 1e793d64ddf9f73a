// Key family `wipeDevices`: the SDS devices the installer may erase, per node; on existing
// hosts each must be one of the host's dataDisks.
import { key, type Collector } from "./collector";
import type { ExistingHostSpec, NodeSpec } from "./types";
import { devicePathProblem } from "./values";

const WIPE_EXAMPLE = `${key("wipeDevices")}: {node2: [/dev/sdb]}`;

/**
 * `wipeDevices`: node name -> device paths the installer may erase (wipefs -a) when they hold a
 * file system or partition table. Every other non-empty SDS device is refused.
 */
export function readWipeDevices(c: Collector, nodes: NodeSpec[]): Record<string, string[]> {
  const raw = c.cfg.getObject<unknown>("wipeDevices");
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    c.add(
      `${key("wipeDevices")}: must map node names to lists of devices. Example: ${WIPE_EXAMPLE}`,
    );
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const [node, list] of Object.entries(raw as Record<string, unknown>)) {
    const at = `wipeDevices.${node}`;
    const sds = nodes.find((n) => n.name === node && n.roles.includes("sds"));
    if (nodes.length > 0 && !sds) {
      c.add(
        `${key(at)}: "${node}" is not an SDS node (SDS nodes: ${nodes
          .filter((n) => n.roles.includes("sds"))
          .map((n) => n.name)
          .join(", ")}). Example: ${WIPE_EXAMPLE}`,
      );
      continue;
    }
    const paths = Array.isArray(list) ? list : [];
    const bad = paths.filter((d) => devicePathProblem(d) !== undefined);
    if (paths.length === 0 || bad.length > 0) {
      c.add(
        `${key(at)}: ${paths.length === 0 ? "must list at least one device" : `${bad.map((b) => JSON.stringify(b)).join(", ")} is not a device path`}. Example: ${WIPE_EXAMPLE}`,
      );
      continue;
    }
    out[node] = paths as string[];
  }
  return out;
}

/** On existing hosts the devices are known: a wipe option must name one of the host's dataDisks. */
export function checkWipeDevicesAgainstHosts(
  c: Collector,
  wipeDevices: Record<string, string[]>,
  hosts: ExistingHostSpec[],
): void {
  for (const [node, devices] of Object.entries(wipeDevices)) {
    const host = hosts.find((h) => h.name === node);
    if (!host) continue;
    for (const d of devices.filter((d) => !host.dataDisks.includes(d))) {
      c.add(
        `${key(`wipeDevices.${node}`)}: ${d} is not one of ${node}'s dataDisks (${host.dataDisks.join(", ") || "none"}); ` +
          `only SDS devices are ever wiped. Example: ${key("wipeDevices")}: {${node}: [${host.dataDisks[0] ?? "/dev/sdb"}]}`,
      );
    }
  }
}
