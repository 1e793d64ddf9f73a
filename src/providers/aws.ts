// AWS: a VPC with one public subnet, a security group that opens ScaleIO only inside the VPC and
// SSH/gateway only to the allowed CIDR, an EC2 instance per node and EBS volumes for SDS.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CLUSTER_PORTS, PUBLIC_PORTS } from "../ports";
import type { Machine } from "../machine";
import { hostAddress } from "../topology";
import { userData } from "./cloud-init";
import { defaultSshUser, imageFor } from "./images";
import { hasSds, resourcePrefix, type MachineProvider, type MachinesArgs } from "./common";
import { specFor } from "../config/types";

/**
 * On Nitro instances EBS volumes are NVMe devices whose numbering is not stable; udev names them
 * by volume id, which is known as soon as the volume exists.
 */
export function ebsDevicePath(volumeId: string): string {
  return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`;
}

/** Attachment names AWS wants (the guest does not see them on Nitro). */
const ATTACH_NAMES = [
  "/dev/sdf",
  "/dev/sdg",
  "/dev/sdh",
  "/dev/sdi",
  "/dev/sdj",
  "/dev/sdk",
  "/dev/sdl",
  "/dev/sdm",
];

export class AwsMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:providers:AwsMachines", name, {}, opts);
    const { nodes } = args;
    const spec = specFor("aws", args.spec);
    const aws_ = spec.aws;
    const prefix = resourcePrefix(spec);
    const tags = { Name: prefix, "arrowhead:stack": spec.stack };
    const provider = new aws.Provider(
      `${name}-provider`,
      { region: aws_.region },
      { parent: this },
    );
    const opt = { parent: this, provider };

    const zone =
      aws_.availabilityZone ??
      aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this, provider }).names[0];
    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      { cidrBlock: aws_.vpcCidr, enableDnsHostnames: true, tags },
      opt,
    );
    const subnet = new aws.ec2.Subnet(
      `${name}-subnet`,
      {
        vpcId: vpc.id,
        cidrBlock: aws_.vpcCidr,
        availabilityZone: zone,
        mapPublicIpOnLaunch: true,
        tags,
      },
      opt,
    );
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags }, opt);
    const routes = new aws.ec2.RouteTable(
      `${name}-routes`,
      { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags },
      opt,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-routes-assoc`,
      { subnetId: subnet.id, routeTableId: routes.id },
      opt,
    );

    const firewall = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: vpc.id,
        description: "Arrowhead: ScaleIO inside the VPC, SSH and gateway from the allowed CIDR",
        ingress: [
          ...CLUSTER_PORTS.map((p) => ({
            protocol: p.protocol,
            fromPort: p.port,
            toPort: p.port,
            cidrBlocks: [aws_.vpcCidr],
            description: p.what,
          })),
          ...PUBLIC_PORTS.map((p) => ({
            protocol: p.protocol,
            fromPort: p.port,
            toPort: p.port,
            cidrBlocks: [spec.allowedCidr],
            description: `${p.what} from the allowed CIDR`,
          })),
        ],
        egress: [
          {
            protocol: "-1",
            fromPort: 0,
            toPort: 0,
            cidrBlocks: ["0.0.0.0/0"],
            description: "packages",
          },
        ],
        tags,
      },
      opt,
    );
    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: args.sshPublicKey, tags }, opt);

    const amiId = spec.image
      ? pulumi.output(spec.image)
      : (() => {
          const image = imageFor("aws", spec.os);
          return aws.ec2.getAmiOutput(
            {
              owners: [image.owner],
              mostRecent: true,
              includeDeprecated: image.includeDeprecated,
              filters: [
                { name: "name", values: [image.namePattern] },
                { name: "architecture", values: ["x86_64"] },
              ],
            },
            { parent: this, provider },
          ).id;
        })();

    const machines = nodes.map((node, i) => {
      const instance = new aws.ec2.Instance(
        `${name}-${node.name}`,
        {
          ami: amiId,
          instanceType: aws_.instanceType,
          subnetId: subnet.id,
          privateIp: hostAddress(aws_.vpcCidr, i),
          vpcSecurityGroupIds: [firewall.id],
          keyName: keyPair.keyName,
          userData: userData({
            os: spec.os,
            hostname: node.name,
            centos7VaultUrl: spec.centos7VaultUrl,
          }),
          rootBlockDevice: { volumeSize: 30, volumeType: "gp3" },
          tags: { ...tags, Name: `${prefix}-${node.name}` },
        },
        opt,
      );
      const disks = hasSds(node)
        ? Array.from({ length: spec.sdsDisks.count }, (_, d) => {
            const volume = new aws.ebs.Volume(
              `${name}-${node.name}-sds${d}`,
              {
                availabilityZone: instance.availabilityZone,
                size: spec.sdsDisks.sizeGb,
                type: "gp3",
                tags,
              },
              opt,
            );
            new aws.ec2.VolumeAttachment(
              `${name}-${node.name}-sds${d}`,
              { instanceId: instance.id, volumeId: volume.id, deviceName: ATTACH_NAMES[d] },
              opt,
            );
            return volume.id.apply(ebsDevicePath);
          })
        : [];
      return pulumi
        .all([instance.publicIp, instance.privateIp, pulumi.all(disks)])
        .apply(([publicIp, privateIp, dataDisks]): Machine => ({
          ...node,
          os: spec.os,
          sshHost: publicIp,
          sshPort: 22,
          sshUser: defaultSshUser(spec.os),
          publicAddress: publicIp,
          privateAddress: privateIp,
          dataDisks,
        }));
    });

    this.machines = pulumi.all(machines);
    this.registerOutputs({ machines: this.machines });
  }
}
