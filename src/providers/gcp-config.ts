// `arrowhead:gcp`: the GCP stack's own config (read by config/clouds.ts, used by gcp.ts).
import type { CloudReader } from "../config/cloud-reader";
import { key } from "../config/collector";
import { DEFAULTS } from "../config/defaults";

export interface GcpSpec {
  project?: string;
  region: string;
  zone: string;
  machineType: string;
  subnetCidr: string;
}

export function readGcpConfig(read: CloudReader): GcpSpec {
  const g = read.section<GcpSpec>("gcp");
  const example = "gcp: {region: europe-west1, zone: europe-west1-b}";
  read.need("gcp.region", g.region, example);
  read.need("gcp.zone", g.zone, example);
  if (g.zone && g.region && !String(g.zone).startsWith(`${g.region}-`)) {
    read.c.add(
      `${key("gcp.zone")}: "${g.zone}" is not in region "${g.region}". Example: ${g.region}-b`,
    );
  }
  return {
    project: read.optionalIdent("gcp.project", g.project, "gcp: {project: my-project-123}"),
    region: read.ident("gcp.region", g.region, "", example),
    zone: read.ident("gcp.zone", g.zone, "", example),
    machineType: read.ident(
      "gcp.machineType",
      g.machineType,
      DEFAULTS.gcp.machineType,
      `gcp: {machineType: ${DEFAULTS.gcp.machineType}}`,
    ),
    subnetCidr: read.cidr("gcp.subnetCidr", g.subnetCidr, DEFAULTS.gcp.subnetCidr),
  };
}
