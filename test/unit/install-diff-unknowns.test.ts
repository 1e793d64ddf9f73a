// Every install step's diff with the inputs the engine sends during a preview: values that are
// not known yet arrive as Pulumi's unknown sentinel string (the dynamic provider passes the raw
// struct to diff), anywhere in the inputs. `pulumi up` always previews first, so a diff that
// cannot cope fails the whole run (found with the CLI: HostPackages' diff read `.find` of an
// unknown spec).
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import type { Machine } from "../../src/machine";
import { withDeparting } from "../../src/install/day2";
import {
  diff,
  diffAndSay,
  holdsUnknown,
  UNKNOWN,
  type StepKind,
  type StepInputs,
  type StepOutputs,
} from "../../src/install/provider";
import { STEP_KINDS } from "../../src/install/registry";
import type { InstallSpec } from "../../src/install/spec";

// Every kind the registry declares (and, since users' state holds them, exactly these).
const KINDS: readonly StepKind[] = STEP_KINDS;

function machine(name: string, mdm: Machine["mdm"], services: Machine["services"]): Machine {
  return {
    name,
    mdm,
    services,
    os: "centos7",
    sshHost: "192.0.2.10",
    sshPort: 22,
    sshUser: "root",
    publicAddress: "192.0.2.10",
    privateAddress: `10.0.0.${name.slice(-1)}`,
    dataDisks: ["/dev/vdb"],
  };
}

const SPEC: InstallSpec = {
  machines: [
    machine("node1", "master", ["sds", "sdc", "gateway", "docker"]),
    machine("node2", "slave", ["sds", "sdc", "docker"]),
    machine("node3", "tiebreaker", ["sds", "sdc", "docker"]),
  ],
  privateKey: "key",
  os: "centos7",
  rpmDir: "/rpms",
  clusterName: "arrowhead-test",
  protectionDomain: "pd1",
  storagePool: "sp1",
  mediaType: "HDD",
  dockerVolumeGb: 16,
  mdmPassword: "Mdm-Passw0rd",
  gatewayPassword: "Gw-Passw0rd",
  adopted: true,
  volumePlugin: true,
};

const olds = (kind: StepKind): StepOutputs => ({ kind, host: "node1", spec: SPEC, changes: 0 });
const news = (kind: StepKind, spec: unknown, pinned?: Record<string, string>): StepInputs =>
  ({ kind, host: "node1", spec, pinnedHostKeys: pinned }) as StepInputs;

/** A deep copy of SPEC with one place set to the unknown sentinel. */
function specWith(edit: (s: Record<string, unknown>) => void): unknown {
  const copy = structuredClone(SPEC) as unknown as Record<string, unknown>;
  edit(copy);
  return copy;
}

describe("diff of every install step during a preview", () => {
  it("covers the kinds in users' state", () => {
    expect([...KINDS]).toEqual([
      "HostPrep",
      "HostPackages",
      "MdmCluster",
      "StorageLayout",
      "Gateway",
      "DockerVolume",
      "VolumePlugin",
      "Verification",
    ]);
  });

  it("uses the sentinel the engine sends", () => {
    expect(UNKNOWN).toBe(unknownValue);
  });

  it.each(KINDS)("%s: a spec that is unknown as a whole may change", (kind) => {
    expect(diff(olds(kind), news(kind, UNKNOWN))).toEqual({ changes: true });
  });

  it.each(KINDS)("%s: unknown machines, or one unknown address, may change", (kind) => {
    const cases = [
      specWith((s) => (s.machines = UNKNOWN)),
      specWith((s) => ((s.machines as Record<string, unknown>[])[2].privateAddress = UNKNOWN)),
      specWith((s) => ((s.machines as Record<string, unknown>[])[0].dataDisks = [UNKNOWN])),
      specWith((s) => (s.mdmPassword = UNKNOWN)),
    ];
    for (const spec of cases) expect(diff(olds(kind), news(kind, spec))).toEqual({ changes: true });
  });

  it.each(KINDS)("%s: a known spec with a new host's key still unknown is unchanged", (kind) => {
    const r = diff(olds(kind), news(kind, structuredClone(SPEC), { node1: "k", node4: UNKNOWN }));
    expect(r).toEqual({ changes: false });
  });

  it("holdsUnknown finds the sentinel at any depth and nothing else", () => {
    expect(holdsUnknown({ a: [{ b: UNKNOWN }] })).toBe(true);
    expect(holdsUnknown({ a: [{ b: "x" }], c: null, d: 3 })).toBe(false);
  });
});

describe("diff when nodes leave (day 2)", () => {
  // A fourth node that runs only an SDC: no per-kind `relevant` of the cluster-wide steps
  // mentions it, yet its leaving must reach the storage layout, which takes it out.
  const four = {
    ...SPEC,
    machines: [...SPEC.machines, machine("node4", undefined, ["sdc"])],
  };
  const was = (kind: StepKind): StepOutputs => ({ kind, host: "node1", spec: four, changes: 0 });
  it("the storage layout changes, the MDM cluster does not", () => {
    expect(diff(was("StorageLayout"), news("StorageLayout", structuredClone(SPEC)))).toEqual({
      changes: true,
    });
    expect(diff(was("MdmCluster"), news("MdmCluster", structuredClone(SPEC)))).toEqual({
      changes: false,
    });
  });
});

describe("the preview refuses MDM roles that would flip kind (day 2)", () => {
  // node2 (slave) leaves and node4 joins after node3: node3 (tie-breaker) would be the slave.
  const flipped = {
    ...SPEC,
    machines: [
      SPEC.machines[0],
      { ...SPEC.machines[2], mdm: "slave" as const },
      machine("node4", "tiebreaker", ["sds", "sdc", "docker"]),
    ],
  };
  it("fails the storage layout's diff with the order that keeps the roles", async () => {
    await expect(
      diffAndSay(olds("StorageLayout"), news("StorageLayout", structuredClone(flipped))),
    ).rejects.toThrow(/node3 \(now tie-breaker\) would become slave.*: node1, node4, node3\./);
  });
  it("says nothing while the spec is unknown, and nothing for other kinds", async () => {
    await expect(
      diffAndSay(olds("StorageLayout"), news("StorageLayout", UNKNOWN)),
    ).resolves.toEqual({ changes: true });
    await expect(diffAndSay(olds("MdmCluster"), news("MdmCluster", flipped))).resolves.toEqual({
      changes: true,
    });
  });
});

describe("withDeparting (day 2)", () => {
  it("names the nodes that left and the staying ones that lost their MDM role", () => {
    const five = {
      ...SPEC,
      machines: [
        ...SPEC.machines,
        machine("node4", "slave", ["sds", "sdc", "docker"]),
        machine("node5", "tiebreaker", ["sds", "sdc", "docker"]),
      ],
    };
    const three = {
      ...SPEC,
      machines: [...SPEC.machines, machine("node4", undefined, ["sds", "sdc", "docker"])],
    };
    const s = withDeparting(five, three);
    expect(s.departing?.map((m) => m.name)).toEqual(["node5"]);
    expect(s.demoted).toEqual(["node4"]);
    expect(withDeparting(three, three)).toEqual(three);
  });
});
