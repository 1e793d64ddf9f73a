// The validated, typed stack config. `Spec` is a union on `cloud`: a spec carries the section of
// its own cloud (required) and no other, so `spec.cloud === "aws"` gives `spec.aws` without `!`.
// Each cloud's section type lives beside its provider (src/providers/<cloud>-config.ts).
import type { StoragePoolSpec } from "../install/pools";
import type { OsName, ServiceRole } from "../machine";
import type { AwsSpec } from "../providers/aws-config";
import type { AzureSpec } from "../providers/azure-config";
import type { DigitalOceanSpec } from "../providers/digitalocean-config";
import type { ExistingHostSpec } from "../providers/existing-config";
import type { GcpSpec } from "../providers/gcp-config";
import type { LocalSpec } from "../providers/local-config";

export type { StoragePoolSpec };
export type { AwsSpec, AzureSpec, DigitalOceanSpec, ExistingHostSpec, GcpSpec, LocalSpec };

/** Each cloud's own config section, by cloud name (the `arrowhead:<cloud>` key; existing: `hosts`). */
export interface CloudSections {
  local: LocalSpec;
  aws: AwsSpec;
  gcp: GcpSpec;
  azure: AzureSpec;
  digitalocean: DigitalOceanSpec;
  existing: ExistingHostSpec[];
}
export type CloudName = keyof CloudSections;
export const CLOUDS: readonly CloudName[] = [
  "local",
  "aws",
  "gcp",
  "azure",
  "digitalocean",
  "existing",
];
export const OSES: readonly OsName[] = ["centos7", "rocky8", "rocky9"];
export type ClusterMode = "3_node" | "5_node";
/**
 * A storage pool's media: what `scli --add_storage_pool --media_type` takes on ScaleIO 3.x (Dell's
 * terraform-provider-powerflex docs/resources/storage_pool.md: `HDD`, `SSD` and `Transitional`).
 */
export type MediaType = "HDD" | "SSD" | "Transitional";
export const MEDIA_TYPES: readonly MediaType[] = ["HDD", "SSD", "Transitional"];

/** A node as the user may list it: "mdm" marks it MDM-capable; topology picks master/slave/TB. */
export type NodeRoleName = "mdm" | ServiceRole;
export const NODE_ROLE_NAMES: readonly NodeRoleName[] = [
  "mdm",
  "sds",
  "sdc",
  "docker",
  "gateway",
  "lia",
];

export interface NodeSpec {
  name: string;
  roles: NodeRoleName[];
}

/** What every spec holds, whatever its cloud. */
export interface CommonSpec {
  stack: string;
  os: OsName;
  /** Explicit image instead of the lookup table (AMI id, GCP image, Azure URN, DO slug, path). */
  image?: string;
  clusterName: string;
  clusterMode: ClusterMode;
  nodes: NodeSpec[];
  sdsDisks: { count: number; sizeGb: number };
  dockerVolumeSizeGb: number;
  protectionDomain: string;
  /** The first pool's name and media (with `storagePools`), else the single pool's keys. */
  storagePool: string;
  mediaType: MediaType;
  /** `storagePools` (storage tiers); undefined: the one pool `storagePool` in `protectionDomain`. */
  storagePools?: StoragePoolSpec[];
  /** The pool of the Docker hosts' /var/lib/docker volumes; undefined: the first pool. */
  dockerVolumePool?: string;
  /** The volume plugin's default pool; undefined: the first pool. */
  volumePluginPool?: string;
  /** Which CIDR may reach SSH and the gateway (clouds only). */
  allowedCidr: string;
  /** `exposeToInternet: true`: the user chose allowedCidr 0.0.0.0/0 deliberately. */
  exposeToInternet: boolean;
  /** SDS devices the installer may erase when they hold a file system or partition table, by node. */
  wipeDevices: Record<string, string[]>;
  /** Config that is accepted but deserves the user's attention; the program logs each as a warning. */
  warnings: string[];
  /** Absolute: a relative rpmDir in config is taken from the project directory (project-dir.ts). */
  rpmDir: string;
  /** A plain http(s) URL (config/values.ts httpUrlProblem). */
  centos7VaultUrl: string;
  deleteVolumes: boolean;
  /** The Docker volume plugin "scaleio" on every Docker host (default true; needs Go to build). */
  volumePlugin: boolean;
  /** Whether the stack supplies its own SSH key (else one is generated per stack). */
  sshPublicKey?: string;
  hasSshPrivateKey: boolean;
}

/** The spec of a stack on cloud `C`: its own section present, every other cloud's absent. */
export type SpecFor<C extends CloudName> = CommonSpec & { cloud: C } & {
  [K in C]: CloudSections[K];
} & { [K in Exclude<CloudName, C>]?: undefined };

export type Spec = { [C in CloudName]: SpecFor<C> }[CloudName];

/** `spec` as the spec of cloud `cloud`; throws when it belongs to another cloud or lacks its section. */
export function specFor<C extends CloudName>(cloud: C, spec: Spec): SpecFor<C> {
  if (spec.cloud !== cloud || spec[cloud] === undefined)
    throw new Error(`cloud is '${cloud}' but the spec has no ${cloud} section`);
  return spec as unknown as SpecFor<C>;
}
