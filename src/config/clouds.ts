// The table of cloud config readers: each cloud's own reader lives beside its provider
// (src/providers/<cloud>-config.ts) and is registered here, once. A cloud missing from the
// table, or a reader returning another section, is a type error.
import { readAwsConfig } from "../providers/aws-config";
import { readAzureConfig } from "../providers/azure-config";
import { readDigitalOceanConfig } from "../providers/digitalocean-config";
import { readExistingConfig } from "../providers/existing-config";
import { readGcpConfig } from "../providers/gcp-config";
import { readLocalConfig } from "../providers/local-config";
import { CloudReader } from "./cloud-reader";
import type { Collector } from "./collector";
import type { CloudName, CloudSections, NodeSpec } from "./types";

/** Reads one cloud's section; `nodes` are the stack's nodes (existing hosts are checked against them). */
export type CloudConfigReader<C extends CloudName> = (
  read: CloudReader,
  nodes: NodeSpec[],
) => CloudSections[C];

export const CLOUD_READERS: { [C in CloudName]: CloudConfigReader<C> } = {
  local: readLocalConfig,
  aws: readAwsConfig,
  gcp: readGcpConfig,
  azure: readAzureConfig,
  digitalocean: readDigitalOceanConfig,
  existing: readExistingConfig,
};

/** The chosen cloud's own section, read by its registered reader. */
export function readCloudSection<C extends CloudName>(
  c: Collector,
  cloud: C,
  nodes: NodeSpec[],
): CloudSections[C] {
  return CLOUD_READERS[cloud](new CloudReader(cloud, c), nodes);
}
