// LocalMachines under Pulumi's mocks: what it registers, what it outputs, and that the dynamic
// providers serialize (they must capture no native module and stay small).
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const registered: Registered[] = [];

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const extra: Record<string, unknown> = {};
        if (args.type === "pulumi-nodejs:dynamic:Resource") {
          if ("hubPort" in args.inputs) {
            // What the real create() adds: ports, key, devices.
            const n = registered.filter((r) => "hubPort" in r.inputs).length;
            Object.assign(extra, {
              sshPort: 40000 + n,
              gatewayPort: args.inputs.forwardGateway ? 41000 + n : undefined,
              hostKey: `ssh-ed25519 AAAAkey${n}`,
              dataDevices: ["/dev/vdb", "/dev/vdc"],
            });
          } else {
            Object.assign(extra, { port: 39999, pid: 1, dir: "/x" });
          }
        }
        return { id: `${args.name}-id`, state: { ...args.inputs, ...extra } };
      },
      call: (args) => args.inputs,
    },
    "arrowhead",
    "unit",
    false,
  );
});

function resolve<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((r) => o.apply(r));
}

describe("LocalMachines", () => {
  it("registers a hub and one machine per node, and outputs Machine[]", async () => {
    const { LocalMachines } = await import("../../src/providers/local");
    const lm = new LocalMachines("local", {
      stack: "unit",
      baseImage: "/images/Rocky-9-GenericCloud.qcow2",
      os: "rocky9",
      nodes: [
        { name: "node1", mdm: "master", services: ["sds", "sdc", "gateway"] },
        { name: "node2", mdm: "slave", services: ["sds", "sdc"] },
        { name: "node3", mdm: "tiebreaker", services: ["sds"] },
      ],
      cpus: 2,
      memoryMb: 3072,
      dataDisks: { count: 2, sizeGb: 100 },
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBDvzJ6UsbcHYoyj user\n",
      stateDir: "/var/tmp/ah",
      networkCidr: "10.77.0.0/24",
      bootTimeoutSec: 300,
    });
    const machines = await resolve(lm.machines);
    expect(machines.map((m) => m.name)).toEqual(["node1", "node2", "node3"]);
    expect(machines[0]).toMatchObject({
      mdm: "master",
      sshHost: "127.0.0.1",
      sshUser: "rocky",
      os: "rocky9",
      publicAddress: "127.0.0.1",
      privateAddress: "10.77.0.11",
      dataDisks: ["/dev/vdb", "/dev/vdc"],
    });
    expect(machines[0].forwardedPorts?.[443]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(machines[1].forwardedPorts?.[443]).toBeUndefined();
    expect(machines[2].privateAddress).toBe("10.77.0.13");
    expect(new Set(machines.map((m) => m.sshPort)).size).toBe(3);

    const types = registered.map((r) => r.type);
    expect(types.filter((t) => t === "arrowhead:providers:LocalMachines")).toHaveLength(1);
    const dyn = registered.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource");
    expect(dyn.map((r) => r.name).sort()).toEqual([
      "local-hub",
      "local-node1",
      "local-node2",
      "local-node3",
    ]);
    const node1 = dyn.find((r) => r.name === "local-node1")!.inputs;
    expect(node1).toMatchObject({
      cpus: 2,
      memoryMb: 3072,
      sshUser: "rocky",
      privateCidr: "10.77.0.11/24",
      hubPort: 39999,
      forwardGateway: true,
      stateDir: "/var/tmp/ah",
      dataDisks: { count: 2, sizeGb: 100, format: "qcow2" },
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBDvzJ6UsbcHYoyj user",
    });
    expect(String(node1.prepareScript)).toContain("hostnamectl set-hostname node1");
    // The serialized provider loads the driver by path at run time instead of embedding it.
    const provider = String(node1.__provider);
    expect(provider).toContain("local/index");
    expect(provider).not.toContain("qemu-img create");
    expect(provider.length).toBeLessThan(20_000);
  });
});
