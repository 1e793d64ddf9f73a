import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";

describe("digitalocean stack with the user's own key", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "digitalocean",
        os: "rocky8",
        allowedCidr: "203.0.113.0/28",
        sshPublicKey:
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me@laptop",
        digitalocean: { region: "fra1", size: "s-8vcpu-16gb" },
      },
      {
        ...PASSWORDS,
        sshPrivateKey:
          "-----BEGIN OPENSSH PRIVATE KEY-----\nmine\n-----END OPENSSH PRIVATE KEY-----",
      },
    );
  });

  it("creates droplets from the rocky slug in a VPC, with the user's key and no generated one", () => {
    const droplets = run.byType("digitalocean:index/droplet:Droplet");
    expect(droplets).toHaveLength(3);
    for (const d of droplets) {
      expect(d.inputs.image).toBe("rockylinux-8-x64");
      expect(d.inputs.size).toBe("s-8vcpu-16gb");
      expect(d.inputs.region).toBe("fra1");
    }
    expect(run.one("digitalocean:index/sshKey:SshKey").inputs.publicKey).toMatch(/ me@laptop$/);
    expect(run.byType("pulumi-nodejs:dynamic/arrowhead:SshKeyPair")).toHaveLength(0);
    expect(run.outputs.sshPrivateKey).toBeUndefined();
  });

  it("gives every SDS node a 100 GB volume", () => {
    const volumes = run.byType("digitalocean:index/volume:Volume");
    expect(volumes.map((v) => v.inputs.size)).toEqual([100, 100, 100]);
    expect(run.byType("digitalocean:index/volumeAttachment:VolumeAttachment")).toHaveLength(3);
  });

  it("firewalls ScaleIO to the VPC and SSH/gateway to the allowed CIDR", () => {
    const rules = run.one("digitalocean:index/firewall:Firewall").inputs.inboundRules as {
      portRange: string;
      sourceAddresses: string[];
    }[];
    const from = (port: string) =>
      rules.filter((r) => r.portRange === port).flatMap((r) => r.sourceAddresses);
    expect(from("9011")).toEqual(["10.20.0.0/24"]);
    expect(from("22")).toEqual(["203.0.113.0/28"]);
    expect(rules.flatMap((r) => r.sourceAddresses)).not.toContain("0.0.0.0/0");
  });

  it("keeps the MDM and gateway passwords secret in config", async () => {
    const config = new pulumi.Config("arrowhead");
    expect(await pulumi.isSecret(config.requireSecret("mdmPassword"))).toBe(true);
  });
});
