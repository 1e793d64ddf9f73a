// GCP: a custom-mode VPC with one subnet, firewall rules (ScaleIO only from the subnet, SSH and
// gateway only from the allowed CIDR), a VM per node with persistent disks for SDS.
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { CLUSTER_PORTS, PUBLIC_PORTS } from "../ports";
import type { Machine } from "../machine";
import { hostAddress } from "../topology";
import { userData } from "./cloud-init";
import { imageFor } from "./images";
import { hasSds, resourcePrefix, type MachineProvider, type MachinesArgs } from "./common";
import { specFor } from "../config/types";

/** GCP names the login user after the key's metadata entry; we choose one for every OS. */
export const GCP_SSH_USER = "arrowhead";

/** Attached disks appear under the device name we give them. */
export const gcpDevicePath = (deviceName: string): string => `/dev/disk/by-id/google-${deviceName}`;

const uniquePorts = (rules: readonly { port: number }[]) => [
  ...new Set(rules.map((r) => String(r.port))),
];

export class GcpMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:providers:GcpMachines", name, {}, opts);
    const { nodes } = args;
    const spec = specFor("gcp", args.spec);
    const g = spec.gcp;
    const prefix = resourcePrefix(spec);
    const provider = new gcp.Provider(
      `${name}-provider`,
      { project: g.project, region: g.region, zone: g.zone },
      { parent: this },
    );
    const opt = { parent: this, provider };
    const labels = { "arrowhead-stack": spec.stack.toLowerCase() };

    const network = new gcp.compute.Network(`${name}-net`, { autoCreateSubnetworks: false }, opt);
    const subnet = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      { network: network.id, region: g.region, ipCidrRange: g.subnetCidr },
      opt,
    );
    new gcp.compute.Firewall(
      `${name}-cluster`,
      {
        network: network.id,
        description: "ScaleIO ports, only between the cluster's machines",
        direction: "INGRESS",
        sourceRanges: [g.subnetCidr],
        targetTags: [prefix],
        allows: [{ protocol: "tcp", ports: uniquePorts(CLUSTER_PORTS) }],
      },
      opt,
    );
    new gcp.compute.Firewall(
      `${name}-public`,
      {
        network: network.id,
        description: "SSH and the ScaleIO gateway, only from the allowed CIDR",
        direction: "INGRESS",
        sourceRanges: [spec.allowedCidr],
        targetTags: [prefix],
        allows: [{ protocol: "tcp", ports: uniquePorts(PUBLIC_PORTS) }],
      },
      opt,
    );

    const image =
      spec.image ??
      (() => {
        const i = imageFor("gcp", spec.os);
        return `projects/${i.project}/global/images/family/${i.family}`;
      })();

    const machines = nodes.map((node, i) => {
      const diskNames = hasSds(node)
        ? Array.from({ length: spec.sdsDisks.count }, (_, d) => `sds${d}`)
        : [];
      const disks = diskNames.map(
        (deviceName) =>
          new gcp.compute.Disk(
            `${name}-${node.name}-${deviceName}`,
            { zone: g.zone, size: spec.sdsDisks.sizeGb, type: "pd-balanced", labels },
            opt,
          ),
      );
      const vm = new gcp.compute.Instance(
        `${name}-${node.name}`,
        {
          zone: g.zone,
          machineType: g.machineType,
          tags: [prefix],
          labels,
          bootDisk: { initializeParams: { image, size: 30 } },
          attachedDisks: disks.map((disk, d) => ({ source: disk.id, deviceName: diskNames[d] })),
          networkInterfaces: [
            { subnetwork: subnet.id, networkIp: hostAddress(g.subnetCidr, i), accessConfigs: [{}] },
          ],
          metadata: { "ssh-keys": pulumi.interpolate`${GCP_SSH_USER}:${args.sshPublicKey}` },
          metadataStartupScript: userData({
            os: spec.os,
            hostname: node.name,
            centos7VaultUrl: spec.centos7VaultUrl,
          }),
        },
        opt,
      );
      const nic = vm.networkInterfaces[0];
      return pulumi
        .all([nic.accessConfigs, nic.networkIp])
        .apply(([access, privateIp]): Machine => {
          const publicIp = access?.[0]?.natIp ?? "";
          return {
            ...node,
            os: spec.os,
            sshHost: publicIp,
            sshPort: 22,
            sshUser: GCP_SSH_USER,
            publicAddress: publicIp,
            privateAddress: privateIp,
            dataDisks: diskNames.map(gcpDevicePath),
          };
        });
    });

    this.machines = pulumi.all(machines);
    this.registerOutputs({ machines: this.machines });
  }
}
