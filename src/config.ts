// Typed, validated stack config. `readSpec` turns raw stack config into a Spec with every
// default applied, or throws one ConfigError listing every problem, each naming the key, what
// was wrong and an example of a right value. It runs before any resource is registered. Each key
// family has its reader below; what a value of each kind may hold is in config-values.ts.
import {
  devicePathProblem,
  filePathProblem,
  hostAddressProblem,
  httpUrlProblem,
  identifierProblem,
  imageProblem,
  ipAddressProblem,
  portProblem,
  userNameProblem,
  wholeNumber,
} from "./config-values";
import {
  GATEWAY_PASSWORD_RULE,
  gatewayPasswordProblem,
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
  OBJECT_NAME,
  OBJECT_NAME_RULE,
  objectName,
} from "./install/names";
import { DEFAULT_VAULT_URL } from "./install/spec";
import { resolveProjectPath } from "./project-dir";
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
  /**
   * Path of the base qcow2 (CentOS 7 / Rocky GenericCloud) the user downloaded. This and the
   * other paths here are absolute: config resolves them from the project directory, `~` expanded.
   */
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
  /** Absolute: a relative rpmDir in config is taken from the project directory (project-dir.ts). */
  rpmDir: string;
  /** A plain http(s) URL (config-values.ts httpUrlProblem). */
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
const NODE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** An OpenSSH public key line; its comment may not hold control characters, quotes, $, ` or \. */
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/]{40,}={0,2})( [^\p{Cc}'"`$\\]*)?$/u;
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
  // A cloud that is not one of ours stops the checks that depend on it: its one message is
  // the only one (no errors about another cloud's keys).
  const cloudGiven = oneOf(cfg, problems, "cloud", CLOUDS, undefined, `${key("cloud")}: aws`);
  const cloudValid = cloudGiven !== undefined;
  const cloud = cloudGiven ?? "local";
  const osGiven = oneOf(cfg, problems, "os", OSES, "centos7", `${key("os")}: rocky9`);
  const os = osGiven ?? "centos7";
  const image = readImage(cfg, problems);
  if (cloudValid && osGiven !== undefined && !image) checkCentos7Image(cloud, os, problems);
  const clusterMode =
    oneOf<ClusterMode>(
      cfg,
      problems,
      "clusterMode",
      ["3_node", "5_node"],
      "3_node",
      `${key("clusterMode")}: 5_node`,
    ) ?? "3_node";
  const nodes = readNodeLayout(cfg, cloud, clusterMode, problems);
  const mediaType =
    oneOf<MediaType>(
      cfg,
      problems,
      "mediaType",
      ["HDD", "SSD"],
      "HDD",
      `${key("mediaType")}: SSD`,
    ) ?? "HDD";
  const names = readNames(cfg, stack, problems);
  const sizes = readSizes(cfg, problems);
  readPasswords(cfg, problems);
  const sshKey = readSshKey(cfg, cloudValid && cloud === "existing", problems);
  const access = readAccess(cfg, cloudValid ? cloud : undefined, problems);
  const spec: Spec = {
    stack,
    cloud,
    os,
    image,
    ...names,
    clusterMode,
    nodes,
    ...sizes,
    mediaType,
    ...access,
    wipeDevices: readWipeDevices(cfg, nodes, problems),
    ...readSources(cfg, problems),
    deleteVolumes: readBoolean(
      cfg,
      problems,
      "deleteVolumes",
      false,
      "only on existing hosts: also delete the ScaleIO volumes and packages on destroy",
    ),
    volumePlugin: readBoolean(
      cfg,
      problems,
      "volumePlugin",
      true,
      `true, the default, installs the Docker volume plugin "scaleio" on every Docker host`,
    ),
    ...sshKey,
  };
  if (cloudValid) readCloud(cfg, spec, problems);
  if (spec.existing) checkWipeDevicesAgainstHosts(spec, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return spec;
}

/** Adds one problem: the key, what is wrong and a right example. */
function report(problems: string[], k: string, what: string, example: string): void {
  problems.push(`${key(k)}: ${what}. Example: ${example}`);
}

/** A key whose value is one of `allowed` (default `dflt`; none: required), with a did-you-mean. */
function oneOf<T extends string>(
  cfg: RawConfig,
  problems: string[],
  k: string,
  allowed: readonly T[],
  dflt: T | undefined,
  example: string,
): T | undefined {
  const v = cfg.get(k);
  if (v === undefined) {
    if (dflt === undefined)
      report(problems, k, `is required (one of ${allowed.join(", ")})`, example);
    return dflt;
  }
  if ((allowed as readonly string[]).includes(v)) return v as T;
  const near = didYouMean(v, allowed);
  report(
    problems,
    k,
    `"${v}" is not one of ${allowed.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
    near ? `${key(k)}: ${near}` : example,
  );
  return undefined;
}

/** `true` or `false` (default `dflt`); anything else is refused with what the key does. */
function readBoolean(
  cfg: RawConfig,
  problems: string[],
  k: string,
  dflt: boolean,
  meaning: string,
): boolean {
  const v = cfg.get(k);
  if (v === undefined) return dflt;
  if (v === "true" || v === "false") return v === "true";
  report(problems, k, `"${v}" must be true or false (${meaning})`, `${key(k)}: ${!dflt}`);
  return dflt;
}

/** `image`: an explicit image reference instead of the lookup table. */
function readImage(cfg: RawConfig, problems: string[]): string | undefined {
  const image = cfg.get("image");
  const bad = image === undefined || image === "" ? undefined : imageProblem(image);
  if (bad) report(problems, "image", bad, `${key("image")}: ami-0abcdef1234567890`);
  return image || undefined;
}

/** CentOS 7 has no public image left on GCP and DigitalOcean: say so unless `image` names one. */
function checkCentos7Image(cloud: CloudName, os: OsName, problems: string[]): void {
  if (os !== "centos7" || (cloud !== "gcp" && cloud !== "digitalocean")) return;
  report(
    problems,
    "os",
    `CentOS 7 has no public image on ${cloud === "gcp" ? "GCP" : "DigitalOcean"} any more (it reached end of life on 2024-06-30 and the image was removed); use rocky8 or rocky9, or name your own CentOS 7 image in ${key("image")}`,
    `${key("os")}: rocky8`,
  );
}

/**
 * The nodes (see readNodes) and the layout rules on them: enough MDM-capable and SDS nodes, one
 * gateway, an SDC under every Docker host. A node list that could not be read is one problem.
 */
function readNodeLayout(
  cfg: RawConfig,
  cloud: CloudName,
  clusterMode: ClusterMode,
  problems: string[],
): NodeSpec[] {
  const before = problems.length;
  // Existing hosts name the nodes themselves: adding a host entry adds a node.
  const hostNames =
    cloud === "existing" && cfg.get("nodeCount") === undefined
      ? hostEntryNames(cfg.getObject<unknown>("hosts"))
      : undefined;
  const nodes = readNodes(cfg, clusterMode, problems, hostNames);
  if (problems.length === before || nodes.length > 0) checkLayout(nodes, clusterMode, problems);
  return nodes;
}

function checkLayout(nodes: NodeSpec[], clusterMode: ClusterMode, problems: string[]): void {
  const count = (role: NodeRoleName) => nodes.filter((n) => n.roles.includes(role)).length;
  const mdmNeeded = clusterMode === "5_node" ? 5 : 3;
  const mdmCapable = count("mdm");
  if (mdmCapable < mdmNeeded) {
    problems.push(
      `${key("nodes")}: a ${clusterMode} MDM cluster needs ${mdmNeeded} MDM-capable nodes (role "mdm"), but ${mdmCapable} ${mdmCapable === 1 ? "is" : "are"} listed. Example: give ${mdmNeeded} nodes roles [mdm, sds, sdc, docker], or set ${key("clusterMode")}: 3_node`,
    );
  }
  const sdsCount = count("sds");
  if (sdsCount < 3) {
    problems.push(
      `${key("nodes")}: ScaleIO needs at least 3 SDS nodes (two-copy mirroring needs three fault units), but ${sdsCount} ${sdsCount === 1 ? "has" : "have"} role "sds". Example: ${key("nodeCount")}: 3 (every node runs SDS), or add "sds" to more nodes' roles`,
    );
  }
  const gateways = count("gateway");
  if (gateways !== 1) {
    problems.push(
      `${key("nodes")}: exactly one node must have role "gateway", found ${gateways}. Example: roles: [mdm, sds, sdc, docker, gateway] on the first node`,
    );
  }
  for (const n of nodes.filter((n) => n.roles.includes("docker") && !n.roles.includes("sdc"))) {
    problems.push(
      `${key("nodes")}: node "${n.name}" has role "docker" but not "sdc"; its /var/lib/docker lives on a ScaleIO volume, which needs the SDC. Example: roles: [sdc, docker]`,
    );
  }
}

/** ScaleIO object names: the system, the protection domain and the pool (see names.ts). */
function readNames(
  cfg: RawConfig,
  stack: string,
  problems: string[],
): Pick<Spec, "clusterName" | "protectionDomain" | "storagePool"> {
  const scaleioName = (k: string, dflt: string): string => {
    const v = cfg.get(k) ?? dflt;
    if (OBJECT_NAME.test(v)) return v;
    // Suggest the name Arrowhead would derive (readable prefix + hash when cut or cleaned).
    let suggestion = dflt;
    try {
      suggestion = objectName(v);
    } catch {
      // no letter or digit in it: the default is the example
    }
    report(
      problems,
      k,
      `${JSON.stringify(v)} is not a valid ScaleIO name: ScaleIO names allow ${OBJECT_NAME_RULE}`,
      `${key(k)}: ${suggestion}`,
    );
    return v;
  };
  return {
    protectionDomain: scaleioName("protectionDomain", "pd1"),
    storagePool: scaleioName("storagePool", "sp1"),
    // The default system name: `arrowhead-<stack>`, or when that is too long or has other
    // characters, its readable beginning plus a hash (never a cut that ends in "-").
    clusterName: scaleioName("clusterName", objectName(`arrowhead-${stack}`)),
  };
}

/** Largest SDS device and Docker volume Arrowhead creates (64 TiB): a bound, not a vendor limit. */
const MAX_SIZE_GB = 65536;

/** `sdsDisks` (1-8 devices of 100 GB or more per SDS node) and `dockerVolumeSizeGb`. */
function readSizes(
  cfg: RawConfig,
  problems: string[],
): Pick<Spec, "sdsDisks" | "dockerVolumeSizeGb"> {
  const disks = cfg.getObject<{ count?: unknown; sizeGb?: unknown }>("sdsDisks") ?? {};
  const count = wholeNumber(disks.count ?? 1, 1, 8);
  if ("problem" in count) {
    report(
      problems,
      "sdsDisks.count",
      `${JSON.stringify(disks.count)} must be a whole number from 1 to 8`,
      "sdsDisks: {count: 2, sizeGb: 100}",
    );
  }
  const size = wholeNumber(disks.sizeGb ?? 100, 100, MAX_SIZE_GB);
  if ("problem" in size) {
    const n = Number(disks.sizeGb);
    report(
      problems,
      "sdsDisks.sizeGb",
      Number.isSafeInteger(n) && n < 100 && typeof disks.sizeGb === "number"
        ? `${n} is too small: an SDS device must be at least 100 GB (ScaleIO rejects smaller devices)`
        : `${size.problem}: an SDS device is a whole number of GB from 100 to ${MAX_SIZE_GB}`,
      "sdsDisks: {count: 1, sizeGb: 100}",
    );
  }
  return {
    sdsDisks: {
      count: "value" in count ? count.value : 1,
      sizeGb: "value" in size ? size.value : 100,
    },
    dockerVolumeSizeGb: readDockerVolumeSize(cfg, problems),
  };
}

function readDockerVolumeSize(cfg: RawConfig, problems: string[]): number {
  const raw = cfg.get("dockerVolumeSizeGb");
  if (raw === undefined) return 16;
  const example = `${key("dockerVolumeSizeGb")}: 16`;
  const r = wholeNumber(raw, 8, MAX_SIZE_GB);
  if ("problem" in r) {
    report(
      problems,
      "dockerVolumeSizeGb",
      `"${raw}" must be a whole number of GB, at least 8 and at most ${MAX_SIZE_GB}`,
      example,
    );
    return 16;
  }
  if (r.value % 8 !== 0) {
    // Rejected, not rounded: ScaleIO would silently round up and the user would pay for
    // (and see) a size they did not ask for.
    const up = Math.ceil(r.value / 8) * 8;
    report(
      problems,
      "dockerVolumeSizeGb",
      `${r.value} is not a multiple of 8 GB; ScaleIO allocates volumes in 8 GB units and would round it up to ${up}, so Arrowhead rejects it instead of rounding silently`,
      `${key("dockerVolumeSizeGb")}: ${up}`,
    );
    return 16;
  }
  return r.value;
}

/**
 * `mdmPassword` and `gatewayPassword`: required secrets, each held to its rule (names.ts) when
 * its value is readable. Only why a password is refused is named, never the value.
 */
function readPasswords(cfg: RawConfig, problems: string[]): void {
  const rules = [
    { k: "mdmPassword", rule: MDM_PASSWORD_RULE, check: mdmPasswordProblem, whose: "the MDM's" },
    {
      k: "gatewayPassword",
      rule: GATEWAY_PASSWORD_RULE,
      check: gatewayPasswordProblem,
      whose: "the gateway's",
    },
  ];
  for (const { k, rule, check, whose } of rules) {
    if (!cfg.has(k)) {
      report(
        problems,
        k,
        "is required and has no default; set it as a secret",
        `pulumi config set --secret ${key(k)} 'Str0ng!Passw0rd'`,
      );
      continue;
    }
    const value = cfg.get(k);
    const why = value === undefined ? undefined : check(value);
    if (why) {
      report(
        problems,
        k,
        `does not meet ${whose} password rule (${rule}): ${why}`,
        `pulumi config set --secret ${key(k)} (it asks for the value; nothing lands in your shell history)`,
      );
    }
  }
}

const KEY_PAIR_EXAMPLE = `pulumi config set ${key("sshPublicKey")} "$(cat ~/.ssh/id_ed25519.pub)" && pulumi config set --secret ${key("sshPrivateKey")} < ~/.ssh/id_ed25519`;

/** The user's SSH key pair: both keys or neither (existing hosts: both). */
function readSshKey(
  cfg: RawConfig,
  existing: boolean,
  problems: string[],
): Pick<Spec, "sshPublicKey" | "hasSshPrivateKey"> {
  const sshPublicKey = cfg.get("sshPublicKey");
  const hasSshPrivateKey = cfg.has("sshPrivateKey");
  if (Boolean(sshPublicKey) !== hasSshPrivateKey) {
    report(
      problems,
      sshPublicKey ? "sshPrivateKey" : "sshPublicKey",
      "set both sshPublicKey and sshPrivateKey (secret), or neither to let the stack generate a key",
      KEY_PAIR_EXAMPLE,
    );
  } else if (!sshPublicKey && existing) {
    report(
      problems,
      "sshPrivateKey",
      "existing hosts need the key they already accept (a key the stack generates is on no existing host); set sshPublicKey and sshPrivateKey (secret)",
      KEY_PAIR_EXAMPLE,
    );
  } else if (sshPublicKey && !SSH_PUBLIC_KEY.test(sshPublicKey.trim())) {
    report(
      problems,
      "sshPublicKey",
      "is not an OpenSSH public key line (type, key, and an optional comment without quotes, $, ` or \\)",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... you@laptop",
    );
  }
  return { sshPublicKey, hasSshPrivateKey };
}

/**
 * `allowedCidr` and `exposeToInternet` (cloud: undefined while the cloud is unknown): the CIDR
 * is required on clouds, and the whole internet only when exposeToInternet confirms it.
 */
function readAccess(
  cfg: RawConfig,
  cloud: CloudName | undefined,
  problems: string[],
): Pick<Spec, "allowedCidr" | "exposeToInternet" | "warnings"> {
  const isCloud =
    cloud === "aws" || cloud === "gcp" || cloud === "azure" || cloud === "digitalocean";
  const allowedCidr = cfg.get("allowedCidr") ?? "";
  const exposeToInternet = readBoolean(
    cfg,
    problems,
    "exposeToInternet",
    false,
    `only together with ${key("allowedCidr")}: 0.0.0.0/0`,
  );
  const warnings: string[] = [];
  const whole = isCloud && isWholeInternet(allowedCidr);
  const example = `${key("allowedCidr")}: 203.0.113.7/32 (your public IP)`;
  if (cloud === undefined) {
    // Nothing more to say about allowedCidr until the cloud is known.
  } else if (isCloud && !allowedCidr) {
    report(
      problems,
      "allowedCidr",
      `is required on ${cloud}: it is the only source allowed to reach SSH and the gateway (never defaulted to 0.0.0.0/0)`,
      example,
    );
  } else if (allowedCidr && !isCidr(allowedCidr)) {
    report(
      problems,
      "allowedCidr",
      `"${allowedCidr}" is not an IPv4 CIDR`,
      `${key("allowedCidr")}: 203.0.113.7/32`,
    );
  } else if (whole && !exposeToInternet) {
    report(
      problems,
      "allowedCidr",
      `${allowedCidr} opens SSH and the gateway's admin API (443) to the whole internet. Name the address(es) ` +
        `you connect from, or, if that is really meant, say so with ${key("exposeToInternet")}: true`,
      example,
    );
  } else if (whole) {
    warnings.push(
      `${key("allowedCidr")}: ${allowedCidr} with ${key("exposeToInternet")}: true: SSH and the gateway's admin API (443) ` +
        `of every node are reachable from the whole internet; only the passwords and the SSH key protect them.`,
    );
  }
  if (exposeToInternet && cloud !== undefined && !whole) {
    warnings.push(
      `${key("exposeToInternet")}: true has no effect: it only confirms ${key("allowedCidr")}: 0.0.0.0/0 on a cloud stack; remove it.`,
    );
  }
  return { allowedCidr, exposeToInternet, warnings };
}

/**
 * Where the installer's inputs come from: `rpmDir` (absolute, relative paths taken from the
 * project directory, see project-dir.ts) and `centos7VaultUrl` (a plain http(s) URL: it is
 * written into repo files by root, see cloud-init.ts).
 */
function readSources(cfg: RawConfig, problems: string[]): Pick<Spec, "rpmDir" | "centos7VaultUrl"> {
  const rpmDir = readPath(
    cfg.get("rpmDir") ?? "assets/rpms",
    "rpmDir",
    `${key("rpmDir")}: assets/rpms`,
    problems,
  );
  const centos7VaultUrl = cfg.get("centos7VaultUrl") ?? DEFAULT_VAULT_URL;
  const bad = httpUrlProblem(centos7VaultUrl);
  if (bad)
    report(problems, "centos7VaultUrl", bad, `${key("centos7VaultUrl")}: ${DEFAULT_VAULT_URL}`);
  return { rpmDir: rpmDir ?? "", centos7VaultUrl };
}

/** A path from stack config made absolute (see resolveProjectPath), or undefined when refused. */
function readPath(
  raw: unknown,
  k: string,
  example: string,
  problems: string[],
): string | undefined {
  const bad = filePathProblem(raw);
  if (bad) {
    report(problems, k, bad, example);
    return undefined;
  }
  return resolveProjectPath(raw as string);
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
    const given = countRaw === undefined ? undefined : wholeNumber(countRaw, mdmNodes, 64);
    const count = named
      ? named.length
      : given === undefined
        ? mdmNodes
        : "value" in given
          ? given.value
          : NaN;
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
    const bad = paths.filter((d) => devicePathProblem(d) !== undefined);
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

/** The chosen cloud's own section (aws, gcp, azure, digitalocean, local, or existing hosts). */
function readCloud(cfg: RawConfig, spec: Spec, problems: string[]): void {
  const section = <T>(k: string): Partial<T> => {
    const v = cfg.getObject<unknown>(k);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Partial<T>) : {};
  };
  const read = new CloudReader(spec.cloud, problems);
  switch (spec.cloud) {
    case "aws":
      spec.aws = readAws(section<AwsSpec>("aws"), read);
      break;
    case "gcp":
      spec.gcp = readGcp(section<GcpSpec>("gcp"), read);
      break;
    case "azure":
      spec.azure = readAzure(section<AzureSpec>("azure"), read);
      break;
    case "digitalocean":
      spec.digitalocean = readDigitalOcean(section<DigitalOceanSpec>("digitalocean"), read);
      break;
    case "local":
      spec.local = readLocal(section<LocalSpec>("local"), read);
      break;
    case "existing":
      spec.existing = readExisting(cfg, spec, problems);
      break;
  }
}

/** The checks every cloud section uses, each adding a problem that names the key. */
class CloudReader {
  constructor(
    readonly cloud: CloudName,
    readonly problems: string[],
  ) {}

  /** A required value: present and not empty. */
  need(k: string, v: unknown, example: string): void {
    if (v === undefined || v === "")
      this.problems.push(`${key(k)}: is required for cloud ${this.cloud}. Example: ${example}`);
  }

  /** An optional cloud identifier (region, zone, size...), or the default when absent. */
  ident(k: string, v: unknown, dflt: string, example: string): string {
    if (v === undefined || v === "") return dflt;
    const bad = identifierProblem(v);
    if (bad) report(this.problems, k, bad, example);
    return String(v);
  }

  /** An IPv4 CIDR, default `dflt`. */
  cidr(k: string, v: unknown, dflt: string): string {
    const s = v === undefined ? dflt : v;
    if (typeof s !== "string" || !isCidr(s))
      this.problems.push(
        `${key(k)}: ${JSON.stringify(s)} is not an IPv4 CIDR. Example: 10.20.0.0/24`,
      );
    return String(s);
  }

  /** A whole number from min to max, default `dflt`. */
  whole(k: string, v: unknown, dflt: number, min: number, max: number, example: string): number {
    const r = wholeNumber(v ?? dflt, min, max);
    if ("value" in r) return r.value;
    this.problems.push(
      `${key(k)}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}. Example: ${example}`,
    );
    return dflt;
  }

  /** An optional file path, made absolute from the project directory. */
  path(k: string, v: unknown, example: string): string | undefined {
    return v === undefined || v === "" ? undefined : readPath(v, k, example, this.problems);
  }
}

function readAws(a: Partial<AwsSpec>, read: CloudReader): AwsSpec {
  const example = "aws: {region: eu-west-1}";
  read.need("aws.region", a.region, example);
  return {
    region: read.ident("aws.region", a.region, "", example),
    availabilityZone:
      a.availabilityZone === undefined
        ? undefined
        : read.ident(
            "aws.availabilityZone",
            a.availabilityZone,
            "",
            "aws: {availabilityZone: eu-west-1a}",
          ),
    instanceType: read.ident(
      "aws.instanceType",
      a.instanceType,
      "t3.xlarge",
      "aws: {instanceType: t3.xlarge}",
    ),
    vpcCidr: read.cidr("aws.vpcCidr", a.vpcCidr, "10.20.0.0/24"),
  };
}

function readGcp(g: Partial<GcpSpec>, read: CloudReader): GcpSpec {
  const example = "gcp: {region: europe-west1, zone: europe-west1-b}";
  read.need("gcp.region", g.region, example);
  read.need("gcp.zone", g.zone, example);
  if (g.zone && g.region && !String(g.zone).startsWith(`${g.region}-`)) {
    read.problems.push(
      `${key("gcp.zone")}: "${g.zone}" is not in region "${g.region}". Example: ${g.region}-b`,
    );
  }
  return {
    project:
      g.project === undefined
        ? undefined
        : read.ident("gcp.project", g.project, "", "gcp: {project: my-project-123}"),
    region: read.ident("gcp.region", g.region, "", example),
    zone: read.ident("gcp.zone", g.zone, "", example),
    machineType: read.ident(
      "gcp.machineType",
      g.machineType,
      "e2-standard-4",
      "gcp: {machineType: e2-standard-4}",
    ),
    subnetCidr: read.cidr("gcp.subnetCidr", g.subnetCidr, "10.20.0.0/24"),
  };
}

function readAzure(z: Partial<AzureSpec>, read: CloudReader): AzureSpec {
  const example = "azure: {location: westeurope}";
  read.need("azure.location", z.location, example);
  return {
    location: read.ident("azure.location", z.location, "", example),
    vmSize: read.ident(
      "azure.vmSize",
      z.vmSize,
      "Standard_D4s_v5",
      "azure: {vmSize: Standard_D4s_v5}",
    ),
    vnetCidr: read.cidr("azure.vnetCidr", z.vnetCidr, "10.20.0.0/24"),
  };
}

function readDigitalOcean(d: Partial<DigitalOceanSpec>, read: CloudReader): DigitalOceanSpec {
  const example = "digitalocean: {region: fra1}";
  read.need("digitalocean.region", d.region, example);
  return {
    region: read.ident("digitalocean.region", d.region, "", example),
    size: read.ident(
      "digitalocean.size",
      d.size,
      "s-4vcpu-8gb",
      "digitalocean: {size: s-4vcpu-8gb}",
    ),
    vpcCidr: read.cidr("digitalocean.vpcCidr", d.vpcCidr, "10.20.0.0/24"),
  };
}

/** `local`: QEMU machines; every path absolute (relative to the project directory, `~` expanded). */
function readLocal(l: Partial<LocalSpec>, read: CloudReader): LocalSpec {
  read.need(
    "local.baseImage",
    l.baseImage,
    "local: {baseImage: ~/Downloads/CentOS-7-x86_64-GenericCloud.qcow2}",
  );
  if (Boolean(l.kernel) !== Boolean(l.initrd)) {
    read.problems.push(
      `${key("local.kernel")}: set both local.kernel and local.initrd for direct kernel boot, or neither. Example: local: {kernel: ./vmlinuz, initrd: ./initrd.img}`,
    );
  }
  return {
    baseImage:
      read.path(
        "local.baseImage",
        l.baseImage,
        "local: {baseImage: ~/images/CentOS-7-x86_64-GenericCloud.qcow2}",
      ) ?? "",
    kernel: read.path("local.kernel", l.kernel, "local: {kernel: ./vmlinuz, initrd: ./initrd.img}"),
    initrd: read.path("local.initrd", l.initrd, "local: {kernel: ./vmlinuz, initrd: ./initrd.img}"),
    cpus: read.whole("local.cpus", l.cpus, 2, 1, 256, "local: {cpus: 2}"),
    memoryMb: read.whole(
      "local.memoryMb",
      l.memoryMb,
      2048,
      1024,
      1048576,
      "local: {memoryMb: 3072}",
    ),
    stateDir: read.path("local.stateDir", l.stateDir, "local: {stateDir: ~/.arrowhead}"),
    networkCidr: read.cidr("local.networkCidr", l.networkCidr, "10.77.0.0/24"),
    bootTimeoutSeconds: read.whole(
      "local.bootTimeoutSeconds",
      l.bootTimeoutSeconds,
      600,
      30,
      86400,
      "local: {bootTimeoutSeconds: 900}",
    ),
  };
}

const HOSTS_EXAMPLE = `hosts: [{name: node1, address: 192.0.2.11, user: root, hostKey: "ssh-ed25519 AAAA...", dataDisks: [/dev/sdb]}]`;

/** `hosts`: one entry per node on existing hosts, each checked by readHost. */
function readExisting(cfg: RawConfig, spec: Spec, problems: string[]): ExistingHostSpec[] {
  const hosts = cfg.getObject<unknown>("hosts");
  if (!Array.isArray(hosts) || hosts.length === 0) {
    problems.push(
      `${key("hosts")}: the existing cloud adopts the hosts listed here, and none are listed. Example: ${HOSTS_EXAMPLE}`,
    );
    return [];
  }
  const entries = hosts.map((h) =>
    h !== null && typeof h === "object"
      ? (h as Partial<Record<keyof ExistingHostSpec, unknown>>)
      : {},
  );
  for (const n of spec.nodes) {
    if (!entries.some((h) => h.name === n.name))
      problems.push(
        `${key("hosts")}: node "${n.name}" has no host entry. Example: ${HOSTS_EXAMPLE}`,
      );
  }
  return entries.map((h, i) => readHost(h, i, spec.nodes, problems));
}

/**
 * One `hosts` entry: a node's name, an address SSH reaches (IP or RFC 1123 host name), a
 * cluster-network IP address (default: address, which must then be an IP), a port, a login
 * name, the host's SSH key and its SDS devices.
 */
function readHost(
  h: Partial<Record<keyof ExistingHostSpec, unknown>>,
  i: number,
  nodes: NodeSpec[],
  problems: string[],
): ExistingHostSpec {
  const at = (f: string) => `hosts[${i}].${f}`;
  const fail = (f: string, what: string, example = HOSTS_EXAMPLE) =>
    report(problems, at(f), what, example);
  const name = typeof h.name === "string" ? h.name : "";
  const node = nodes.find((n) => n.name === name);
  if (!NODE_NAME.test(name))
    fail(
      "name",
      `${JSON.stringify(h.name ?? "")} must be a lowercase host name (a-z, 0-9, -; at most 31 characters)`,
      "name: node1",
    );
  else if (!node)
    fail("name", `"${name}" is not one of the nodes (${nodes.map((n) => n.name).join(", ")})`);
  const address = typeof h.address === "string" ? h.address : "";
  if (!address) fail("address", "is required");
  else if (hostAddressProblem(address))
    fail("address", hostAddressProblem(address)!, "address: 192.0.2.11");
  const privateAddress = h.privateAddress === undefined ? address : String(h.privateAddress);
  const privateBad = ipAddressProblem(privateAddress);
  if (address && privateBad) {
    fail(
      "privateAddress",
      `${privateBad}; the cluster network address must be an IP address${h.privateAddress === undefined ? " (it defaults to address)" : ""}`,
      "privateAddress: 10.0.0.11",
    );
  }
  const port = h.port === undefined ? 22 : Number(h.port);
  const portBad = h.port === undefined ? undefined : portProblem(h.port);
  if (portBad) fail("port", portBad, "port: 22");
  const user = h.user === undefined ? "root" : h.user;
  const userBad = userNameProblem(user);
  if (userBad) fail("user", userBad, "user: centos");
  const hostKey = typeof h.hostKey === "string" ? h.hostKey : "";
  if (!SSH_PUBLIC_KEY.test(hostKey.trim())) {
    fail(
      "hostKey",
      `the host's SSH public key is required so that Arrowhead can verify it (get it with: ssh-keyscan -t ed25519 ${address || "<address>"}, and check its fingerprint on the host)`,
    );
  }
  return {
    name,
    address,
    privateAddress,
    port: portBad ? 22 : port,
    user: String(user),
    hostKey,
    dataDisks: readDataDisks(h.dataDisks, node, (what) =>
      fail("dataDisks", what, "dataDisks: [/dev/sdb]"),
    ),
  };
}

/** A host's SDS devices: device paths; at least one on an SDS node. */
function readDataDisks(
  raw: unknown,
  node: NodeSpec | undefined,
  fail: (what: string) => void,
): string[] {
  if (raw !== undefined && !Array.isArray(raw)) {
    fail(`${JSON.stringify(raw)} must be a list of device paths`);
    return [];
  }
  const disks = (raw ?? []) as unknown[];
  if (node?.roles.includes("sds") && disks.length === 0)
    fail(`SDS node "${node.name}" needs at least one raw device`);
  const bad = disks.map(devicePathProblem).filter((p) => p !== undefined);
  if (bad.length > 0) fail(bad.join("; "));
  return bad.length > 0 ? [] : (disks as string[]);
}
