// `arrowhead:aws`: the AWS stack's own config (read by config/clouds.ts, used by aws.ts).
import type { CloudReader } from "../config/cloud-reader";
import { DEFAULTS } from "../config/defaults";

export interface AwsSpec {
  region: string;
  availabilityZone?: string;
  instanceType: string;
  vpcCidr: string;
}

export function readAwsConfig(read: CloudReader): AwsSpec {
  const a = read.section<AwsSpec>("aws");
  const example = "aws: {region: eu-west-1}";
  read.need("aws.region", a.region, example);
  return {
    region: read.ident("aws.region", a.region, "", example),
    availabilityZone: read.optionalIdent(
      "aws.availabilityZone",
      a.availabilityZone,
      "aws: {availabilityZone: eu-west-1a}",
    ),
    instanceType: read.ident(
      "aws.instanceType",
      a.instanceType,
      DEFAULTS.aws.instanceType,
      `aws: {instanceType: ${DEFAULTS.aws.instanceType}}`,
    ),
    vpcCidr: read.cidr("aws.vpcCidr", a.vpcCidr, DEFAULTS.aws.vpcCidr),
  };
}
