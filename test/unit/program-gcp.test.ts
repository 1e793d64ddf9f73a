import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";

describe("gcp stack (rocky8, 5-node MDM, one extra client)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "gcp",
        os: "rocky8",
        clusterMode: "5_node",
        nodeCount: "6",
        allowedCidr: "198.51.100.0/24",
        gcp: {
          project: "my-proj",
          region: "europe-west1",
          zone: "europe-west1-b",
          machineType: "n2-standard-4",
        },
      },
      PASSWORDS,
    );
  });

  it("uses the rocky-linux-cloud family image and the configured machine type", () => {
    const vms = run.byType("gcp:compute/instance:Instance");
    expect(vms).toHaveLength(6);
    for (const vm of vms) {
      expect(vm.inputs.machineType).toBe("n2-standard-4");
      expect(
        (vm.inputs.bootDisk as { initializeParams: { image: string } }).initializeParams.image,
      ).toBe("projects/rocky-linux-cloud/global/images/family/rocky-linux-8");
    }
  });

  it("creates one 100 GB disk per SDS node and attaches it under a stable device name", () => {
    const disks = run.byType("gcp:compute/disk:Disk");
    expect(disks).toHaveLength(6);
    for (const d of disks) expect(d.inputs.size).toBe(100);
    const attached = run.byType("gcp:compute/instance:Instance")[0].inputs.attachedDisks as {
      deviceName: string;
    }[];
    expect(attached.map((a) => a.deviceName)).toEqual(["sds0"]);
  });

  it("limits ScaleIO ports to the subnet and SSH/gateway to the allowed CIDR", () => {
    const fws = run.byType("gcp:compute/firewall:Firewall");
    const cluster = fws.find((f) => f.name.endsWith("-cluster"))!;
    const pub = fws.find((f) => f.name.endsWith("-public"))!;
    expect(cluster.inputs.sourceRanges).toEqual(["10.20.0.0/24"]);
    expect((cluster.inputs.allows as { ports: string[] }[])[0].ports).toEqual([
      "9011",
      "6611",
      "7072",
      "9099",
      "443",
    ]);
    expect(pub.inputs.sourceRanges).toEqual(["198.51.100.0/24"]);
    expect((pub.inputs.allows as { ports: string[] }[])[0].ports).toEqual(["22", "443"]);
    for (const f of fws) expect(f.inputs.sourceRanges).not.toContain("0.0.0.0/0");
  });

  it("runs the shared preparation as the startup script and injects the key for user arrowhead", () => {
    const vm = run.byType("gcp:compute/instance:Instance")[0];
    expect(vm.inputs.metadataStartupScript).toContain("hostnamectl set-hostname node1");
    expect(vm.inputs.metadataStartupScript).not.toContain("vault.centos.org");
    expect((vm.inputs.metadata as Record<string, string>)["ssh-keys"]).toMatch(
      /^arrowhead:ssh-ed25519 /,
    );
  });

  it("assigns a 5-node MDM cluster and leaves the sixth node a plain member", () => {
    const nodes = run.outputs.nodeSummary as { roles: string }[];
    expect(nodes.map((n) => n.roles.split(", ")[0])).toEqual([
      "mdm-master",
      "mdm-slave",
      "mdm-slave",
      "mdm-tiebreaker",
      "mdm-tiebreaker",
      "sds",
    ]);
    expect((run.outputs.sshCommands as Record<string, string>).node6).toMatch(
      /^ssh .* arrowhead@203\.0\.113\.\d+$/,
    );
  });
});
