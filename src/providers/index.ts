// Picks the provider module for the stack's cloud. Every one returns the same Machine[].
import * as pulumi from "@pulumi/pulumi";
import { AwsMachines } from "./aws";
import { AzureMachines } from "./azure";
import type { MachineProvider, MachinesArgs } from "./common";
import { DigitalOceanMachines } from "./digitalocean";
import { ExistingMachines } from "./existing";
import { GcpMachines } from "./gcp";
import { LocalMachines } from "./local";

export function createMachines(
  args: MachinesArgs,
  opts?: pulumi.ComponentResourceOptions,
): MachineProvider {
  switch (args.spec.cloud) {
    case "aws":
      return new AwsMachines("aws", args, opts);
    case "gcp":
      return new GcpMachines("gcp", args, opts);
    case "azure":
      return new AzureMachines("azure", args, opts);
    case "digitalocean":
      return new DigitalOceanMachines("digitalocean", args, opts);
    case "existing":
      return new ExistingMachines("existing", args, opts);
    case "local":
      return new LocalMachines("local", args, opts);
  }
}
