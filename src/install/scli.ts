// Everything about scli's flags and output formats lives here (reference §4, §5): command
// builders per dialect and parsers for the queries. Stages never spell an scli flag themselves.
import type { Dialect } from "./rpms";
import { assertEnvName, q } from "./shell";

// The name and password rules live in names.ts (config.ts shares them); kept importable from here.
export {
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
  OBJECT_NAME,
  OBJECT_NAME_MAX,
  OBJECT_NAME_RULE,
  objectName,
} from "./names";

/** A command word: literal text (quoted when rendered) or a reference to a secret variable. */
export type Word = string | { secret: string };

/** Render words into a shell command; secrets become "$NAME", expanded only on the host. */
export function render(words: Word[]): string {
  return words.map((w) => (typeof w === "string" ? q(w) : `"$${w.secret}"`)).join(" ");
}

export interface ScliCommand {
  /** The command line (secrets as "$NAME" references). */
  line: string;
  /** Names of secret variables the line refers to; ssh.ts feeds them through stdin. */
  secrets: string[];
}

/**
 * scli never gets a terminal: its stdin is /dev/null (or, for passwords, a pipe that ends after
 * them, see `cmd`), so a question it might ask (y/n on an unapproved certificate) meets
 * end-of-file at once instead of waiting.
 */
export const STDIN_CLOSED = "</dev/null";

/**
 * The command for `words`. `answers` are secret variables scli asks for on stdin: the shell's
 * `printf` builtin writes their values, one per line, into a pipe to scli, so no value is in
 * any argv on the host (`ps`); after them stdin ends, so any other question meets end-of-file
 * at once, as with STDIN_CLOSED. Secrets among `words` are still arguments (visible to `ps`).
 */
function cmd(words: Word[], answers: string[] = []): ScliCommand {
  const inline = words
    .filter((w): w is { secret: string } => typeof w !== "string")
    .map((w) => w.secret);
  for (const a of answers) assertEnvName(a);
  const secrets = [...new Set([...inline, ...answers])];
  if (answers.length === 0) return { line: `${render(words)} ${STDIN_CLOSED}`, secrets };
  const feed = answers.map((a) => `"$${a}"`).join(" ");
  return { line: `printf '%s\\n' ${feed} | ${render(words)}`, secrets };
}

export type MediaType = "HDD" | "SSD";

export interface MdmSpec {
  ip: string;
  name: string;
}

/** Builds scli command lines for one cluster. `mdmIps` are the manager IPs (master + slaves). */
export class Scli {
  constructor(
    readonly dialect: Dialect,
    readonly mdmIps: string[],
  ) {
    if (mdmIps.length === 0) throw new Error("scli needs at least one MDM address");
  }

  private base(...words: Word[]): ScliCommand {
    return this.fed([], ...words);
  }

  /** `base`, with the secret variables `answers` on scli's stdin (see `cmd`). */
  private fed(answers: string[], ...words: Word[]): ScliCommand {
    // 2.x+ scli trusts the MDM certificate per user; approving on every call keeps a failover
    // (new master, new certificate) from breaking the next command. Only MDM hosts run scli.
    const approve =
      this.dialect !== "1.3x" && !words.includes("--approve_certificate")
        ? ["--approve_certificate"]
        : [];
    return cmd(["scli", ...words, "--mdm_ip", this.mdmIps.join(","), ...approve], answers);
  }

  createCluster(master: MdmSpec): ScliCommand {
    if (this.dialect === "1.3x") {
      return this.base(
        "--mdm",
        "--add_primary_mdm",
        "--primary_mdm_ip",
        master.ip,
        "--mdm_management_ip",
        master.ip,
        "--accept_license",
      );
    }
    return this.base(
      "--create_mdm_cluster",
      "--master_mdm_ip",
      master.ip,
      "--master_mdm_management_ip",
      master.ip,
      "--master_mdm_name",
      master.name,
      "--accept_license",
      "--approve_certificate",
    );
  }

  /**
   * Log in as `user` with the password in secret variable `passwordVar`. Without `--password`
   * scli asks for it (`scli --login --username <NAME> [--password <PASSWORD>]`, sources in
   * test/emulator/README.md), so it goes to scli's stdin and never into its argv (`ps`).
   */
  login(user: string, passwordVar: string): ScliCommand {
    const extra = this.dialect === "1.3x" ? [] : ["--approve_certificate"];
    return this.fed([passwordVar], "--login", "--username", user, ...extra);
  }

  /**
   * Change the logged-in user's password from secret `oldVar` to secret `newVar`. Without
   * `--old_password`/`--new_password` scli asks for them, old first; the new one is sent twice,
   * for a confirmation question (a second line nobody asks for is never read).
   */
  setPassword(oldVar: string, newVar: string): ScliCommand {
    return this.fed([oldVar, newVar, newVar], "--set_password");
  }

  /** Add a standby MDM (2.x+) or, in 1.3x, the secondary MDM / tie-breaker directly. */
  addStandby(m: MdmSpec, role: "manager" | "tb"): ScliCommand {
    if (this.dialect === "1.3x") {
      return role === "manager"
        ? this.base(
            "--add_secondary_mdm",
            "--secondary_mdm_ip",
            m.ip,
            "--secondary_mdm_name",
            m.name,
          )
        : this.base("--add_tb", "--tb_ip", m.ip, "--tb_name", m.name);
    }
    return role === "manager"
      ? this.base(
          "--add_standby_mdm",
          "--new_mdm_ip",
          m.ip,
          "--mdm_role",
          "manager",
          "--new_mdm_management_ip",
          m.ip,
          "--new_mdm_name",
          m.name,
        )
      : this.base(
          "--add_standby_mdm",
          "--new_mdm_ip",
          m.ip,
          "--mdm_role",
          "tb",
          "--new_mdm_name",
          m.name,
        );
  }

  /**
   * Switch to 3_node/5_node adding the given slaves and tie-breakers by name (the only form
   * public automation uses: EMC's Vagrant labs, puppet-scaleio, scaleio-framework).
   */
  switchClusterMode(mode: "3_node" | "5_node", slaves: string[], tbs: string[]): ScliCommand {
    if (this.dialect === "1.3x") return this.base("--switch_to_cluster_mode");
    // An empty name list is left out: scli takes "" as a name and refuses it.
    return this.base(
      "--switch_cluster_mode",
      "--cluster_mode",
      mode,
      ...(slaves.length > 0 ? ["--add_slave_mdm_name", slaves.join(",")] : []),
      ...(tbs.length > 0 ? ["--add_tb_name", tbs.join(",")] : []),
    );
  }

  renameSystem(name: string): ScliCommand {
    return this.base("--rename_system", "--new_name", name);
  }

  addProtectionDomain(pd: string): ScliCommand {
    return this.base("--add_protection_domain", "--protection_domain_name", pd);
  }

  addStoragePool(pd: string, sp: string, media: MediaType): ScliCommand {
    const m = this.dialect === "3.x" ? ["--media_type", media] : [];
    return this.base(
      "--add_storage_pool",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
      ...m,
    );
  }

  addSds(ip: string, devices: string[], name: string, pd: string, sp: string): ScliCommand {
    return this.base(
      "--add_sds",
      "--sds_ip",
      ip,
      "--device_path",
      devices.join(","),
      "--sds_name",
      name,
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
    );
  }

  addVolume(pd: string, sp: string, sizeGb: number, name: string): ScliCommand {
    return this.base(
      "--add_volume",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
      "--size_gb",
      String(sizeGb),
      "--volume_name",
      name,
    );
  }

  mapVolume(volume: string, sdcIp: string): ScliCommand {
    return this.base("--map_volume_to_sdc", "--volume_name", volume, "--sdc_ip", sdcIp);
  }

  unmapVolume(volume: string, sdcIp: string): ScliCommand {
    return this.base(
      "--unmap_volume_from_sdc",
      "--volume_name",
      volume,
      "--sdc_ip",
      sdcIp,
      "--i_am_sure",
    );
  }

  removeVolume(volume: string): ScliCommand {
    return this.base("--remove_volume", "--volume_name", volume, "--i_am_sure");
  }

  queryCluster(): ScliCommand {
    return this.base("--query_cluster");
  }
  queryAllVolumes(): ScliCommand {
    return this.base("--query_all_volumes");
  }
  queryAllSds(): ScliCommand {
    return this.base("--query_all_sds");
  }
  queryAllSdc(): ScliCommand {
    return this.base("--query_all_sdc");
  }
  queryAll(): ScliCommand {
    return this.base("--query_all");
  }
  queryVolume(name: string): ScliCommand {
    return this.base("--query_volume", "--volume_name", name);
  }
}

// ---- parsers -------------------------------------------------------------------------------
// Every layout these parsers accept was seen in public output: test/fixtures/scli/README.md
// lists each sample by ScaleIO version and source (2.0, 2.5 and 3.6 --query_cluster, 1.30/1.31
// --query_all, 1.3x and 2.x --query_all_sds/_sdc/_volumes, drv_cfg, gateway). They split on
// known keys and section headers, treat names as optional (`N/A` or absent), ignore lines they
// do not know, and throw only when what the installer needs is missing.

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/** A name as scli prints it, or undefined for "no name" (`N/A`, empty). */
function nameOrUndefined(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t && t !== "N/A" ? t : undefined;
}

/**
 * `Key: value, Key 2: v1, v2, Key3: v` -> [[key, value], ...] for the comma-separated layouts
 * (`--query_cluster`). A key starts the line or follows a comma and ends at `: `; a comma
 * followed by anything else (an address, an interface, a trailing role) belongs to the value.
 */
export function commaKeyValues(line: string): [string, string][] {
  const re = /(?:^|,)\s*([A-Za-z][^,:]*?):(?=\s|$)/g;
  const marks: { key: string; start: number; end: number }[] = [];
  for (let m = re.exec(line); m; m = re.exec(line)) {
    marks.push({ key: m[1].trim(), start: m.index, end: m.index + m[0].length });
  }
  return marks.map((k, i) => [
    k.key,
    line
      .slice(k.end, i + 1 < marks.length ? marks[i + 1].start : line.length)
      .trim()
      .replace(/,$/, "")
      .trim(),
  ]);
}

/**
 * The value of `key` in a space-separated line (`SDS ID: x Name: y State: z, Joined IP: ...`):
 * the text after `key:` up to the next of `stops` (other keys of that line) or the line's end.
 */
function spacedField(rest: string, key: string, stops: string[]): string | undefined {
  const k = new RegExp(`(?:^|\\s)${key}:?\\s+`).exec(rest);
  if (!k) return undefined;
  const after = rest.slice(k.index + k[0].length);
  let end = after.length;
  for (const s of stops) {
    const m = new RegExp(`(?:,\\s*|\\s+)${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`).exec(after);
    if (m && m.index < end) end = m.index;
  }
  return after.slice(0, end).trim().replace(/,$/, "");
}

/**
 * `Logged in. User role is SuperUser. System ID is 1a2b3c4d5e6f7a8b` -> role and system ID
 * (lower case). Roles seen: SuperUser (2.x/3.x), Administrator (1.31). A certificate block may
 * precede the line (scli on an unapproved certificate). Undefined when no such line.
 */
export function parseLogin(out: string): { role: string; systemId: string } | undefined {
  const m = /Logged in\.?\s*User role is ([\w-]+)\.?\s*System ID is ([0-9a-fA-F]+)/.exec(out);
  return m ? { role: m[1], systemId: m[2].toLowerCase() } : undefined;
}

export interface MdmInfo {
  /** Absent when the MDM has none (3.6 prints only `ID:`; clusters built by other tools). */
  name?: string;
  /** `0x...` as printed. */
  id?: string;
  /** Data addresses (`IPs:` in 2.x, `IP Addresses:` in 3.x); several per MDM are possible. */
  ips: string[];
  managementIps: string[];
  /** The trailing role of a standby MDM: `Manager`, `Tie Breaker`. */
  role?: string;
  status?: string;
  version?: string;
}

export interface ClusterInfo {
  name?: string;
  id?: string;
  /** `1_node`, `3_node`, `5_node` */
  mode: string;
  /** `Normal`, `Degraded`, ... */
  state: string;
  /** "3/3" */
  active?: string;
  replicas?: string;
  virtualIps: string[];
  master?: MdmInfo;
  slaves: MdmInfo[];
  tieBreakers: MdmInfo[];
  standbys: MdmInfo[];
}

type ClusterSection = "cluster" | "master" | "slaves" | "tieBreakers" | "standbys";
const CLUSTER_SECTIONS: Partial<Record<string, ClusterSection>> = {
  cluster: "cluster",
  "master mdm": "master",
  "slave mdms": "slaves",
  "slave mdm": "slaves",
  "tie-breakers": "tieBreakers",
  "tie breakers": "tieBreakers",
  "tie-breaker": "tieBreakers",
  "standby mdms": "standbys",
  "standby mdm": "standbys",
};

/**
 * `scli --query_cluster` (2.0 to 3.6). A section header (`Cluster:`, `Master MDM:`,
 * `Slave MDMs:`, `Tie-Breakers:`, `Standby MDMs:`) alone on its line opens a section; in an
 * MDM section a line whose first key is `Name` or `ID` opens an MDM, and the lines after it
 * add `IPs`/`IP Addresses`, `Management IPs`, `Status`, `Version`. Indentation is not relied on.
 * Throws when no `Mode:` is found (not a --query_cluster answer).
 */
export function parseQueryCluster(out: string): ClusterInfo {
  const info: ClusterInfo = {
    mode: "",
    state: "",
    virtualIps: [],
    slaves: [],
    tieBreakers: [],
    standbys: [],
  };
  let section: ClusterSection | "other" | "" = "";
  let current: MdmInfo | undefined;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const header = /^([A-Za-z][A-Za-z -]*):$/.exec(line);
    if (header) {
      section = CLUSTER_SECTIONS[header[1].trim().toLowerCase()] ?? "other";
      current = undefined;
      continue;
    }
    const kvs = commaKeyValues(line);
    if (section === "cluster") {
      for (const [k, v] of kvs) {
        const key = k.toLowerCase();
        if (key === "mode") info.mode = v;
        else if (key === "state" || key === "cluster state") info.state = v;
        else if (key === "active") info.active = v;
        else if (key === "replicas") info.replicas = v;
        else if (key === "name") info.name = nameOrUndefined(v);
        else if (key === "id") info.id = v;
        else if (key.startsWith("virtual ip")) info.virtualIps = v.match(IPV4) ?? [];
      }
      continue;
    }
    if (section === "" || section === "other" || kvs.length === 0) continue;
    const first = kvs[0][0].toLowerCase();
    if (first === "name" || first === "id" || !current) {
      current = { ips: [], managementIps: [] };
      if (section === "master") info.master = current;
      else info[section].push(current);
      const trailing = /,\s*(Manager|Tie ?Breaker|TieBreaker|TB)\s*$/i.exec(line);
      if (trailing) current.role = trailing[1];
    }
    for (const [k, v] of kvs) {
      const key = k.toLowerCase();
      if (key === "name") current.name = nameOrUndefined(v);
      else if (key === "id") current.id = v.split(",")[0].trim();
      else if (key === "ips" || key === "ip addresses") current.ips = v.match(IPV4) ?? [];
      else if (key === "management ips" || key === "management ip addresses")
        current.managementIps = v.match(IPV4) ?? [];
      else if (key === "status") current.status = v;
      else if (key === "version") current.version = v;
    }
  }
  if (!info.mode)
    throw new Error(`unexpected scli --query_cluster output (no "Mode:"):\n${out.slice(0, 400)}`);
  return info;
}

/** Every MDM the cluster lists (master, slaves, tie-breakers, standbys). */
export function allMdms(c: ClusterInfo): MdmInfo[] {
  return [...(c.master ? [c.master] : []), ...c.slaves, ...c.tieBreakers, ...c.standbys];
}

export interface VolumeInfo {
  id: string;
  name?: string;
  sizeGb?: number;
  /** Number of SDCs it is mapped to: 0 when `Unmapped`; undefined when the layout does not say. */
  mappedSdcs?: number;
  thin?: boolean;
  /** A snapshot (`Snapshot of ...`), never one of our volumes. */
  snapshot: boolean;
  protectionDomain?: string;
  storagePool?: string;
}

/**
 * A protection domain's section header in the volume and SDS listings, `Protection Domain <id>
 * Name: <pd>` (1.3x/2.x) or `Protection Domain: Name: <pd> ID: <id>`; undefined for other lines.
 */
function protectionDomainHeader(line: string): { name: string | undefined } | undefined {
  const m =
    /^Protection Domain:?\s+(?:Name:\s*(\S+)\s+ID:\s*[0-9a-fA-F]+|[0-9a-fA-F]+\s+Name:\s*(\S+))/.exec(
      line,
    );
  return m ? { name: nameOrUndefined(m[1] ?? m[2]) } : undefined;
}

/**
 * `scli --query_all_volumes`. 2.x: ` Volume ID: <id> Name: <n> Size: 8.0 GB (8192 MB) Mapped to
 * 3 SDC Thick-provisioned` under `Protection Domain <id> Name: <pd>` / `Storage Pool <id> Name:
 * <sp>` headers; 1.30: `>> Volume ID <id> Name: <n> Storage pool: <sp> Size:8 GB (8192 MB)`
 * followed by `Volume is unmapped`. IDs lower-cased.
 */
export function parseVolumes(out: string): VolumeInfo[] {
  const vols: VolumeInfo[] = [];
  let pd: string | undefined;
  let sp: string | undefined;
  let last: VolumeInfo | undefined;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    const pdm = protectionDomainHeader(line);
    if (pdm) {
      pd = pdm.name;
      sp = undefined;
      continue;
    }
    const spm = /^Storage Pool:?\s+[0-9a-fA-F]+\s+Name:\s*(\S+)/.exec(line);
    if (spm) {
      sp = nameOrUndefined(spm[1]);
      continue;
    }
    const v = /^(?:>>\s*)?Volume ID:?\s+([0-9a-fA-F]+)\b(.*)$/.exec(line);
    if (v) {
      const rest = v[2];
      const size = /Size:\s*([\d.]+)\s*GB/.exec(rest);
      const mapped = /Mapped to (\d+) SDC/i.exec(rest);
      const prov = /(Thin|Thick)-provisioned/i.exec(rest);
      last = {
        id: v[1].toLowerCase(),
        name: nameOrUndefined(
          spacedField(rest, "Name", ["Size:", "Storage pool:", "Mapped", "Unmapped"]),
        ),
        sizeGb: size ? Number(size[1]) : undefined,
        mappedSdcs: mapped ? Number(mapped[1]) : /\bUnmapped\b/i.test(rest) ? 0 : undefined,
        thin: prov ? prov[1].toLowerCase() === "thin" : undefined,
        snapshot: /Snapshot of/i.test(rest),
        protectionDomain: pd,
        storagePool: nameOrUndefined(spacedField(rest, "Storage pool", ["Size:"])) ?? sp,
      };
      vols.push(last);
      continue;
    }
    if (last && /^Volume is unmapped/i.test(line)) last.mappedSdcs = 0;
    const mappedLine = /^Volume is mapped to (\d+) SDC/i.exec(line);
    if (last && mappedLine) last.mappedSdcs = Number(mappedLine[1]);
  }
  return vols;
}

export interface SdsInfo {
  id: string;
  name?: string;
  state?: string;
  ip: string;
  protectionDomain?: string;
}

/**
 * `scli --query_all_sds`: `SDS ID: <id> Name: <n> State: <s>, Joined IP: <ip> Port: 7072
 * Version: <v>` (2.x; `Joined IP` without colon seen in 2.0.5014; no `Version` in others) or
 * `SDS ID: <id> Name: <n> IP: <ip> Port: 7072` (1.3x), under `Protection Domain <id> Name: <pd>`
 * or `Protection Domain: Name: <pd> ID: <id>`. Throws on an SDS line without an address.
 */
export function parseSds(out: string): SdsInfo[] {
  const res: SdsInfo[] = [];
  let pd: string | undefined;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    const pdm = protectionDomainHeader(line);
    if (pdm) {
      pd = pdm.name;
      continue;
    }
    const m = /^SDS ID:\s*([0-9a-fA-F]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2];
    const ip = /(?:Joined IP:?|\bIP:)\s*(\d{1,3}(?:\.\d{1,3}){3})/.exec(rest);
    if (!ip) throw new Error(`scli --query_all_sds: no address in SDS line "${line}"`);
    res.push({
      id: m[1].toLowerCase(),
      name: nameOrUndefined(spacedField(rest, "Name", ["State:", "Joined IP", "IP:", "Port:"])),
      state: spacedField(rest, "State", ["Joined IP", "IP:", "Port:"]),
      ip: ip[1],
      protectionDomain: pd,
    });
  }
  return res;
}

export interface SdcInfo {
  id: string;
  /** Absent when the SDC has none (`N/A`) or the layout has no names (1.3x). */
  name?: string;
  ip: string;
  state?: string;
  guid?: string;
}

/**
 * `scli --query_all_sdc`: `SDC ID: <id> [Name: <n>] IP: <ip> State: Connected GUID: <guid> ...`
 * (the name field is absent in 1.3x; indented bandwidth lines follow each SDC in 2.x and are
 * ignored). Throws on an SDC line without an address.
 */
export function parseSdcs(out: string): SdcInfo[] {
  const res: SdcInfo[] = [];
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const m = /^\s*SDC ID:\s*([0-9a-fA-F]+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const rest = m[2];
    const ip = /\bIP:\s*(\d{1,3}(?:\.\d{1,3}){3})/.exec(rest);
    if (!ip) throw new Error(`scli --query_all_sdc: no address in SDC line "${raw.trim()}"`);
    res.push({
      id: m[1].toLowerCase(),
      name: nameOrUndefined(spacedField(rest, "Name", ["IP:"])),
      ip: ip[1],
      state: spacedField(rest, "State", ["GUID:", "OS Type:", "Approved:", "Loaded Version:"]),
      guid: /GUID:\s*([0-9A-Fa-f-]{36})/.exec(rest)?.[1],
    });
  }
  return res;
}

/** `drv_cfg --query_vols`: `Retrieved N volume(s)` then `VOL-ID <volid> MDM-ID <systemid>`. */
export function parseDrvQueryVols(out: string): { volumeId: string; systemId: string }[] {
  const res: { volumeId: string; systemId: string }[] = [];
  const re = /VOL-ID\s+([0-9a-fA-Fx]+)\s+MDM-ID\s+([0-9a-fA-Fx]+)/g;
  for (let m = re.exec(out); m; m = re.exec(out)) {
    res.push({ volumeId: m[1].toLowerCase(), systemId: m[2].toLowerCase() });
  }
  return res;
}

/**
 * `drv_cfg --query_guid`: the SDC's GUID alone on a line (thecodeteam/goscaleio sdc.go reads it
 * that way; the emulator prints it upper case, the published sample is lower case). Lower-cased;
 * undefined when no GUID is printed (scini not loaded, drv_cfg missing).
 */
export function parseDrvGuid(out: string): string | undefined {
  return /\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b/
    .exec(out)?.[0]
    .toLowerCase();
}

/**
 * What a failed scli command means, from its text. scli uses exit status 7 for several of these
 * (already exists, not ready, wrong password), so the text decides.
 * - `no-cluster`: the MDM is not part of any system yet: 2.0 `The MDM cluster state is
 *   incorrect` (swisscom/puppet-scaleio lib/facter/scaleio_mdm_clustersetup_needed.rb takes it as
 *   "cluster setup needed"), 2.0.1+ `This MDM is not attached to a system` (issue 11; no public
 *   sample found), the older emulator's `has not been created`. Only then may a cluster be created.
 * - `certificate`: scli wants the MDM certificate approved (it would ask y/n).
 * - `unreachable`, `no-session`: transient (an MDM starting, a failover); worth retrying.
 * - everything else is the MDM's final word and is shown to the user at once.
 */
export type ScliFailure =
  | "no-cluster"
  | "certificate"
  | "unreachable"
  | "auth"
  | "exists"
  | "not-found"
  | "no-session"
  | "other";

/** The failures worth retrying: the same command can succeed a little later. */
export const TRANSIENT_FAILURES: readonly ScliFailure[] = ["unreachable", "no-session"];

export function classifyFailure(out: string): ScliFailure {
  const tests: [ScliFailure, RegExp][] = [
    [
      "no-cluster",
      /not attached to a system|cluster state is incorrect|has not been created|cluster (is )?not (yet )?created/i,
    ],
    [
      "certificate",
      /approve this certificate|Press 'y'|\(y\/n\)|\[y\/n\]|certificate .*(not trusted|untrusted)/i,
    ],
    ["exists", /already (exists|in use|mapped|added|a member)|name .* is already in use/i],
    [
      "no-session",
      /not logged in|log ?in first|login (is )?required|session (has )?(expired|ended|timed out|is not valid)/i,
    ],
    [
      "auth",
      /(invalid|wrong|incorrect).*(user ?name|password|credentials)|authenticat|permission denied/i,
    ],
    ["not-found", /could not find|not found|does not exist|unknown (volume|sdc|sds)/i],
    [
      "unreachable",
      /fail(ed)? to connect|connection refused|could not connect|not (yet )?(answering|responding)|unreachable|timed? ?out|no mdm answers|not ready|not the master/i,
    ],
  ];
  for (const [kind, re] of tests) if (re.test(out)) return kind;
  return "other";
}

/** The vendor's own words from scli output: its `Error:`/`Status:` lines, else its last lines. */
export function vendorMessage(out: string): string {
  const lines = out
    .replace(/\r/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(Error|Warning)\b|Status:/i.test(l));
  return (errors.length > 0 ? errors : lines.slice(-3)).join(" / ");
}

/** Where drv_cfg lives (newer layouts first). */
export const DRV_CFG_PATHS = ["/opt/emc/scaleio/sdc/bin/drv_cfg", "/bin/emc/scaleio/drv_cfg"];

/** Shell snippet that runs drv_cfg from wherever it is installed. */
export function drvCfg(args: string): string {
  return `{ d=; for p in ${DRV_CFG_PATHS.join(" ")}; do [ -x "$p" ] && d="$p" && break; done; [ -n "$d" ] || { echo "drv_cfg not found (is the SDC package installed?)" >&2; exit 127; }; "$d" ${args}; }`;
}

/** The stable device path of a mapped volume (reference §5). */
export function volumeDevicePath(systemId: string, volumeId: string): string {
  return `/dev/disk/by-id/emc-vol-${systemId}-${volumeId}`;
}

export interface SystemInfo {
  id?: string;
  name?: string;
  protectionDomains: {
    id: string;
    name?: string;
    pools: { id: string; name?: string; mediaType?: string }[];
  }[];
}

/**
 * A `Protection Domain`/`Storage Pool` header of `--query_all` in any seen layout:
 * `<kind> <name> (Id: <id>) has ...` (1.30, 1.31, 2.0), `<kind> <name> Id: <id>` (the same with
 * the parentheses stripped, as monitoring scripts show it) or `<kind> <id> (Name: <name>)`.
 */
function queryAllHeader(line: string, kind: string): { id: string; name?: string } | undefined {
  const byId = new RegExp(`^${kind}\\s+(\\S+)\\s+\\(?Id:\\s*([0-9a-fA-F]+)\\)?`, "i").exec(line);
  if (byId) return { id: byId[2].toLowerCase(), name: nameOrUndefined(byId[1]) };
  const byName = new RegExp(`^${kind}\\s+([0-9a-fA-F]+)\\s+\\(Name:\\s*([^)]*)\\)`, "i").exec(line);
  if (byName) return { id: byName[1].toLowerCase(), name: nameOrUndefined(byName[2]) };
  return undefined;
}

/**
 * `scli --query_all`: the `System Info:` block (`ID:`, and `Name:` once the system was renamed),
 * then protection domains with their storage pools (see queryAllHeader; `Media type:` when
 * printed). Pools before any protection domain are ignored.
 */
export function parseQueryAll(out: string): SystemInfo {
  const info: SystemInfo = { protectionDomains: [] };
  const lines = out.replace(/\r/g, "").split("\n");
  const start = lines.findIndex((l) => /^\s*System Info:\s*$/.test(l));
  const sysLines = start >= 0 ? lines.slice(start + 1) : lines;
  const end = sysLines.findIndex((l) => l.trim() === "");
  for (const l of end >= 0 ? sysLines.slice(0, end) : sysLines) {
    const id = /^\s*ID:\s*([0-9a-fA-F]+)\s*$/.exec(l);
    if (id) info.id = id[1].toLowerCase();
    const name = /^\s*Name:\s*(\S+)\s*$/.exec(l);
    if (name) info.name = nameOrUndefined(name[1]);
  }
  let pd: SystemInfo["protectionDomains"][number] | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    const p = queryAllHeader(line, "Protection Domain");
    if (p) {
      pd = { ...p, pools: [] };
      info.protectionDomains.push(pd);
      continue;
    }
    const sp = queryAllHeader(line, "Storage Pool");
    if (sp && pd) {
      const media = /Media type:\s*(\w+)/i.exec(line)?.[1];
      pd.pools.push({ ...sp, ...(media ? { mediaType: media } : {}) });
    }
  }
  return info;
}
