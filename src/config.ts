// Typed, validated stack config. `readSpec` turns raw stack config into a Spec with every
// default applied, or throws one ConfigError listing every problem, each naming the key, what
// was wrong and an example of a right value. It runs before any resource is registered.
import {
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
  OBJECT_NAME,
  OBJECT_NAME_RULE,
  objectName,
} from "./install/scli";
import { RunError } from "@pulumi/pulumi/errors";
import type { OsName, ServiceRole } from "./machine";

export const CONFIG_NAMESPACE = "arrowhead";

export type CloudName = "local" | "aws" | "gcp" | "azure" | "digitalocean" | "existing";
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
export type MediaType = "HDD" | "SSD";

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

export interface AwsSpec {
  region: string;
  availabilityZone?: string;
  instanceType: string;
  vpcCidr: string;
}
export interface GcpSpec {
  project?: string;
  region: string;
  zone: string;
  machineType: string;
  subnetCidr: string;
}
export interface AzureSpec {
  location: string;
  vmSize: string;
  vnetCidr: string;
}
export interface DigitalOceanSpec {
  region: string;
  size: string;
  vpcCidr: string;
}
export interface LocalSpec {
  /** Path of the base qcow2 (CentOS 7 / Rocky GenericCloud) the user downloaded. */
  baseImage: string;
  /** Optional direct-boot kernel and initrd (images without a bootloader, as the test image). */
  kernel?: string;
  initrd?: string;
  cpus: number;
  memoryMb: number;
  /** Where disks, pids, ports and serial logs live; default ~/.arrowhead/<stack>. */
  stateDir?: string;
  /** Private network of the machines (inside QEMU only, never on the host). */
  networkCidr: string;
  bootTimeoutSeconds: number;
}
export interface ExistingHostSpec {
  name: string;
  /** Address the installer reaches over SSH. */
  address: string;
  /** Cluster-network address; default: address. */
  privateAddress: string;
  port: number;
  user: string;
  /** The host's SSH public key ("ssh-ed25519 AAAA..."), required: existing hosts are never pinned blindly. */
  hostKey: string;
  dataDisks: string[];
}

export interface Spec {
  stack: string;
  cloud: CloudName;
  os: OsName;
  /** Explicit image instead of the lookup table (AMI id, GCP image, Azure URN, DO slug, path). */
  image?: string;
  clusterName: string;
  clusterMode: ClusterMode;
  nodes: NodeSpec[];
  sdsDisks: { count: number; sizeGb: number };
  dockerVolumeSizeGb: number;
  protectionDomain: string;
  storagePool: string;
  mediaType: MediaType;
  /** Which CIDR may reach SSH and the gateway (clouds only). */
  allowedCidr: string;
  /** `exposeToInternet: true`: the user chose allowedCidr 0.0.0.0/0 deliberately. */
  exposeToInternet: boolean;
  /** SDS devices the installer may erase when they hold a file system or partition table, by node. */
  wipeDevices: Record<string, string[]>;
  /** Config that is accepted but deserves the user's attention; the program logs each as a warning. */
  warnings: string[];
  rpmDir: string;
  centos7VaultUrl: string;
  deleteVolumes: boolean;
  /** The Docker volume plugin "scaleio" on every Docker host (default true; needs Go to build). */
  volumePlugin: boolean;
  /** Whether the stack supplies its own SSH key (else one is generated per stack). */
  sshPublicKey?: string;
  hasSshPrivateKey: boolean;
  aws?: AwsSpec;
  gcp?: GcpSpec;
  azure?: AzureSpec;
  digitalocean?: DigitalOceanSpec;
  local?: LocalSpec;
  existing?: ExistingHostSpec[];
}

/**
 * What readSpec needs from Pulumi's config: plain values, secrets as "present or not". One
 * secret, mdmPassword, is also read with get() (Pulumi's get returns a secret's plain value) to
 * check it against the MDM's password rule; its value is never stored or printed.
 */
export interface RawConfig {
  get(key: string): string | undefined;
  getObject<T>(key: string): T | undefined;
  /** Whether a (secret) key is set; its value is never read here. */
  has(key: string): boolean;
}

/**
 * Every problem of a stack config at once. A RunError: Pulumi prints its message alone, without
 * a stack trace or "Unhandled exception", since it names the key and the fix itself.
 */
export class ConfigError extends RunError {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;
/** ScaleIO object names (system, protection domain, pool): see OBJECT_NAME in install/scli. */
const SCALEIO_NAME = OBJECT_NAME;
const NODE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/]{40,}={0,2})( .*)?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function isCidr(value: string): boolean {
  const m = CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && Number(m[5]) <= 32;
}

/** Edit distance (insertions, deletions, substitutions), for did-you-mean hints. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The allowed value a mistyped one most likely meant: the same ignoring case, else the closest
 * within 2 edits (one of several equally close: none). Undefined when nothing is close.
 */
export function didYouMean(value: string, allowed: readonly string[]): string | undefined {
  const v = value.trim().toLowerCase();
  const same = allowed.find((a) => a.toLowerCase() === v);
  if (same) return same;
  const scored = allowed.map((a) => ({ a, d: distance(v, a.toLowerCase()) }));
  const best = Math.min(...scored.map((x) => x.d));
  const near = scored.filter((x) => x.d === best);
  return best <= 2 && near.length === 1 ? near[0].a : undefined;
}

/** A CIDR whose prefix is 0 admits every IPv4 address (0.0.0.0/0 and its spellings). */
export function isWholeInternet(cidr: string): boolean {
  return isCidr(cidr) && Number(cidr.split("/")[1]) === 0;
}

/** Reads and validates the whole stack config; throws ConfigError with every problem found. */
export function readSpec(cfg: RawConfig, stack: string): Spec {
  const problems: string[] = [];
  const fail = (k: string, what: string, example: string) =>
    problems.push(`${key(k)}: ${what}. Example: ${example}`);

  const oneOf = <T extends string>(
    k: string,
    allowed: readonly T[],
    dflt: T | undefined,
    example: string,
  ): T | undefined => {
    const v = cfg.get(k);
    if (v === undefined) {
      if (dflt === undefined) fail(k, `is required (one of ${allowed.join(", ")})`, example);
      return dflt;
    }
    if (!(allowed as readonly string[]).includes(v)) {
      const near = didYouMean(v, allowed);
      fail(
        k,
        `"${v}" is not one of ${allowed.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
        near ? `${key(k)}: ${near}` : example,
      );
      return undefined;
    }
    return v as T;
  };
  const scaleioName = (k: string, dflt: string): string => {
    const v = cfg.get(k) ?? dflt;
    if (!SCALEIO_NAME.test(v)) {
      // Suggest the name Arrowhead would derive (readable prefix + hash when cut or cleaned).
      let suggestion = dflt;
      try {
        suggestion = objectName(v);
      } catch {
        // no letter or digit in it: the default is the example
      }
      fail(
        k,
        `"${v}" is not a valid ScaleIO name: ScaleIO names allow ${OBJECT_NAME_RULE}`,
        `${key(k)}: ${suggestion}`,
      );
    }
    return v;
  };

  // A cloud that is not one of ours stops the checks that depend on it: its one message is
  // the only one (no errors about another cloud's keys).
  const cloudGiven = oneOf("cloud", CLOUDS, undefined, `${key("cloud")}: aws`);
  const cloudValid = cloudGiven !== undefined;
  const cloud = cloudGiven ?? "local";
  const osGiven = oneOf("os", OSES, "centos7", `${key("os")}: rocky9`);
  const os = osGiven ?? "centos7";
  const image = cfg.get("image");
  if (
    cloudValid &&
    osGiven !== undefined &&
    !image &&
    os === "centos7" &&
    (cloud === "gcp" || cloud === "digitalocean")
  ) {
    fail(
      "os",
      `CentOS 7 has no public image on ${cloud === "gcp" ? "GCP" : "DigitalOcean"} any more (it reached end of life on 2024-06-30 and the image was removed); use rocky8 or rocky9, or name your own CentOS 7 image in ${key("image")}`,
      `${key("os")}: rocky8`,
    );
  }

  const clusterMode =
    oneOf<ClusterMode>(
      "clusterMode",
      ["3_node", "5_node"],
      "3_node",
      `${key("clusterMode")}: 5_node`,
    ) ?? "3_node";
  const mdmNeeded = clusterMode === "5_node" ? 5 : 3;

  const problemsBeforeNodes = problems.length;
  // Existing hosts name the nodes themselves: adding a host entry adds a node.
  const hostNames =
    cloud === "existing" && cfg.get("nodeCount") === undefined
      ? hostEntryNames(cfg.getObject<unknown>("hosts"))
      : undefined;
  const nodes = readNodes(cfg, clusterMode, problems, hostNames);
  // A nodes/nodeCount value that could not be read is one problem, not four: the checks
  // derived from the node list only run on a list that was read.
  const nodesRead = problems.length === problemsBeforeNodes || nodes.length > 0;
  const mdmCapable = nodes.filter((n) => n.roles.includes("mdm")).length;
  if (nodesRead && mdmCapable < mdmNeeded) {
    problems.push(
      `${key("nodes")}: a ${clusterMode} MDM cluster needs ${mdmNeeded} MDM-capable nodes (role "mdm"), but ${mdmCapable} ${mdmCapable === 1 ? "is" : "are"} listed. Example: give ${mdmNeeded} nodes roles [mdm, sds, sdc, docker], or set ${key("clusterMode")}: 3_node`,
    );
  }
  const sdsCount = nodes.filter((n) => n.roles.includes("sds")).length;
  if (nodesRead && sdsCount < 3) {
    problems.push(
      `${key("nodes")}: ScaleIO needs at least 3 SDS nodes (two-copy mirroring needs three fault units), but ${sdsCount} ${sdsCount === 1 ? "has" : "have"} role "sds". Example: ${key("nodeCount")}: 3 (every node runs SDS), or add "sds" to more nodes' roles`,
    );
  }
  const gateways = nodes.filter((n) => n.roles.includes("gateway")).length;
  if (nodesRead && gateways !== 1) {
    problems.push(
      `${key("nodes")}: exactly one node must have role "gateway", found ${gateways}. Example: roles: [mdm, sds, sdc, docker, gateway] on the first node`,
    );
  }
  for (const n of nodes) {
    if (n.roles.includes("docker") && !n.roles.includes("sdc")) {
      problems.push(
        `${key("nodes")}: node "${n.name}" has role "docker" but not "sdc"; its /var/lib/docker lives on a ScaleIO volume, which needs the SDC. Example: roles: [sdc, docker]`,
      );
    }
  }

  const disks = cfg.getObject<{ count?: unknown; sizeGb?: unknown }>("sdsDisks") ?? {};
  const diskCount = disks.count ?? 1;
  const diskSize = disks.sizeGb ?? 100;
  if (!Number.isInteger(diskCount) || (diskCount as number) < 1 || (diskCount as number) > 8) {
    fail(
      "sdsDisks.count",
      `${JSON.stringify(diskCount)} must be a whole number from 1 to 8`,
      "sdsDisks: {count: 2, sizeGb: 100}",
    );
  }
  if (!Number.isInteger(diskSize) || (diskSize as number) < 100) {
    fail(
      "sdsDisks.sizeGb",
      `${JSON.stringify(diskSize)} is too small: an SDS device must be at least 100 GB (ScaleIO rejects smaller devices)`,
      "sdsDisks: {count: 1, sizeGb: 100}",
    );
  }

  const volumeRaw = cfg.get("dockerVolumeSizeGb");
  let dockerVolumeSizeGb = 16;
  if (volumeRaw !== undefined) {
    const n = Number(volumeRaw);
    if (!Number.isInteger(n) || n < 8) {
      fail(
        "dockerVolumeSizeGb",
        `"${volumeRaw}" must be a whole number of GB, at least 8`,
        `${key("dockerVolumeSizeGb")}: 16`,
      );
    } else if (n % 8 !== 0) {
      // Rejected, not rounded: ScaleIO would silently round up and the user would pay for
      // (and see) a size they did not ask for.
      const up = Math.ceil(n / 8) * 8;
      fail(
        "dockerVolumeSizeGb",
        `${n} is not a multiple of 8 GB; ScaleIO allocates volumes in 8 GB units and would round it up to ${up}, so Arrowhead rejects it instead of rounding silently`,
        `${key("dockerVolumeSizeGb")}: ${up}`,
      );
    } else {
      dockerVolumeSizeGb = n;
    }
  }

  const protectionDomain = scaleioName("protectionDomain", "pd1");
  const storagePool = scaleioName("storagePool", "sp1");
  // The default system name: `arrowhead-<stack>`, or when that is too long or has other
  // characters, its readable beginning plus a hash (never a cut that ends in "-").
  const clusterName = scaleioName("clusterName", objectName(`arrowhead-${stack}`));
  const mediaType =
    oneOf<MediaType>("mediaType", ["HDD", "SSD"], "HDD", `${key("mediaType")}: SSD`) ?? "HDD";

  for (const secret of ["mdmPassword", "gatewayPassword"]) {
    if (!cfg.has(secret)) {
      fail(
        secret,
        "is required and has no default; set it as a secret",
        `pulumi config set --secret ${key(secret)} 'Str0ng!Passw0rd'`,
      );
    }
  }
  // The MDM refuses a password outside its rule at --set_password; say so before any machine
  // exists. Only why is named, never the value.
  const mdmPassword = cfg.get("mdmPassword");
  const passwordProblem = mdmPassword === undefined ? undefined : mdmPasswordProblem(mdmPassword);
  if (passwordProblem) {
    fail(
      "mdmPassword",
      `does not meet the MDM's password rule (${MDM_PASSWORD_RULE}): ${passwordProblem}`,
      `pulumi config set --secret ${key("mdmPassword")} (it asks for the value; nothing lands in your shell history)`,
    );
  }

  const sshPublicKey = cfg.get("sshPublicKey");
  const hasSshPrivateKey = cfg.has("sshPrivateKey");
  if (Boolean(sshPublicKey) !== hasSshPrivateKey) {
    fail(
      sshPublicKey ? "sshPrivateKey" : "sshPublicKey",
      "set both sshPublicKey and sshPrivateKey (secret), or neither to let the stack generate a key",
      `pulumi config set ${key("sshPublicKey")} "$(cat ~/.ssh/id_ed25519.pub)" && pulumi config set --secret ${key("sshPrivateKey")} < ~/.ssh/id_ed25519`,
    );
  } else if (!sshPublicKey && cloudValid && cloud === "existing") {
    fail(
      "sshPrivateKey",
      "existing hosts need the key they already accept (a key the stack generates is on no existing host); set sshPublicKey and sshPrivateKey (secret)",
      `pulumi config set ${key("sshPublicKey")} "$(cat ~/.ssh/id_ed25519.pub)" && pulumi config set --secret ${key("sshPrivateKey")} < ~/.ssh/id_ed25519`,
    );
  } else if (sshPublicKey && !SSH_PUBLIC_KEY.test(sshPublicKey.trim())) {
    fail(
      "sshPublicKey",
      "is not an OpenSSH public key line",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... you@laptop",
    );
  }

  const isCloud =
    cloud === "aws" || cloud === "gcp" || cloud === "azure" || cloud === "digitalocean";
  const allowedCidr = cfg.get("allowedCidr") ?? "";
  const exposeRaw = cfg.get("exposeToInternet");
  const exposeToInternet = exposeRaw === "true";
  const warnings: string[] = [];
  if (exposeRaw !== undefined && exposeRaw !== "true" && exposeRaw !== "false") {
    fail(
      "exposeToInternet",
      `"${exposeRaw}" must be true or false`,
      `${key("exposeToInternet")}: true (only together with ${key("allowedCidr")}: 0.0.0.0/0)`,
    );
  }
  if (!cloudValid) {
    // Nothing more to say about allowedCidr until the cloud is known.
  } else if (isCloud && !allowedCidr) {
    fail(
      "allowedCidr",
      `is required on ${cloud}: it is the only source allowed to reach SSH and the gateway (never defaulted to 0.0.0.0/0)`,
      `${key("allowedCidr")}: 203.0.113.7/32 (your public IP)`,
    );
  } else if (allowedCidr && !isCidr(allowedCidr)) {
    fail(
      "allowedCidr",
      `"${allowedCidr}" is not an IPv4 CIDR`,
      `${key("allowedCidr")}: 203.0.113.7/32`,
    );
  } else if (isCloud && isWholeInternet(allowedCidr) && !exposeToInternet) {
    fail(
      "allowedCidr",
      `${allowedCidr} opens SSH and the gateway's admin API (443) to the whole internet. Name the address(es) ` +
        `you connect from, or, if that is really meant, say so with ${key("exposeToInternet")}: true`,
      `${key("allowedCidr")}: 203.0.113.7/32 (your public IP)`,
    );
  } else if (isCloud && isWholeInternet(allowedCidr)) {
    warnings.push(
      `${key("allowedCidr")}: ${allowedCidr} with ${key("exposeToInternet")}: true: SSH and the gateway's admin API (443) ` +
        `of every node are reachable from the whole internet; only the passwords and the SSH key protect them.`,
    );
  }
  if (exposeToInternet && cloudValid && !(isCloud && isWholeInternet(allowedCidr))) {
    warnings.push(
      `${key("exposeToInternet")}: true has no effect: it only confirms ${key("allowedCidr")}: 0.0.0.0/0 on a cloud stack; remove it.`,
    );
  }
  const wipeDevices = readWipeDevices(cfg, nodes, problems);
  const volumePluginRaw = cfg.get("volumePlugin");
  if (volumePluginRaw !== undefined && volumePluginRaw !== "true" && volumePluginRaw !== "false") {
    fail(
      "volumePlugin",
      `"${volumePluginRaw}" must be true or false (true, the default, installs the Docker volume plugin "scaleio" on every Docker host)`,
      `${key("volumePlugin")}: false`,
    );
  }

  const spec: Spec = {
    stack,
    cloud,
    os,
    image,
    clusterName,
    clusterMode,
    nodes,
    sdsDisks: { count: Number(diskCount), sizeGb: Number(diskSize) },
    dockerVolumeSizeGb,
    protectionDomain,
    storagePool,
    mediaType,
    allowedCidr,
    exposeToInternet,
    wipeDevices,
    warnings,
    rpmDir: cfg.get("rpmDir") ?? "assets/rpms",
    centos7VaultUrl: cfg.get("centos7VaultUrl") ?? "https://vault.centos.org/7.9.2009",
    deleteVolumes: cfg.get("deleteVolumes") === "true",
    volumePlugin: volumePluginRaw !== "false",
    sshPublicKey,
    hasSshPrivateKey,
  };
  if (cloudValid) readCloud(cfg, spec, problems);
  if (spec.existing) checkWipeDevicesAgainstHosts(spec, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return spec;
}

/** The names of arrowhead:hosts entries, when every entry has one (else undefined). */
function hostEntryNames(hosts: unknown): string[] | undefined {
  if (!Array.isArray(hosts) || hosts.length === 0) return undefined;
  const names = hosts.map((h) => (h as { name?: unknown })?.name);
  return names.every((n): n is string => typeof n === "string" && n !== "") ? names : undefined;
}

/**
 * The nodes: `nodes` as listed, or `nodeCount` nodes named node1..N, or (existing hosts without
 * either) one node per entry of `hosts`, by its name. The first 3 (5_node: 5) are the MDMs and
 * the first is the gateway; every node runs SDS, SDC and Docker.
 */
function readNodes(
  cfg: RawConfig,
  clusterMode: ClusterMode,
  problems: string[],
  hostNames?: string[],
): NodeSpec[] {
  const listed = cfg.getObject<unknown>("nodes");
  if (listed === undefined) {
    const countRaw = cfg.get("nodeCount");
    const mdmNodes = clusterMode === "5_node" ? 5 : 3;
    const named = hostNames && hostNames.length >= mdmNodes ? hostNames : undefined;
    const count = named ? named.length : countRaw === undefined ? mdmNodes : Number(countRaw);
    if (!Number.isInteger(count) || count < mdmNodes || count > 64) {
      problems.push(
        `${key("nodeCount")}: "${countRaw}" must be a whole number from ${mdmNodes} to 64 (a ${clusterMode} cluster ` +
          `needs ${mdmNodes} MDM nodes, and every node runs an SDS). Example: ${key("nodeCount")}: ${mdmNodes}`,
      );
      return [];
    }
    return Array.from({ length: count }, (_, i) => ({
      name: named?.[i] ?? `node${i + 1}`,
      roles: [
        ...(i < mdmNodes ? (["mdm"] as NodeRoleName[]) : []),
        "sds",
        "sdc",
        "docker",
        ...(i === 0 ? (["gateway"] as NodeRoleName[]) : []),
      ],
    }));
  }
  if (!Array.isArray(listed)) {
    problems.push(
      `${key("nodes")}: must be a list of {name, roles}. Example: nodes: [{name: node1, roles: [mdm, sds, sdc, docker, gateway]}]`,
    );
    return [];
  }
  const seen = new Set<string>();
  return listed.map((raw, i) => {
    const entry = (raw ?? {}) as { name?: unknown; roles?: unknown };
    const name = typeof entry.name === "string" ? entry.name : `node${i + 1}`;
    if (!NODE_NAME.test(name)) {
      problems.push(
        `${key(`nodes[${i}].name`)}: "${name}" must be a lowercase hostname (a-z, 0-9, -; at most 31 chars). Example: node${i + 1}`,
      );
    }
    if (seen.has(name))
      problems.push(
        `${key(`nodes[${i}].name`)}: "${name}" is used twice; node names must be unique. Example: node${i + 1}`,
      );
    seen.add(name);
    const roles = Array.isArray(entry.roles) ? entry.roles : [];
    const bad = roles.filter((r) => !(NODE_ROLE_NAMES as readonly unknown[]).includes(r));
    if (roles.length === 0 || bad.length > 0) {
      problems.push(
        `${key(`nodes[${i}].roles`)}: ${roles.length === 0 ? "must list at least one role" : `unknown role(s) ${bad.map((b) => JSON.stringify(b)).join(", ")}`} (known: ${NODE_ROLE_NAMES.join(", ")}). Example: roles: [sds, sdc, docker]`,
      );
    }
    return { name, roles: [...new Set(roles.filter((r) => !bad.includes(r)))] as NodeRoleName[] };
  });
}

const WIPE_EXAMPLE = `${key("wipeDevices")}: {node2: [/dev/sdb]}`;

/**
 * `wipeDevices`: node name -> device paths the installer may erase (wipefs -a) when they hold a
 * file system or partition table. Every other non-empty SDS device is refused.
 */
function readWipeDevices(
  cfg: RawConfig,
  nodes: NodeSpec[],
  problems: string[],
): Record<string, string[]> {
  const raw = cfg.getObject<unknown>("wipeDevices");
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    problems.push(
      `${key("wipeDevices")}: must map node names to lists of devices. Example: ${WIPE_EXAMPLE}`,
    );
    return {};
  }
  const out: Record<string, string[]> = {};
  for (const [node, list] of Object.entries(raw as Record<string, unknown>)) {
    const at = `wipeDevices.${node}`;
    const sds = nodes.find((n) => n.name === node && n.roles.includes("sds"));
    if (nodes.length > 0 && !sds) {
      problems.push(
        `${key(at)}: "${node}" is not an SDS node (SDS nodes: ${nodes
          .filter((n) => n.roles.includes("sds"))
          .map((n) => n.name)
          .join(", ")}). Example: ${WIPE_EXAMPLE}`,
      );
      continue;
    }
    const paths = Array.isArray(list) ? list : [];
    const bad = paths.filter((d) => typeof d !== "string" || !/^\/dev\/\S+$/.test(d));
    if (paths.length === 0 || bad.length > 0) {
      problems.push(
        `${key(at)}: ${paths.length === 0 ? "must list at least one device" : `${bad.map((b) => JSON.stringify(b)).join(", ")} is not a device path`}. Example: ${WIPE_EXAMPLE}`,
      );
      continue;
    }
    out[node] = paths as string[];
  }
  return out;
}

/** On existing hosts the devices are known: a wipe option must name one of the host's dataDisks. */
function checkWipeDevicesAgainstHosts(spec: Spec, problems: string[]): void {
  for (const [node, devices] of Object.entries(spec.wipeDevices)) {
    const host = spec.existing?.find((h) => h.name === node);
    if (!host) continue;
    for (const d of devices.filter((d) => !host.dataDisks.includes(d))) {
      problems.push(
        `${key(`wipeDevices.${node}`)}: ${d} is not one of ${node}'s dataDisks (${host.dataDisks.join(", ") || "none"}); ` +
          `only SDS devices are ever wiped. Example: ${key("wipeDevices")}: {${node}: [${host.dataDisks[0] ?? "/dev/sdb"}]}`,
      );
    }
  }
}

function readCloud(cfg: RawConfig, spec: Spec, problems: string[]): void {
  const obj = <T>(k: string): Partial<T> => cfg.getObject<Partial<T>>(k) ?? {};
  const need = (k: string, v: unknown, example: string) => {
    if (v === undefined || v === "")
      problems.push(`${key(k)}: is required for cloud ${spec.cloud}. Example: ${example}`);
  };
  const cidr = (k: string, v: string) => {
    if (!isCidr(v)) problems.push(`${key(k)}: "${v}" is not an IPv4 CIDR. Example: 10.20.0.0/24`);
    return v;
  };
  switch (spec.cloud) {
    case "aws": {
      const a = obj<AwsSpec>("aws");
      need("aws.region", a.region, "aws: {region: eu-west-1}");
      spec.aws = {
        region: a.region ?? "",
        availabilityZone: a.availabilityZone,
        instanceType: a.instanceType ?? "t3.xlarge",
        vpcCidr: cidr("aws.vpcCidr", a.vpcCidr ?? "10.20.0.0/24"),
      };
      break;
    }
    case "gcp": {
      const g = obj<GcpSpec>("gcp");
      need("gcp.region", g.region, "gcp: {region: europe-west1, zone: europe-west1-b}");
      need("gcp.zone", g.zone, "gcp: {region: europe-west1, zone: europe-west1-b}");
      if (g.zone && g.region && !g.zone.startsWith(`${g.region}-`)) {
        problems.push(
          `${key("gcp.zone")}: "${g.zone}" is not in region "${g.region}". Example: ${g.region}-b`,
        );
      }
      spec.gcp = {
        project: g.project,
        region: g.region ?? "",
        zone: g.zone ?? "",
        machineType: g.machineType ?? "e2-standard-4",
        subnetCidr: cidr("gcp.subnetCidr", g.subnetCidr ?? "10.20.0.0/24"),
      };
      break;
    }
    case "azure": {
      const z = obj<AzureSpec>("azure");
      need("azure.location", z.location, "azure: {location: westeurope}");
      spec.azure = {
        location: z.location ?? "",
        vmSize: z.vmSize ?? "Standard_D4s_v5",
        vnetCidr: cidr("azure.vnetCidr", z.vnetCidr ?? "10.20.0.0/24"),
      };
      break;
    }
    case "digitalocean": {
      const d = obj<DigitalOceanSpec>("digitalocean");
      need("digitalocean.region", d.region, "digitalocean: {region: fra1}");
      spec.digitalocean = {
        region: d.region ?? "",
        size: d.size ?? "s-4vcpu-8gb",
        vpcCidr: cidr("digitalocean.vpcCidr", d.vpcCidr ?? "10.20.0.0/24"),
      };
      break;
    }
    case "local": {
      const l = obj<LocalSpec>("local");
      need(
        "local.baseImage",
        l.baseImage,
        "local: {baseImage: ~/Downloads/CentOS-7-x86_64-GenericCloud.qcow2}",
      );
      spec.local = {
        baseImage: l.baseImage ?? "",
        kernel: l.kernel,
        initrd: l.initrd,
        cpus: Number(l.cpus ?? 2),
        memoryMb: Number(l.memoryMb ?? 2048),
        stateDir: l.stateDir,
        networkCidr: cidr("local.networkCidr", l.networkCidr ?? "10.77.0.0/24"),
        bootTimeoutSeconds: Number(l.bootTimeoutSeconds ?? 600),
      };
      const whole = (k: string, v: number, min: number, example: string) => {
        if (!Number.isInteger(v) || v < min)
          problems.push(
            `${key(k)}: ${v} must be a whole number of at least ${min}. Example: ${example}`,
          );
      };
      whole("local.cpus", spec.local.cpus, 1, "local: {cpus: 2}");
      whole("local.memoryMb", spec.local.memoryMb, 1024, "local: {memoryMb: 3072}");
      whole(
        "local.bootTimeoutSeconds",
        spec.local.bootTimeoutSeconds,
        30,
        "local: {bootTimeoutSeconds: 900}",
      );
      if (Boolean(l.kernel) !== Boolean(l.initrd)) {
        problems.push(
          `${key("local.kernel")}: set both local.kernel and local.initrd for direct kernel boot, or neither. Example: local: {kernel: ./vmlinuz, initrd: ./initrd.img}`,
        );
      }
      break;
    }
    case "existing":
      spec.existing = readExisting(cfg, spec, problems);
      break;
  }
}

function readExisting(cfg: RawConfig, spec: Spec, problems: string[]): ExistingHostSpec[] {
  const hosts = cfg.getObject<Partial<ExistingHostSpec>[]>("hosts");
  const example = `hosts: [{name: node1, address: 192.0.2.11, user: root, hostKey: "ssh-ed25519 AAAA...", dataDisks: [/dev/sdb]}]`;
  if (!Array.isArray(hosts) || hosts.length === 0) {
    problems.push(
      `${key("hosts")}: the existing cloud adopts the hosts listed here, and none are listed. Example: ${example}`,
    );
    return [];
  }
  const byName = new Map(hosts.map((h) => [h.name, h]));
  for (const n of spec.nodes) {
    if (!byName.has(n.name))
      problems.push(`${key("hosts")}: node "${n.name}" has no host entry. Example: ${example}`);
  }
  return hosts.map((h, i) => {
    const at = (f: string) => `hosts[${i}].${f}`;
    if (!h.name || !spec.nodes.some((n) => n.name === h.name)) {
      problems.push(
        `${key(at("name"))}: "${h.name ?? ""}" is not one of the nodes (${spec.nodes.map((n) => n.name).join(", ")}). Example: ${example}`,
      );
    }
    if (!h.address) problems.push(`${key(at("address"))}: is required. Example: ${example}`);
    if (!h.hostKey || !SSH_PUBLIC_KEY.test(h.hostKey.trim())) {
      problems.push(
        `${key(at("hostKey"))}: the host's SSH public key is required so that Arrowhead can verify it (get it with: ssh-keyscan -t ed25519 ${h.address ?? "<address>"}, and check its fingerprint on the host). Example: ${example}`,
      );
    }
    const node = spec.nodes.find((n) => n.name === h.name);
    const disks = Array.isArray(h.dataDisks) ? h.dataDisks : [];
    if (node?.roles.includes("sds") && disks.length === 0) {
      problems.push(
        `${key(at("dataDisks"))}: SDS node "${h.name}" needs at least one raw device. Example: dataDisks: [/dev/sdb]`,
      );
    }
    return {
      name: h.name ?? "",
      address: h.address ?? "",
      privateAddress: h.privateAddress ?? h.address ?? "",
      port: Number(h.port ?? 22),
      user: h.user ?? "root",
      hostKey: h.hostKey ?? "",
      dataDisks: disks,
    };
  });
}
