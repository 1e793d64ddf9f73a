// Config validation of ScaleIO names and of the MDM password, before any machine exists
// (issue 11: names, the vendor's rules, a long stack name).
import { describe, expect, it } from "vitest";
import { ConfigError, readSpec, type RawConfig } from "../../src/config";
import { rawConfig } from "./support/raw-config";
import { mdmPasswordProblem, objectName, OBJECT_NAME } from "../../src/install/scli";
import { legacyVolumeName, volumeName } from "../../src/install/stages/volumes";

const base = { cloud: "aws", allowedCidr: "203.0.113.7/32", aws: { region: "eu-west-1" } };
const GOOD_PW = "Str0ng!Passw0rd";

function raw(
  values: Record<string, unknown>,
  mdmPassword: string | undefined = GOOD_PW,
): RawConfig {
  const all: Record<string, unknown> = { ...values, mdmPassword, gatewayPassword: "Gw-pass1" };
  return rawConfig(all);
}

function problems(values: Record<string, unknown>, stack = "dev", pw?: string): string[] {
  try {
    readSpec(raw({ ...base, ...values }, pw), stack);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

describe("object names (issue 11 case 3)", () => {
  it("two long host names that share 31 characters get different valid names", () => {
    const a = objectName("storage-node-01.rack12.example.com");
    const b = objectName("storage-node-01.rack12.example.org");
    expect(a).not.toBe(b);
    for (const n of [a, b]) {
      expect(n).toMatch(OBJECT_NAME);
      expect(n.length).toBeLessThanOrEqual(31);
      expect(n.startsWith("storage-node-01_rack12")).toBe(true);
    }
    // Deterministic: the same input gives the same name on every run.
    expect(objectName("storage-node-01.rack12.example.com")).toBe(a);
  });
  it("valid names stay as they are; a cleaned name never equals a valid one", () => {
    expect(objectName("node1")).toBe("node1");
    expect(objectName("x".repeat(31))).toBe("x".repeat(31));
    expect(objectName("a.b")).not.toBe(objectName("a_b"));
    expect(objectName("a_b")).toBe("a_b");
    expect(objectName("x".repeat(32))).not.toBe(objectName("x".repeat(33)));
    expect(() => objectName("...")).toThrow(/no letter or digit/);
  });
  it("never ends the readable part in a dash", () => {
    // Cut at 22 this would be "arrowhead-productionn-".
    const n = objectName("arrowhead-productionn-eu-west-1-frankfurt");
    expect(n).toMatch(/^arrowhead-productionn-[0-9a-f]{8}$/);
  });
  it("volume names of long node names: distinct, and the legacy cut name is known", () => {
    const a = volumeName("storage-node-01-rack12-examplea");
    const b = volumeName("storage-node-01-rack12-exampleb");
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(31);
    expect(legacyVolumeName("storage-node-01-rack12-examplea")).toBe(
      legacyVolumeName("storage-node-01-rack12-exampleb"),
    );
    expect(volumeName("node1")).toBe("docker_node1");
    expect(legacyVolumeName("node1")).toBe("docker_node1");
  });
});

describe("config: names", () => {
  it("a long stack name gives a valid cluster name, not one cut ending in a dash", () => {
    const spec = readSpec(raw(base), "production-eu-west-1-blue");
    expect(spec.clusterName).toMatch(OBJECT_NAME);
    expect(spec.clusterName).not.toMatch(/-$/);
    expect(spec.clusterName).not.toBe("arrowhead-production-eu-west-1-");
    expect(spec.clusterName).toBe(objectName("arrowhead-production-eu-west-1-blue"));
    expect(readSpec(raw(base), "dev").clusterName).toBe("arrowhead-dev");
    expect(readSpec(raw(base), "team.dev").clusterName).toMatch(/^arrowhead-team_dev-[0-9a-f]{8}$/);
  });
  it("refuses user-given names with the rule and a valid suggestion", () => {
    const p = problems({ clusterName: "my cluster", protectionDomain: "p".repeat(32) });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(
      /arrowhead:protectionDomain: "p{32}" is not a valid ScaleIO name: ScaleIO names allow letters, digits, - and _, 1-31 characters, the first a letter or digit\. Example: arrowhead:protectionDomain: p{22}-[0-9a-f]{8}/,
    );
    expect(p[1]).toMatch(
      /arrowhead:clusterName: "my cluster" .* Example: arrowhead:clusterName: my_cluster-[0-9a-f]{8}/,
    );
  });
});

describe("config: the MDM password rule (issue 11 case 6)", () => {
  it.each([
    ["with a space", "Str0ng Passw0rd", /contains a space/],
    ["too short", "Ab1!", /has 4 characters/],
    ["too long", "Ab1!".repeat(8), /has 32 characters/],
    ["two classes", "lowercase123", /has 2 of the 4 character classes/],
  ])("refuses a password %s, naming the rule and not the value", (_what, pw, why) => {
    const p = problems({}, "dev", pw);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /^arrowhead:mdmPassword: does not meet the MDM's password rule \(6-31 characters, no spaces, and at least 3 of/,
    );
    expect(p[0]).toMatch(why);
    expect(p[0]).not.toContain(pw);
  });
  it("accepts passwords of 3 or 4 classes, and checks nothing when the value is not readable", () => {
    expect(problems({}, "dev", "Lab-Mdm-Pw1")).toEqual([]);
    expect(problems({}, "dev", "lower-UPPER")).toEqual([]);
    expect(mdmPasswordProblem("Sc4leio!")).toBeUndefined();
    expect(mdmPasswordProblem("abc-DEF")).toBeUndefined();
    const noValue: RawConfig = {
      ...raw(base),
      get: (k) => (k === "mdmPassword" ? undefined : raw(base).get(k)),
    };
    expect(readSpec(noValue, "dev").clusterName).toBe("arrowhead-dev");
  });
});
