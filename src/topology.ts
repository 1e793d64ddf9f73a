// Pure role assignment: which node is MDM master, slave or tie-breaker, and what else it runs.
import type { NodeSpec, ClusterMode } from "./config";
import type { MdmRole, NodeRoles, ServiceRole } from "./machine";

/** MDM roles in the order they are handed to MDM-capable nodes. */
const MDM_ORDER: Record<ClusterMode, MdmRole[]> = {
  "3_node": ["master", "slave", "tiebreaker"],
  "5_node": ["master", "slave", "slave", "tiebreaker", "tiebreaker"],
};

/**
 * The first MDM-capable nodes get the cluster's MDM roles in order (master first, so the
 * gateway's usual home, node1, is also the initial master); further MDM-capable nodes stay
 * plain members. The caller has validated that there are enough of them.
 */
export function assignRoles(nodes: NodeSpec[], mode: ClusterMode): NodeRoles[] {
  const mdmRoles = [...MDM_ORDER[mode]];
  return nodes.map((node) => {
    const services = node.roles.filter((r): r is ServiceRole => r !== "mdm");
    const mdm = node.roles.includes("mdm") ? mdmRoles.shift() : undefined;
    return mdm ? { name: node.name, mdm, services } : { name: node.name, services };
  });
}

/** The i-th (0-based) host address of a subnet, skipping the first ten for gateways/services. */
export function hostAddress(cidr: string, index: number): string {
  const [base, bits] = cidr.split("/");
  const start = base.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const offset = 11 + index;
  if (offset >= size - 1) {
    throw new Error(`Subnet ${cidr} is too small for ${index + 1} hosts; use a /24 or larger`);
  }
  const n = start + offset;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Human-readable role list for outputs, e.g. "mdm-master, sds, sdc, docker, gateway". */
export function describeRoles(node: NodeRoles): string {
  return [...(node.mdm ? [`mdm-${node.mdm}`] : []), ...node.services].join(", ");
}
