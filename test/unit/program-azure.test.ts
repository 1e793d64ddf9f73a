import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";

describe("azure stack (rocky8 marketplace image)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "azure",
        os: "rocky8",
        allowedCidr: "192.0.2.10/32",
        sdsDisks: { count: 2, sizeGb: 256 },
        azure: { location: "westeurope", vmSize: "Standard_D8s_v5" },
      },
      PASSWORDS,
    );
  });

  it("creates VMs of the configured size from the resf image with its plan", () => {
    const vms = run.byType("azure-native:compute:VirtualMachine");
    expect(vms).toHaveLength(3);
    const vm = vms[0].inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(vm.hardwareProfile.vmSize).toBe("Standard_D8s_v5");
    expect(vm.storageProfile.imageReference).toEqual({
      publisher: "resf",
      offer: "rockylinux-x86_64",
      sku: "8-base",
      version: "latest",
    });
    expect(vm.plan).toEqual({ publisher: "resf", product: "rockylinux-x86_64", name: "8-base" });
    expect(
      vm.storageProfile.dataDisks.map((d: { lun: number; diskSizeGB: number }) => [
        d.lun,
        d.diskSizeGB,
      ]),
    ).toEqual([
      [0, 256],
      [1, 256],
    ]);
    expect(vm.osProfile.linuxConfiguration.disablePasswordAuthentication).toBe(true);
    expect(Buffer.from(vm.osProfile.customData, "base64").toString()).toContain(
      "hostnamectl set-hostname node1",
    );
  });

  it("opens ScaleIO ports to the VNet only and SSH/gateway to the allowed CIDR only", () => {
    const rules = run.one("azure-native:network:NetworkSecurityGroup").inputs.securityRules as {
      destinationPortRange: string;
      sourceAddressPrefix: string;
    }[];
    const from = (port: string) =>
      rules.filter((r) => r.destinationPortRange === port).map((r) => r.sourceAddressPrefix);
    expect(from("7072")).toEqual(["10.20.0.0/24"]);
    expect(from("22")).toEqual(["192.0.2.10/32"]);
    expect(rules.map((r) => r.sourceAddressPrefix)).not.toContain("*");
  });

  it("reports data disks by LUN path and the azureuser login", () => {
    expect((run.outputs.sshCommands as Record<string, string>).node2).toMatch(
      / azureuser@203\.0\.113\.\d+$/,
    );
  });
});
