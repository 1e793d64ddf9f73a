// DigitalOcean: a VPC, a cloud firewall (ScaleIO only from the VPC, SSH and gateway only from the
// allowed CIDR), a droplet per node and block-storage volumes for SDS.
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { CLUSTER_PORTS, PUBLIC_PORTS } from "../ports";
import type { Machine } from "../machine";
import { userData } from "./cloud-init";
import { imageFor } from "./images";
import { hasSds, resourcePrefix, type MachineProvider, type MachinesArgs } from "./common";
import { specFor } from "../config/types";

/** DigitalOcean volumes appear under their own name. */
export const doDevicePath = (volumeName: string): string =>
  `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`;

export class DigitalOceanMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:providers:DigitalOceanMachines", name, {}, opts);
    const { nodes } = args;
    const spec = specFor("digitalocean", args.spec);
    const d = spec.digitalocean;
    const prefix = resourcePrefix(spec);
    const opt = { parent: this };

    const vpc = new digitalocean.Vpc(
      `${name}-vpc`,
      { name: prefix, region: d.region, ipRange: d.vpcCidr },
      opt,
    );
    const key = new digitalocean.SshKey(
      `${name}-key`,
      { name: prefix, publicKey: args.sshPublicKey },
      opt,
    );
    const image = spec.image ?? imageFor("digitalocean", spec.os).slug;

    const droplets = nodes.map((node) => {
      const droplet = new digitalocean.Droplet(
        `${name}-${node.name}`,
        {
          name: `${prefix}-${node.name}`,
          region: d.region,
          size: d.size,
          image,
          vpcUuid: vpc.id,
          sshKeys: [key.fingerprint],
          userData: userData({
            os: spec.os,
            hostname: node.name,
            centos7VaultUrl: spec.centos7VaultUrl,
          }),
          tags: [prefix],
        },
        opt,
      );
      const volumeNames = hasSds(node)
        ? Array.from({ length: spec.sdsDisks.count }, (_, i) => `${prefix}-${node.name}-sds${i}`)
        : [];
      for (const volumeName of volumeNames) {
        const volume = new digitalocean.Volume(
          volumeName,
          {
            name: volumeName,
            region: d.region,
            size: spec.sdsDisks.sizeGb,
            description: "Arrowhead SDS device (raw, left unformatted)",
          },
          opt,
        );
        new digitalocean.VolumeAttachment(
          volumeName,
          { dropletId: droplet.id.apply(Number), volumeId: volume.id },
          opt,
        );
      }
      return { node, droplet, volumeNames };
    });

    new digitalocean.Firewall(
      `${name}-fw`,
      {
        name: prefix,
        dropletIds: droplets.map((x) => x.droplet.id.apply(Number)),
        inboundRules: [
          ...CLUSTER_PORTS.map((p) => ({
            protocol: p.protocol,
            portRange: String(p.port),
            sourceAddresses: [d.vpcCidr],
          })),
          ...PUBLIC_PORTS.map((p) => ({
            protocol: p.protocol,
            portRange: String(p.port),
            sourceAddresses: [spec.allowedCidr],
          })),
        ],
        outboundRules: [
          { protocol: "tcp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0"] },
          { protocol: "udp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0"] },
        ],
      },
      opt,
    );

    this.machines = pulumi.all(
      droplets.map(({ node, droplet, volumeNames }) =>
        pulumi
          .all([droplet.ipv4Address, droplet.ipv4AddressPrivate])
          .apply(([publicIp, privateIp]): Machine => ({
            ...node,
            os: spec.os,
            sshHost: publicIp,
            sshPort: 22,
            sshUser: "root", // DigitalOcean images log in as root with the droplet's key
            publicAddress: publicIp,
            privateAddress: privateIp,
            dataDisks: volumeNames.map(doDevicePath),
          })),
      ),
    );
    this.registerOutputs({ machines: this.machines });
  }
}
