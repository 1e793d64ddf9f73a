import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWireSecret, unwrapSecret } from "./support/secrets";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];
/** Resource name -> names of the resources it depends on, as the SDK sends them to the engine. */
const dependsOn = new Map<string, string[]>();
const LAYOUT = {
  protectionDomain: "pd1",
  storagePool: "sp1",
  mediaType: "HDD",
  dockerVolumeGb: 16,
} as const;
let rpmDir = "";

beforeAll(async () => {
  rpmDir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-res-"));
  for (const c of ["mdm", "sds", "sdc", "lia"])
    fs.writeFileSync(path.join(rpmDir, `EMC-ScaleIO-${c}-3.6-700.103.el7.x86_64.rpm`), "x");
  fs.writeFileSync(path.join(rpmDir, "EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm"), "x");
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        registered.push({ type: a.type, name: a.name, inputs: a.inputs });
        const verified = a.type.endsWith(":Verification")
          ? { clusterMode: "3_node", clusterState: "Normal" }
          : {};
        return { id: `${a.name}-id`, state: { ...a.inputs, ...verified } };
      },
      call: (a) => a.inputs,
    },
    "arrowhead",
    "test",
    false,
  );
  // The monitor the mocks installed: record each registration's dependencies (URNs) as sent.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const names = req.getDependenciesList().map((urn) => urn.split("::").pop()!);
    dependsOn.set(req.getName(), names);
    return register(req, cb);
  };
});
interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}
afterAll(() => fs.rmSync(rpmDir, { recursive: true, force: true }));

describe("ScaleioCluster under mocks", () => {
  it("registers one step per host and stage, with serialized providers and secret inputs", async () => {
    const { ScaleioCluster } = await import("../../src/install/resources");
    const roles = [
      { mdm: "master" as const, services: ["sds", "sdc", "gateway", "docker"] as const },
      { mdm: "slave" as const, services: ["sds", "sdc", "docker"] as const },
      { mdm: "tiebreaker" as const, services: ["sds", "sdc", "docker"] as const },
    ];
    const c = new ScaleioCluster("lab", {
      machines: roles.map((r, i) => ({
        name: `node${i + 1}`,
        mdm: r.mdm,
        services: [...r.services],
        os: "centos7" as const,
        sshHost: pulumi.output("127.0.0.1"),
        sshPort: 2200 + i,
        sshUser: "root",
        publicAddress: "127.0.0.1",
        privateAddress: pulumi.output(`10.0.0.${i + 1}`),
        dataDisks: ["/dev/vdb"],
      })),
      privateKey: pulumi.secret(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----",
      ),
      os: "centos7",
      rpmDir,
      clusterName: "lab",
      ...LAYOUT,
      mdmPassword: pulumi.secret("Passw0rd!"),
      gatewayPassword: pulumi.secret("Gatew4y!"),
    });
    const state = await new Promise<string>((resolve) => c.clusterState.apply(resolve));
    // Read off the Verification step's outputs (the mocks answer as a healthy cluster would).
    expect(state).toBe("3_node Normal");
    const types = registered.map((r) => r.type);
    expect(types).toContain("arrowhead:scaleio:ScaleioCluster");
    // The dynamic provider renders the token as pulumi-nodejs:dynamic/<module>:<type>.
    const countAny = (t: string) =>
      types.filter((x) => x.endsWith(`arrowhead:scaleio:${t}`)).length;
    expect(countAny("HostPrep")).toBe(3);
    expect(countAny("HostPackages")).toBe(3);
    expect(countAny("MdmCluster")).toBe(1);
    expect(countAny("StorageLayout")).toBe(1);
    expect(countAny("Gateway")).toBe(1);
    expect(countAny("DockerVolume")).toBe(3);
    expect(countAny("Verification")).toBe(1);
    const steps = registered.filter(
      (r) => r.type.includes("arrowhead:scaleio:") && !r.type.endsWith("ScaleioCluster"),
    );
    for (const s of steps) {
      expect(typeof s.inputs.__provider).toBe("string");
      expect((s.inputs.__provider as string).length).toBeGreaterThan(100);
      // The closure must not drag in the installer or ssh2.
      expect(s.inputs.__provider as string).not.toMatch(/class SshSession|ssh2\/lib/);
      // Every step gets the whole spec as a secret, with the defaults the component fills in.
      expect(isWireSecret(s.inputs.spec), s.name).toBe(true);
      expect(unwrapSecret(s.inputs.spec)).toMatchObject({
        clusterName: "lab",
        rpmDir,
        ...LAYOUT,
        adopted: false,
        volumePlugin: true,
        machines: expect.arrayContaining([expect.objectContaining({ name: "node2" })]),
      });
    }
    expect(steps.map((s) => s.name)).toContain("lab-docker-node2");
  });

  it("makes each step depend on exactly the steps the plan's tasks wait for", async () => {
    const { planResources } = await import("../../src/install/plan");
    const nodes = [
      { name: "node1", mdm: "master" as const, services: ["sds", "sdc", "gateway", "docker"] },
      { name: "node2", mdm: "slave" as const, services: ["sds", "sdc", "docker"] },
      { name: "node3", mdm: "tiebreaker" as const, services: ["sds", "sdc", "docker"] },
    ] as const;
    const roles = nodes.map((n) => ({ ...n, services: [...n.services] }));
    const planned = planResources(roles);
    const nameOf = new Map(planned.map((r) => [r.key, `lab-${r.name}`]));
    // What the SDK sent for the steps registered by the first test: the plan's dependencies,
    // plus every HostPrep for the steps that read the pinned host keys (HostPrep's outputs).
    const prep = planned.filter((r) => r.kind === "HostPrep").map((r) => `lab-${r.name}`);
    for (const r of planned) {
      const sent = dependsOn.get(`lab-${r.name}`);
      const keys = r.kind === "HostPrep" ? [] : prep;
      expect(new Set(sent), r.name).toEqual(
        new Set([...r.after.map((k) => nameOf.get(k)), ...keys]),
      );
    }
    expect(planned.map((r) => `lab-${r.name}`).sort()).toEqual(
      [...dependsOn.keys()].filter((n) => n.startsWith("lab-")).sort(),
    );
    // The graph ScaleioCluster used to write by hand, plus Verification after MdmCluster
    // (implied: StorageLayout waits for it). A DockerVolume runs its host's share of the
    // volumes task, so it waits for what that share needs, not for the other hosts.
    const hosts = ["node1", "node2", "node3"];
    const each = <T>(f: (h: string) => T): T[] => hosts.map(f);
    const want: Record<string, string[]> = {
      ...Object.fromEntries(each((h): [string, string[]] => [`prep-${h}`, []])),
      ...Object.fromEntries(each((h): [string, string[]] => [`packages-${h}`, [`prep-${h}`]])),
      "mdm-cluster": each((h) => `packages-${h}`),
      storage: ["mdm-cluster", ...each((h) => `packages-${h}`)],
      "gateway-node1": ["mdm-cluster", "packages-node1"],
      ...Object.fromEntries(
        each((h): [string, string[]] => [`docker-${h}`, ["storage", `packages-${h}`]]),
      ),
      ...Object.fromEntries(
        each((h): [string, string[]] => [`volume-plugin-${h}`, [`docker-${h}`, "gateway-node1"]]),
      ),
      verify: [
        "mdm-cluster",
        "storage",
        "gateway-node1",
        ...each((h) => `docker-${h}`),
        ...each((h) => `volume-plugin-${h}`),
      ],
    };
    const nameByKey = new Map(planned.map((r) => [r.key, r.name]));
    expect(
      Object.fromEntries(planned.map((r) => [r.name, r.after.map((k) => nameByKey.get(k)).sort()])),
    ).toEqual(Object.fromEntries(Object.entries(want).map(([k, v]) => [k, [...v].sort()])));
    expect(planned.find((r) => r.name === "docker-node2")!.after.sort()).toEqual([
      "HostPackages:node2",
      "StorageLayout:node1",
    ]);
    expect(planned.find((r) => r.name === "volume-plugin-node2")!.after.sort()).toEqual([
      "DockerVolume:node2",
      "Gateway:node1",
    ]);
  });

  it("refuses an invalid topology or missing RPMs before anything registers", async () => {
    const { ScaleioCluster } = await import("../../src/install/resources");
    const base = {
      os: "centos7" as const,
      sshHost: "h",
      sshPort: 22,
      sshUser: "root",
      publicAddress: "h",
      privateAddress: "10.0.0.1",
      dataDisks: ["/dev/vdb"],
    };
    const args = {
      privateKey: pulumi.secret("k"),
      os: "centos7" as const,
      rpmDir,
      clusterName: "x",
      ...LAYOUT,
      mdmPassword: pulumi.secret("p"),
      gatewayPassword: pulumi.secret("g"),
    };
    expect(
      () =>
        new ScaleioCluster("bad", {
          ...args,
          machines: [{ ...base, name: "a", mdm: "master", services: ["sds"] }],
        }),
    ).toThrow(/1 slave \+ 1 tie-breaker/);
    const machines = ["master", "slave", "tiebreaker"].map((r, i) => ({
      ...base,
      name: `n${i}`,
      mdm: r as "master",
      services: ["sds" as const],
    }));
    expect(() => new ScaleioCluster("bad2", { ...args, rpmDir: "/nonexistent", machines })).toThrow(
      /does not exist/,
    );
  });
});
