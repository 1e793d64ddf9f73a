// Key family `nodes` / `nodeCount` (and the node names `hosts` gives on existing hosts): which
// nodes there are and which roles each may take, and the layout rules over them.
import type { Collector } from "./collector";
import { key } from "./collector";
import { DEFAULTS } from "./defaults";
import {
  NODE_ROLE_NAMES,
  type CloudName,
  type ClusterMode,
  type NodeRoleName,
  type NodeSpec,
} from "./types";
import { NODE_NAME, wholeNumber } from "./values";

/**
 * The nodes (see readNodes) and the layout rules on them: enough MDM-capable and SDS nodes, one
 * gateway, an SDC under every Docker host. A node list that could not be read is one problem.
 */
export function readNodeLayout(
  c: Collector,
  cloud: CloudName,
  clusterMode: ClusterMode,
): NodeSpec[] {
  const before = c.count;
  // Existing hosts name the nodes themselves: adding a host entry adds a node.
  const hostNames =
    cloud === "existing" && c.cfg.get("nodeCount") === undefined
      ? hostEntryNames(c.cfg.getObject<unknown>("hosts"))
      : undefined;
  const nodes = readNodes(c, clusterMode, hostNames);
  if (c.count === before || nodes.length > 0) checkLayout(c, nodes, clusterMode);
  return nodes;
}

export function checkLayout(c: Collector, nodes: NodeSpec[], clusterMode: ClusterMode): void {
  const count = (role: NodeRoleName) => nodes.filter((n) => n.roles.includes(role)).length;
  const mdmNeeded = DEFAULTS.mdmNodes[clusterMode];
  const mdmCapable = count("mdm");
  if (mdmCapable < mdmNeeded) {
    c.add(
      `${key("nodes")}: a ${clusterMode} MDM cluster needs ${mdmNeeded} MDM-capable nodes (role "mdm"), but ${mdmCapable} ${mdmCapable === 1 ? "is" : "are"} listed. Example: give ${mdmNeeded} nodes roles [mdm, sds, sdc, docker], or set ${key("clusterMode")}: 3_node. Taking an MDM node out of a running cluster: give role "mdm" to another node in the same change (it joins as a standby and takes the role over, then the old one leaves; README "Day 2")`,
    );
  }
  const sdsCount = count("sds");
  if (sdsCount < 3) {
    c.add(
      `${key("nodes")}: ScaleIO needs at least 3 SDS nodes (two-copy mirroring needs three fault units), but ${sdsCount} ${sdsCount === 1 ? "has" : "have"} role "sds". Example: ${key("nodeCount")}: 3 (every node runs SDS), or add "sds" to more nodes' roles`,
    );
  }
  const gateways = count("gateway");
  if (gateways !== 1) {
    c.add(
      `${key("nodes")}: exactly one node must have role "gateway", found ${gateways}. Example: roles: [mdm, sds, sdc, docker, gateway] on the first node`,
    );
  }
  for (const n of nodes.filter((n) => n.roles.includes("docker") && !n.roles.includes("sdc"))) {
    c.add(
      `${key("nodes")}: node "${n.name}" has role "docker" but not "sdc"; its /var/lib/docker lives on a ScaleIO volume, which needs the SDC. Example: roles: [sdc, docker]`,
    );
  }
}

/** The names of arrowhead:hosts entries, when every entry has one (else undefined). */
function hostEntryNames(hosts: unknown): string[] | undefined {
  if (!Array.isArray(hosts) || hosts.length === 0) return undefined;
  const names = hosts.map((h) => (h as { name?: unknown })?.name);
  return names.every((n): n is string => typeof n === "string" && n !== "") ? names : undefined;
}

/**
 * The nodes: `nodes` as listed, or `nodeCount` nodes named node1..N, or (existing hosts without
 * either) one node per entry of `hosts`, by its name. The first 3 (5_node: 5) are the MDMs and
 * the first is the gateway; every node runs SDS, SDC and Docker.
 */
export function readNodes(
  c: Collector,
  clusterMode: ClusterMode,
  hostNames?: string[],
): NodeSpec[] {
  const listed = c.cfg.getObject<unknown>("nodes");
  return listed === undefined ? countedNodes(c, clusterMode, hostNames) : listedNodes(c, listed);
}

/** `nodeCount` nodes (default: the MDMs the mode needs), or one per named host entry. */
function countedNodes(c: Collector, clusterMode: ClusterMode, hostNames?: string[]): NodeSpec[] {
  const countRaw = c.cfg.get("nodeCount");
  const mdmNodes = DEFAULTS.mdmNodes[clusterMode];
  const named = hostNames && hostNames.length >= mdmNodes ? hostNames : undefined;
  const given = countRaw === undefined ? undefined : wholeNumber(countRaw, mdmNodes, 64);
  const count = named
    ? named.length
    : given === undefined
      ? mdmNodes
      : "value" in given
        ? given.value
        : NaN;
  if (!Number.isInteger(count) || count < mdmNodes || count > 64) {
    c.add(
      `${key("nodeCount")}: "${countRaw}" must be a whole number from ${mdmNodes} to 64 (a ${clusterMode} cluster ` +
        `needs ${mdmNodes} MDM nodes, and every node runs an SDS). Example: ${key("nodeCount")}: ${mdmNodes}`,
    );
    return [];
  }
  return Array.from({ length: count }, (_, i) => ({
    name: named?.[i] ?? `node${i + 1}`,
    roles: [
      ...(i < mdmNodes ? (["mdm"] as NodeRoleName[]) : []),
      "sds",
      "sdc",
      "docker",
      ...(i === 0 ? (["gateway"] as NodeRoleName[]) : []),
    ],
  }));
}

/** `nodes` as listed: each a unique lowercase name and known roles. */
function listedNodes(c: Collector, listed: unknown): NodeSpec[] {
  if (!Array.isArray(listed)) {
    c.add(
      `${key("nodes")}: must be a list of {name, roles}. Example: nodes: [{name: node1, roles: [mdm, sds, sdc, docker, gateway]}]`,
    );
    return [];
  }
  const seen = new Set<string>();
  return listed.map((raw, i) => {
    const entry = (raw ?? {}) as { name?: unknown; roles?: unknown };
    const name = typeof entry.name === "string" ? entry.name : `node${i + 1}`;
    if (!NODE_NAME.test(name)) {
      c.add(
        `${key(`nodes[${i}].name`)}: "${name}" must be a lowercase hostname (a-z, 0-9, -; at most 31 chars). Example: node${i + 1}`,
      );
    }
    if (seen.has(name))
      c.add(
        `${key(`nodes[${i}].name`)}: "${name}" is used twice; node names must be unique. Example: node${i + 1}`,
      );
    seen.add(name);
    const roles = Array.isArray(entry.roles) ? entry.roles : [];
    const bad = roles.filter((r) => !(NODE_ROLE_NAMES as readonly unknown[]).includes(r));
    if (roles.length === 0 || bad.length > 0) {
      c.add(
        `${key(`nodes[${i}].roles`)}: ${roles.length === 0 ? "must list at least one role" : `unknown role(s) ${bad.map((b) => JSON.stringify(b)).join(", ")}`} (known: ${NODE_ROLE_NAMES.join(", ")}). Example: roles: [sds, sdc, docker]`,
      );
    }
    return { name, roles: [...new Set(roles.filter((r) => !bad.includes(r)))] as NodeRoleName[] };
  });
}
