import { describe, expect, it } from "vitest";
import { assignRoles, describeRoles, hostAddress } from "../../src/topology";

describe("assignRoles", () => {
  it("3_node: master, slave, tie-breaker in node order", () => {
    const roles = assignRoles(
      [
        { name: "a", roles: ["mdm", "sds", "gateway"] },
        { name: "b", roles: ["sds", "sdc"] },
        { name: "c", roles: ["mdm", "sds"] },
        { name: "d", roles: ["mdm", "sds"] },
        { name: "e", roles: ["mdm", "sds"] },
      ],
      "3_node",
    );
    expect(roles.map((r) => r.mdm)).toEqual([
      "master",
      undefined,
      "slave",
      "tiebreaker",
      undefined,
    ]);
    expect(roles[0].services).toEqual(["sds", "gateway"]);
    expect(describeRoles(roles[2])).toBe("mdm-slave, sds");
  });

  it("5_node: one master, two slaves, two tie-breakers", () => {
    const roles = assignRoles(
      Array.from({ length: 5 }, (_, i) => ({ name: `n${i}`, roles: ["mdm" as const] })),
      "5_node",
    );
    expect(roles.map((r) => r.mdm)).toEqual([
      "master",
      "slave",
      "slave",
      "tiebreaker",
      "tiebreaker",
    ]);
  });
});

describe("hostAddress", () => {
  it("numbers hosts from .11", () => {
    expect(hostAddress("10.20.0.0/24", 0)).toBe("10.20.0.11");
    expect(hostAddress("10.20.1.0/23", 300)).toBe("10.20.2.55");
  });
  it("refuses a subnet that is too small", () => {
    expect(() => hostAddress("10.20.0.0/28", 4)).toThrow(/too small for 5 hosts/);
  });
});
