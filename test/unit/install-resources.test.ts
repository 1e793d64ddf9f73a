import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];
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
        return { id: `${a.name}-id`, state: a.inputs };
      },
      call: (a) => a.inputs,
    },
    "arrowhead",
    "test",
    false,
  );
});
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
      mdmPassword: pulumi.secret("Passw0rd!"),
      gatewayPassword: pulumi.secret("Gatew4y!"),
    });
    const state = await new Promise<string>((resolve) => c.clusterState.apply(resolve));
    expect(typeof state).toBe("string");
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
      const spec = s.inputs.spec as Record<string, unknown>;
      expect(spec).toBeDefined();
    }
    expect(steps.map((s) => s.name)).toContain("lab-docker-node2");
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
