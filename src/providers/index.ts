// Picks the provider module for the stack's cloud. Every one returns the same Machine[].
//
// Only the chosen cloud's module is loaded. Pulumi's runtime type-checks every file the program
// loads (ts-node), and the cloud SDKs' declarations are large: loading all four made `pulumi up`
// of any stack compile @pulumi/aws, gcp, azure-native and digitalocean (1.45 GB, 14 s measured).
// The module names are built at run time so the type checker does not follow them either; each
// module's class is checked against MachineProviderClass by `npm test` (tsc sees every file).
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import type { CloudName } from "../config";
import { requireProviderModule } from "../dynamic-provider";
import type { MachineProvider, MachinesArgs } from "./common";

/** The constructor every provider module exports (a ComponentResource implementing MachineProvider). */
export type MachineProviderClass = new (
  name: string,
  args: MachinesArgs,
  opts?: pulumi.ComponentResourceOptions,
) => MachineProvider;

/** Cloud -> the module (beside this file) and the class it exports. */
export const PROVIDER_MODULES: Record<CloudName, { file: string; exportName: string }> = {
  aws: { file: "aws", exportName: "AwsMachines" },
  gcp: { file: "gcp", exportName: "GcpMachines" },
  azure: { file: "azure", exportName: "AzureMachines" },
  digitalocean: { file: "digitalocean", exportName: "DigitalOceanMachines" },
  existing: { file: "existing", exportName: "ExistingMachines" },
  local: { file: "local", exportName: "LocalMachines" },
};

/** Loads the provider class of one cloud. Throws when the module does not export it. */
export function providerClass(cloud: CloudName): MachineProviderClass {
  const { file, exportName } = PROVIDER_MODULES[cloud];
  // Under Pulumi's runtime ts-node loads it; elsewhere (tests, plain node) tsx is registered.
  const mod = requireProviderModule<Record<string, unknown>>(path.join(__dirname, file));
  const cls = mod[exportName];
  if (typeof cls !== "function") throw new Error(`src/providers/${file} exports no ${exportName}`);
  return cls as MachineProviderClass;
}

/** The chosen cloud's machines, as one ComponentResource named after the cloud. */
export function createMachines(
  args: MachinesArgs,
  opts?: pulumi.ComponentResourceOptions,
): MachineProvider {
  const cloud = args.spec.cloud;
  return new (providerClass(cloud))(cloud, args, opts);
}
