// Azure: a resource group, a VNet with one subnet, a network security group (ScaleIO only from the
// VNet, SSH and gateway only from the allowed CIDR), a VM per node with managed data disks for SDS.
import * as pulumi from "@pulumi/pulumi";
import * as resources from "@pulumi/azure-native/resources";
import * as network from "@pulumi/azure-native/network";
import * as compute from "@pulumi/azure-native/compute";
import { CLUSTER_PORTS, PUBLIC_PORTS } from "../ports";
import type { Machine } from "../machine";
import { hostAddress } from "../topology";
import { userData } from "./cloud-init";
import { imageFor } from "./images";
import { hasSds, resourcePrefix, type MachineProvider, type MachinesArgs } from "./common";
import { specFor } from "../config/types";

export const AZURE_SSH_USER = "azureuser";

/** The Azure Linux agent's udev rules name data disks by LUN. */
export const azureDevicePath = (lun: number): string => `/dev/disk/azure/scsi1/lun${lun}`;

/** "publisher:offer:sku:version" as `az vm image list` prints it, for arrowhead:image. */
function parseUrn(urn: string) {
  const [publisher, offer, sku, version] = urn.split(":");
  return { publisher, offer, sku, version: version ?? "latest" };
}

export class AzureMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:providers:AzureMachines", name, {}, opts);
    const { nodes } = args;
    const spec = specFor("azure", args.spec);
    const z = spec.azure;
    const prefix = resourcePrefix(spec);
    const opt = { parent: this };
    const tags = { "arrowhead-stack": spec.stack };

    const group = new resources.ResourceGroup(`${name}-rg`, { location: z.location, tags }, opt);
    const at = { resourceGroupName: group.name, location: group.location };
    const vnet = new network.VirtualNetwork(
      `${name}-vnet`,
      { ...at, addressSpace: { addressPrefixes: [z.vnetCidr] }, tags },
      opt,
    );
    const nsg = new network.NetworkSecurityGroup(
      `${name}-nsg`,
      {
        ...at,
        tags,
        securityRules: [
          ...CLUSTER_PORTS.map((p, i) => ({
            name: `scaleio-${p.port}`,
            description: p.what,
            priority: 100 + i,
            direction: "Inbound",
            access: "Allow",
            protocol: "Tcp",
            sourceAddressPrefix: z.vnetCidr,
            sourcePortRange: "*",
            destinationAddressPrefix: "*",
            destinationPortRange: String(p.port),
          })),
          ...PUBLIC_PORTS.map((p, i) => ({
            name: `public-${p.port}`,
            description: `${p.what} from the allowed CIDR`,
            priority: 200 + i,
            direction: "Inbound",
            access: "Allow",
            protocol: "Tcp",
            sourceAddressPrefix: spec.allowedCidr,
            sourcePortRange: "*",
            destinationAddressPrefix: "*",
            destinationPortRange: String(p.port),
          })),
        ],
      },
      opt,
    );
    const subnet = new network.Subnet(
      `${name}-subnet`,
      {
        resourceGroupName: group.name,
        virtualNetworkName: vnet.name,
        addressPrefix: z.vnetCidr,
        networkSecurityGroup: { id: nsg.id },
      },
      opt,
    );

    const { plan, imageReference } = spec.image
      ? { plan: undefined, imageReference: parseUrn(spec.image) }
      : (({ kind: _kind, plan, ...reference }) => ({ plan, imageReference: reference }))(
          imageFor("azure", spec.os),
        );
    const machines = nodes.map((node, i) => {
      const publicIp = new network.PublicIPAddress(
        `${name}-${node.name}-ip`,
        { ...at, publicIPAllocationMethod: "Static", sku: { name: "Standard" }, tags },
        opt,
      );
      const privateIp = hostAddress(z.vnetCidr, i);
      const nic = new network.NetworkInterface(
        `${name}-${node.name}-nic`,
        {
          ...at,
          tags,
          ipConfigurations: [
            {
              name: "primary",
              subnet: { id: subnet.id },
              privateIPAllocationMethod: "Static",
              privateIPAddress: privateIp,
              publicIPAddress: { id: publicIp.id },
            },
          ],
        },
        opt,
      );
      const luns = hasSds(node) ? Array.from({ length: spec.sdsDisks.count }, (_, d) => d) : [];
      new compute.VirtualMachine(
        `${name}-${node.name}`,
        {
          ...at,
          tags,
          hardwareProfile: { vmSize: z.vmSize },
          networkProfile: { networkInterfaces: [{ id: nic.id, primary: true }] },
          osProfile: {
            computerName: node.name,
            adminUsername: AZURE_SSH_USER,
            customData: Buffer.from(
              userData({ os: spec.os, hostname: node.name, centos7VaultUrl: spec.centos7VaultUrl }),
            ).toString("base64"),
            linuxConfiguration: {
              disablePasswordAuthentication: true,
              ssh: {
                publicKeys: [
                  {
                    path: `/home/${AZURE_SSH_USER}/.ssh/authorized_keys`,
                    keyData: args.sshPublicKey,
                  },
                ],
              },
            },
          },
          // Rocky's marketplace image carries a plan; its terms must be accepted once per
          // subscription (az vm image terms accept --urn ...), see stacks/Pulumi.azure.yaml.
          plan,
          storageProfile: {
            imageReference,
            osDisk: {
              createOption: "FromImage",
              diskSizeGB: 30,
              managedDisk: { storageAccountType: "Premium_LRS" },
            },
            dataDisks: luns.map((lun) => ({
              lun,
              name: `${prefix}-${node.name}-sds${lun}`,
              createOption: "Empty",
              diskSizeGB: spec.sdsDisks.sizeGb,
              managedDisk: { storageAccountType: "Premium_LRS" },
            })),
          },
        },
        { ...opt, dependsOn: [nic] },
      );
      return publicIp.ipAddress.apply((address): Machine => ({
        ...node,
        os: spec.os,
        sshHost: address ?? "",
        sshPort: 22,
        sshUser: AZURE_SSH_USER,
        publicAddress: address ?? "",
        privateAddress: privateIp,
        dataDisks: luns.map(azureDevicePath),
      }));
    });

    this.machines = pulumi.all(machines);
    this.registerOutputs({ machines: this.machines });
  }
}
