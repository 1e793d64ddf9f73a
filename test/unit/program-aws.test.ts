import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";
import { clearOccurrences, isWireSecret } from "./support/secrets";

describe("aws stack", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "aws",
        os: "centos7",
        allowedCidr: "203.0.113.7/32",
        sdsDisks: { count: 2, sizeGb: 120 },
        aws: { region: "eu-west-1", instanceType: "m5.xlarge" },
      },
      PASSWORDS,
    );
  });

  it("uses an explicit provider in the configured region", () => {
    expect(run.one("pulumi:providers:aws").inputs.region).toBe("eu-west-1");
  });

  it("creates three instances of the configured size in one subnet with fixed private IPs", () => {
    const instances = run.byType("aws:ec2/instance:Instance");
    expect(instances.map((i) => i.name)).toEqual(["aws-node1", "aws-node2", "aws-node3"]);
    for (const i of instances) {
      expect(i.inputs.instanceType).toBe("m5.xlarge");
      expect(i.inputs.ami).toBe("ami-0mockedmocked");
    }
    expect(instances.map((i) => i.inputs.privateIp)).toEqual([
      "10.20.0.11",
      "10.20.0.12",
      "10.20.0.13",
    ]);
  });

  it("attaches count x size EBS volumes to every SDS node", () => {
    const volumes = run.byType("aws:ebs/volume:Volume");
    expect(volumes).toHaveLength(6);
    for (const v of volumes) expect(v.inputs.size).toBe(120);
    expect(run.byType("aws:ec2/volumeAttachment:VolumeAttachment")).toHaveLength(6);
  });

  it("opens ScaleIO ports only inside the VPC and SSH/gateway only from the allowed CIDR", () => {
    const sg = run.one("aws:ec2/securityGroup:SecurityGroup");
    const ingress = sg.inputs.ingress as { fromPort: number; cidrBlocks: string[] }[];
    const sources = (port: number) =>
      ingress.filter((r) => r.fromPort === port).flatMap((r) => r.cidrBlocks);
    for (const port of [9011, 6611, 7072, 9099]) expect(sources(port)).toEqual(["10.20.0.0/24"]);
    expect(sources(22)).toEqual(["203.0.113.7/32"]);
    expect(sources(443).sort()).toEqual(["10.20.0.0/24", "203.0.113.7/32"]);
    expect(ingress.flatMap((r) => r.cidrBlocks)).not.toContain("0.0.0.0/0");
  });

  it("prepares CentOS 7 hosts to use the vault in user data", () => {
    const ud = run.byType("aws:ec2/instance:Instance")[0].inputs.userData as string;
    expect(ud).toMatch(/^#!\/bin\/bash/);
    expect(ud).toContain("s/^mirrorlist=/#mirrorlist=/");
    expect(ud).toContain("baseurl=https://vault.centos.org/7.9.2009");
    expect(ud).toContain("hostnamectl set-hostname node1");
  });

  it("generates a key pair for the stack and exports the private key as a secret only", () => {
    expect(run.one("aws:ec2/keyPair:KeyPair").inputs.publicKey).toMatch(/^ssh-ed25519 /);
    expect(run.one("pulumi-nodejs:dynamic/arrowhead:SshKeyPair").inputs.comment).toBe(
      "arrowhead-dev",
    );
  });

  it("installs ScaleIO through the installer's resources, one per host and stage", () => {
    const installer = run.resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/arrowhead:scaleio:"))
      .map((r) => `${r.type.split(":").pop()} ${r.name}`);
    // Registration order follows dependency resolution, which is not part of the contract.
    expect(installer.sort()).toEqual(
      [
        "HostPrep scaleio-prep-node1",
        "HostPrep scaleio-prep-node2",
        "HostPrep scaleio-prep-node3",
        "HostPackages scaleio-packages-node1",
        "HostPackages scaleio-packages-node2",
        "HostPackages scaleio-packages-node3",
        "MdmCluster scaleio-mdm-cluster",
        "StorageLayout scaleio-storage",
        "Gateway scaleio-gateway-node1",
        "DockerVolume scaleio-docker-node1",
        "DockerVolume scaleio-docker-node2",
        "DockerVolume scaleio-docker-node3",
        "VolumePlugin scaleio-volume-plugin-node1",
        "VolumePlugin scaleio-volume-plugin-node2",
        "VolumePlugin scaleio-volume-plugin-node3",
        "Verification scaleio-verify",
      ].sort(),
    );
  });

  it("looks the AMI up once through getAmi with the CentOS 7 owner, name and deprecated flag", () => {
    const lookups = run.calls.filter((c) => c.token === "aws:ec2/getAmi:getAmi");
    expect(lookups).toHaveLength(1);
    expect(lookups[0].inputs).toEqual({
      owners: ["125523088429"],
      mostRecent: true,
      includeDeprecated: true,
      filters: [
        { name: "name", values: ["CentOS Linux 7 x86_64 - 2211"] },
        { name: "architecture", values: ["x86_64"] },
      ],
    });
    // Every instance boots the image getAmi returned (the mocks answer "ami-0mockedmocked").
    for (const i of run.byType("aws:ec2/instance:Instance"))
      expect(i.inputs.ami).toBe("ami-0mockedmocked");
  });

  it("passes passwords and the private key to the installer only as secrets", () => {
    const needles = [PASSWORDS.mdmPassword, PASSWORDS.gatewayPassword, "OPENSSH PRIVATE KEY"];
    const everything = run.resources.map((r) => ({ ...r.inputs, __provider: undefined }));
    expect(clearOccurrences(everything, needles)).toEqual([]);
    const carriesSecret = run.resources.some((r) =>
      Object.values(r.inputs).some((v) => isWireSecret(v)),
    );
    expect(carriesSecret).toBe(true);
  });

  it("exports addresses, roles, ssh commands and the gateway URL", () => {
    const nodes = run.outputs.nodeSummary as {
      name: string;
      roles: string;
      privateAddress: string;
    }[];
    expect(nodes.map((n) => n.roles)).toEqual([
      "mdm-master, sds, sdc, docker, gateway",
      "mdm-slave, sds, sdc, docker",
      "mdm-tiebreaker, sds, sdc, docker",
    ]);
    const ssh = run.outputs.sshCommands as Record<string, string>;
    expect(ssh.node1).toMatch(/^ssh -i arrowhead.key -p 22 centos@198\.51\.100\.\d+$/);
    expect(run.outputs.gatewayUrl).toMatch(/^https:\/\/198\.51\.100\.\d+\/api$/);
  });
});

describe("aws image lookup", () => {
  it("the image table names the CentOS 7 owner, name and deprecated flag, and Rocky 9's owner", async () => {
    const { imageFor } = await import("../../src/providers/images");
    expect(imageFor("aws", "centos7")).toEqual({
      kind: "aws",
      owner: "125523088429",
      namePattern: "CentOS Linux 7 x86_64 - 2211",
      includeDeprecated: true,
    });
    expect(imageFor("aws", "rocky9").owner).toBe("792107900819");
  });
});
