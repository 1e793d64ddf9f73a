// Every default of every stack config key, in one place: the readers take them from here, and
// README.md's config table says the same. A key with no entry here has no default (required, or
// absent means "none").
import { objectName } from "../install/names";
import type { OsName } from "../machine";
import type { ClusterMode, MediaType } from "./types";

export const DEFAULTS = {
  os: "centos7" as OsName,
  clusterMode: "3_node" as ClusterMode,
  mediaType: "HDD" as MediaType,
  /** nodeCount: the MDMs the cluster mode needs (3 or 5); every node runs SDS, SDC, Docker. */
  mdmNodes: { "3_node": 3, "5_node": 5 } as Record<ClusterMode, number>,
  sdsDisks: { count: 1, sizeGb: 100 },
  dockerVolumeSizeGb: 16,
  protectionDomain: "pd1",
  storagePool: "sp1",
  /** `arrowhead-<stack>`, or its readable beginning plus a hash when too long (names.ts). */
  clusterName: (stack: string): string => objectName(`arrowhead-${stack}`),
  exposeToInternet: false,
  rpmDir: "assets/rpms",
  /** CentOS 7 is end of life: its repos live on at the vault (the installer's default too). */
  centos7VaultUrl: "https://vault.centos.org/7.9.2009",
  deleteVolumes: false,
  volumePlugin: true,
  aws: { instanceType: "t3.xlarge", vpcCidr: "10.20.0.0/24" },
  gcp: { machineType: "e2-standard-4", subnetCidr: "10.20.0.0/24" },
  azure: { vmSize: "Standard_D4s_v5", vnetCidr: "10.20.0.0/24" },
  digitalocean: { size: "s-4vcpu-8gb", vpcCidr: "10.20.0.0/24" },
  local: { cpus: 2, memoryMb: 2048, networkCidr: "10.77.0.0/24", bootTimeoutSeconds: 600 },
  /** hosts[]: privateAddress defaults to the entry's address. */
  host: { port: 22, user: "root" },
} as const;
