// Existing hosts: adopts the machines listed in config and creates nothing. Their SSH host keys
// come from config (never pinned blindly), their devices are the ones the user names.
import * as pulumi from "@pulumi/pulumi";
import type { Machine } from "../machine";
import { specFor } from "../config/types";
import type { MachineProvider, MachinesArgs } from "./common";

export class ExistingMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:providers:ExistingMachines", name, {}, opts);
    const hosts = new Map(specFor("existing", args.spec).existing.map((h) => [h.name, h]));
    this.machines = pulumi.output(
      args.nodes.map((node): Machine => {
        const host = hosts.get(node.name)!;
        return {
          ...node,
          os: args.spec.os,
          sshHost: host.address,
          sshPort: host.port,
          sshUser: host.user,
          publicAddress: host.address,
          privateAddress: host.privateAddress,
          dataDisks: host.dataDisks,
          hostKey: host.hostKey,
        };
      }),
    );
    this.registerOutputs({ machines: this.machines });
  }
}
