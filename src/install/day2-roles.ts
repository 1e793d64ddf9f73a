// Day 2: MDM roles that would flip between manager and tie-breaker. The roles follow the order of
// the MDM-capable nodes (src/topology.ts), so taking out an MDM node can hand a staying node
// another kind of role: remove the slave of node1 (master), node2 (slave), node3 (tie-breaker)
// and add node4, and node3 would become the slave. An MDM's kind is fixed when its package is
// installed (MDM_ROLE_IS_MANAGER, read by the package scripts: Dell's ansible-powerflex
// roles/powerflex_mdm and powerflex_tb install managers and tie-breakers as different
// installs), so a tie-breaker cannot become a manager, nor the reverse, without a reinstall.
// This is checked from the last `up`'s nodes and the new config's, in the preview (provider.ts
// diffAndSay), before any package is installed; the refusal names an order of the nodes that
// keeps every staying MDM in its kind of role (the new node takes the leaving node's place).
// Pure: no I/O.
import type { MdmRole, NodeRoles } from "../machine";

type Kind = "manager" | "tie-breaker";

const kindOf = (r: MdmRole | undefined): Kind | undefined =>
  r === undefined ? undefined : r === "tiebreaker" ? "tie-breaker" : "manager";

const roleWord = (r: MdmRole) => (r === "tiebreaker" ? "tie-breaker" : r);

/** A staying node whose MDM role would change kind (manager <-> tie-breaker). */
export interface RoleFlip {
  node: string;
  was: MdmRole;
  would: MdmRole;
}

/** The staying nodes whose MDM role would change kind between `before` and `after`. */
export function mdmRoleFlips(before: NodeRoles[], after: NodeRoles[]): RoleFlip[] {
  const flips: RoleFlip[] = [];
  for (const a of after) {
    const b = before.find((x) => x.name === a.name);
    const was = b?.mdm;
    const would = a.mdm;
    if (was && would && kindOf(was) !== kindOf(would)) flips.push({ node: a.name, was, would });
  }
  return flips;
}

/**
 * The new config's MDM role holders in an order that gives each staying one the kind of role it
 * has (the old master first), nodes new to the MDM cluster in the free places; undefined when
 * no order can (more former tie-breakers than tie-breaker places, or the reverse).
 */
export function keepingOrder(before: NodeRoles[], after: NodeRoles[]): string[] | undefined {
  const holders = after.filter((a) => a.mdm);
  const managerPlaces = holders.filter((a) => kindOf(a.mdm) === "manager").length;
  const tbPlaces = holders.length - managerPlaces;
  const was = (n: NodeRoles) => before.find((b) => b.name === n.name)?.mdm;
  const rank = (r: MdmRole | undefined) => (r === "master" ? 0 : 1);
  const managers = holders
    .filter((h) => kindOf(was(h)) === "manager")
    .sort((x, y) => rank(was(x)) - rank(was(y)));
  const tbs = holders.filter((h) => kindOf(was(h)) === "tie-breaker");
  const fresh = holders.filter((h) => !was(h));
  if (managers.length > managerPlaces || tbs.length > tbPlaces) return undefined;
  const freeManager = managerPlaces - managers.length;
  const order = [...managers, ...fresh.slice(0, freeManager), ...tbs, ...fresh.slice(freeManager)];
  return order.map((n) => n.name);
}

/**
 * The refusal for a config whose MDM roles would flip kind, with the steps; undefined when none
 * would. Throwing it from the preview stops `pulumi up` before anything changes.
 */
export function roleFlipProblem(before: NodeRoles[], after: NodeRoles[]): string | undefined {
  const flips = mdmRoleFlips(before, after);
  if (flips.length === 0) return undefined;
  const what = flips
    .map((f) => `${f.node} (now ${roleWord(f.was)}) would become ${roleWord(f.would)}`)
    .join(", ");
  const order = keepingOrder(before, after);
  const fix = order
    ? `List the MDM nodes in this order (first in arrowhead:nodes or arrowhead:hosts; a stack sized by nodeCount lists them in arrowhead:nodes), so each keeps its kind of role and a new node takes the leaving node's: ${order.join(", ")}`
    : `No order of these nodes keeps each MDM's kind: give role "mdm" to a node that is no MDM yet, or take the node out of the cluster first, remove its MDM package (I_AM_SURE=1 rpm -e EMC-ScaleIO-mdm) and add it back in the new role`;
  return (
    `day 2: MDM roles follow the order of the MDM-capable nodes, and with this config ${what}. ` +
    `An MDM is installed as a manager or a tie-breaker (MDM_ROLE_IS_MANAGER) and cannot change ` +
    `kind in place. ${fix}. Nothing was changed.`
  );
}
