// Day 2: MDM roles that would flip kind (manager <-> tie-breaker) when the nodes change, found
// from the last `up`'s nodes and the new config's (src/install/day2-roles.ts), with the order
// that keeps every staying MDM in its kind; roles given by src/topology.ts as the config does.
import { describe, expect, it } from "vitest";
import { keepingOrder, mdmRoleFlips, roleFlipProblem } from "../../src/install/day2-roles";
import type { NodeSpec } from "../../src/config";
import type { NodeRoles } from "../../src/machine";
import { assignRoles } from "../../src/topology";

/** Roles as the config gives them: every named node MDM-capable, in this order. */
const roles = (names: string[], mode: "3_node" | "5_node" = "3_node"): NodeRoles[] =>
  assignRoles(
    names.map((name) => ({ name, roles: ["mdm", "sds", "sdc", "docker"] }) as NodeSpec),
    mode,
  );

describe("MDM roles that would flip kind on day 2", () => {
  const three = roles(["node1", "node2", "node3"]);

  it("finds the tie-breaker that would become the slave when the slave leaves", () => {
    const after = roles(["node1", "node3", "node4"]);
    expect(mdmRoleFlips(three, after)).toEqual([
      { node: "node3", was: "tiebreaker", would: "slave" },
    ]);
    const order = keepingOrder(three, after)!;
    expect(order).toEqual(["node1", "node4", "node3"]);
    // The order it names keeps every kind: no flip left.
    expect(mdmRoleFlips(three, roles(order))).toEqual([]);
    expect(roleFlipProblem(three, after)).toMatch(
      /node3 \(now tie-breaker\) would become slave\. .*in this order .*: node1, node4, node3\. Nothing was changed\./,
    );
  });

  it("lets master and slave trade places, a node lose its role, and a new one take the tie-breaker's", () => {
    expect(mdmRoleFlips(three, roles(["node2", "node1", "node3"]))).toEqual([]);
    expect(roleFlipProblem(three, roles(["node1", "node2", "node4"]))).toBeUndefined();
    const five = roles(["node1", "node2", "node4", "node3", "node5"], "5_node");
    expect(roleFlipProblem(three, five)).toBeUndefined();
    // 5 -> 3 in the natural order keeps node3 the tie-breaker; node4 and node5 lose their roles.
    expect(roleFlipProblem(five, three)).toBeUndefined();
  });

  it("3 -> 5 in plain order would make the tie-breaker a slave: the hint puts a new node first", () => {
    const after = roles(["node1", "node2", "node3", "node4", "node5"], "5_node");
    expect(mdmRoleFlips(three, after).map((f) => f.node)).toEqual(["node3"]);
    const order = keepingOrder(three, after)!;
    expect(order).toEqual(["node1", "node2", "node4", "node3", "node5"]);
    expect(mdmRoleFlips(three, roles(order, "5_node"))).toEqual([]);
  });

  it("says when no order can keep the kinds, and what to do instead", () => {
    const five = roles(["node1", "node2", "node3", "node4", "node5"], "5_node");
    // node2 (slave) leaves 5_node for 3_node with only former tie-breakers left to be the slave.
    const after = roles(["node1", "node4", "node5"]);
    expect(keepingOrder(five, after)).toBeUndefined();
    expect(roleFlipProblem(five, after)).toMatch(
      /node4 \(now tie-breaker\) would become slave\. .*No order of these nodes keeps each MDM's kind: give role "mdm" to a node that is no MDM yet/,
    );
  });
});
