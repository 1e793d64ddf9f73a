// `arrowhead:digitalocean`: the DigitalOcean stack's own config (read by config/clouds.ts, used
// by digitalocean.ts).
import type { CloudReader } from "../config/cloud-reader";
import { DEFAULTS } from "../config/defaults";

export interface DigitalOceanSpec {
  region: string;
  size: string;
  vpcCidr: string;
}

export function readDigitalOceanConfig(read: CloudReader): DigitalOceanSpec {
  const d = read.section<DigitalOceanSpec>("digitalocean");
  const example = "digitalocean: {region: fra1}";
  read.need("digitalocean.region", d.region, example);
  return {
    region: read.ident("digitalocean.region", d.region, "", example),
    size: read.ident(
      "digitalocean.size",
      d.size,
      DEFAULTS.digitalocean.size,
      `digitalocean: {size: ${DEFAULTS.digitalocean.size}}`,
    ),
    vpcCidr: read.cidr("digitalocean.vpcCidr", d.vpcCidr, DEFAULTS.digitalocean.vpcCidr),
  };
}
