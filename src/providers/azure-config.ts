// `arrowhead:azure`: the Azure stack's own config (read by config/clouds.ts, used by azure.ts).
import type { CloudReader } from "../config/cloud-reader";
import { DEFAULTS } from "../config/defaults";

export interface AzureSpec {
  location: string;
  vmSize: string;
  vnetCidr: string;
}

export function readAzureConfig(read: CloudReader): AzureSpec {
  const z = read.section<AzureSpec>("azure");
  const example = "azure: {location: westeurope}";
  read.need("azure.location", z.location, example);
  return {
    location: read.ident("azure.location", z.location, "", example),
    vmSize: read.ident(
      "azure.vmSize",
      z.vmSize,
      DEFAULTS.azure.vmSize,
      `azure: {vmSize: ${DEFAULTS.azure.vmSize}}`,
    ),
    vnetCidr: read.cidr("azure.vnetCidr", z.vnetCidr, DEFAULTS.azure.vnetCidr),
  };
}
