// Everything about scli's flags and output formats lives here (reference §4, §5): command
// builders per dialect and parsers for the queries. Stages never spell an scli flag themselves.
import type { Dialect } from "./rpms";
import { q } from "./shell";

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

function cmd(words: Word[]): ScliCommand {
  const secrets = words
    .filter((w): w is { secret: string } => typeof w !== "string")
    .map((w) => w.secret);
  return { line: render(words), secrets };
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
    // 2.x+ scli trusts the MDM certificate per user; approving on every call keeps a failover
    // (new master, new certificate) from breaking the next command. Only MDM hosts run scli.
    const approve =
      this.dialect !== "1.3x" && !words.includes("--approve_certificate")
        ? ["--approve_certificate"]
        : [];
    return cmd(["scli", ...words, "--mdm_ip", this.mdmIps.join(","), ...approve]);
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

  login(user: string, passwordVar: string): ScliCommand {
    const extra = this.dialect === "1.3x" ? [] : ["--approve_certificate"];
    return this.base(
      "--login",
      "--username",
      user,
      "--password",
      { secret: passwordVar },
      ...extra,
    );
  }

  setPassword(oldVar: string, newVar: string): ScliCommand {
    return this.base("--set_password", "--old_password", { secret: oldVar }, "--new_password", {
      secret: newVar,
    });
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

/** `Logged in. User role is SuperUser. System ID is 1a2b3c4d5e6f7a8b` -> the system ID. */
export function parseLogin(out: string): { role: string; systemId: string } | undefined {
  const m = /Logged in\.\s*User role is (\w+)\.\s*System ID is ([0-9a-fA-F]+)/.exec(out);
  return m ? { role: m[1], systemId: m[2].toLowerCase() } : undefined;
}

export interface MdmInfo {
  name: string;
  id?: string;
  ips: string[];
  role?: string;
  status?: string;
}

export interface ClusterInfo {
  name?: string;
  id?: string;
  mode: string;
  state: string;
  /** "3/3" */
  active?: string;
  replicas?: string;
  master?: MdmInfo;
  slaves: MdmInfo[];
  tieBreakers: MdmInfo[];
  standbys: MdmInfo[];
}

/** The value of `Key: value` in a line, up to the next comma or whitespace. */
function field(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s,])${key}:\\s*([^,\\s]+)`).exec(line);
  return m ? m[1] : undefined;
}

/** `IPs: 10.0.0.1, 10.0.0.2, Management IPs: ...` -> the addresses right after `IPs:`. */
function ipsOf(line: string): string[] | undefined {
  const m = /(?:^|[\s,])IPs:\s*((?:\d+\.\d+\.\d+\.\d+(?:\s*,\s*)?)+)/.exec(line);
  return m ? m[1].split(/[\s,]+/).filter(Boolean) : undefined;
}

/**
 * `scli --query_cluster` (2.x/3.x):
 *   Cluster:
 *       Name: c1, ID: 1a2b..., Mode: 3_node, State: Normal, Active: 3/3, Replicas: 2/2
 *   Master MDM:
 *       Name: mdm1, ID: 0x...
 *           IPs: 10.0.0.1, Management IPs: 10.0.0.1, Port: 9011
 *   Slave MDMs:
 *       Name: mdm2, ID: 0x...
 *           IPs: 10.0.0.2, ...   Status: Normal
 *   Tie-Breakers:
 *       Name: tb1, ...
 *   Standby MDMs:
 *       Name: mdm4, ID: 0x..., Manager
 */
export function parseQueryCluster(out: string): ClusterInfo {
  const info: ClusterInfo = { mode: "", state: "", slaves: [], tieBreakers: [], standbys: [] };
  let section = "";
  let current: MdmInfo | undefined;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    if (raw.trim() === "") continue;
    const header = /^(\S[^:]*):\s*$/.exec(raw);
    if (header) {
      section = header[1].trim().toLowerCase();
      current = undefined;
      continue;
    }
    if (section === "cluster") {
      info.mode = field(raw, "Mode") ?? info.mode;
      info.state = field(raw, "State") ?? info.state;
      info.active = field(raw, "Active") ?? info.active;
      info.replicas = field(raw, "Replicas") ?? info.replicas;
      info.name = field(raw, "Name") ?? info.name;
      info.id = field(raw, "ID") ?? info.id;
      continue;
    }
    const list =
      section === "master mdm"
        ? "master"
        : section.startsWith("slave")
          ? "slaves"
          : section.startsWith("tie")
            ? "tieBreakers"
            : section.startsWith("standby")
              ? "standbys"
              : undefined;
    if (!list) continue;
    const name = field(raw, "Name");
    if (name) {
      current = { name, id: field(raw, "ID"), ips: [] };
      const trailing = /,\s*(Manager|TieBreaker|Tie Breaker|tb)\s*$/i.exec(raw);
      if (trailing) current.role = trailing[1];
      if (list === "master") info.master = current;
      else info[list].push(current);
    }
    if (current) {
      current.ips = ipsOf(raw) ?? current.ips;
      current.status = field(raw, "Status") ?? current.status;
    }
  }
  if (!info.mode)
    throw new Error(`unexpected scli --query_cluster output (no "Mode:"):\n${out.slice(0, 400)}`);
  return info;
}

export interface VolumeInfo {
  id: string;
  name: string;
  sizeGb: number;
  /** Number of SDCs it is mapped to (0 when unmapped). */
  mappedSdcs: number;
}

/** ` Volume ID: 6e2b2b3400000000 Name: vol1 Size: 8.0 GB (8192 MB) Mapped to 3 SDC Thick-provisioned` */
export function parseVolumes(out: string): VolumeInfo[] {
  const vols: VolumeInfo[] = [];
  const re = /Volume ID:\s*([0-9a-fA-Fx]+)\s+Name:\s*(\S+)\s+Size:\s*([\d.]+)\s*GB[^\n]*/g;
  for (let m = re.exec(out); m; m = re.exec(out)) {
    const mapped = /Mapped to (\d+) SDC/.exec(m[0]);
    vols.push({
      id: m[1].toLowerCase(),
      name: m[2],
      sizeGb: Number(m[3]),
      mappedSdcs: mapped ? Number(mapped[1]) : 0,
    });
  }
  return vols;
}

export interface SdsInfo {
  id: string;
  name: string;
  state: string;
  ip: string;
}

/** `SDS ID: <id> Name: <n> State: <s>, Joined IP: <ip> Port: 7072 Version: <v>` */
export function parseSds(out: string): SdsInfo[] {
  const res: SdsInfo[] = [];
  const re = /SDS ID:\s*(\S+)\s+Name:\s*(\S+)\s+State:\s*([^,\n]+),\s*(?:\w+\s+)?IP:\s*([\d.]+)/g;
  for (let m = re.exec(out); m; m = re.exec(out)) {
    res.push({ id: m[1].toLowerCase(), name: m[2], state: m[3].trim(), ip: m[4] });
  }
  return res;
}

export interface SdcInfo {
  id: string;
  name: string;
  ip: string;
  state: string;
  guid?: string;
}

/** `SDC ID: <id> Name: <n> IP: <ip> State: Connected GUID: <guid>` */
export function parseSdcs(out: string): SdcInfo[] {
  const res: SdcInfo[] = [];
  const re =
    /SDC ID:\s*(\S+)\s+Name:\s*(\S+)\s+IP:\s*([\d.]+)\s+State:\s*(\S+)(?:\s+GUID:\s*(\S+))?/g;
  for (let m = re.exec(out); m; m = re.exec(out)) {
    res.push({ id: m[1].toLowerCase(), name: m[2], ip: m[3], state: m[4], guid: m[5] });
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

/** What a failed scli command means, from its text (exit status 7 covers several cases). */
export type ScliFailure = "unreachable" | "auth" | "exists" | "not-found" | "no-session" | "other";

export function classifyFailure(out: string): ScliFailure {
  const tests: [ScliFailure, RegExp][] = [
    ["exists", /already (exists|in use|mapped|added)|name .* is in use|is already/i],
    ["no-session", /not logged in|login first|login (is )?required|session/i],
    [
      "auth",
      /(invalid|wrong|incorrect).*(user ?name|password|credentials)|authenticat|permission denied/i,
    ],
    ["not-found", /could not find|not found|does not exist|unknown (volume|sdc|sds)/i],
    [
      "unreachable",
      /fail(ed)? to connect|connection refused|could not connect|not (yet )?(answering|responding)|unreachable|timed? ?out|no mdm|not created|not ready/i,
    ],
  ];
  for (const [kind, re] of tests) if (re.test(out)) return kind;
  return "other";
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

/** scli object names: letters, digits, `_` and `-`, at most 31 characters. */
export function objectName(s: string): string {
  const n = s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 31);
  if (!n) throw new Error(`cannot derive a ScaleIO object name from "${s}"`);
  return n;
}

export interface SystemInfo {
  id?: string;
  name?: string;
  protectionDomains: {
    id: string;
    name: string;
    pools: { id: string; name: string; mediaType?: string }[];
  }[];
}

/**
 * `scli --query_all`: a "System Info:" block (`ID:`, `Name:`), then
 * `Protection Domain <id> (Name: <pd>)` and indented `Storage Pool <id> (Name: <sp>), Media type: HDD, ...`.
 */
export function parseQueryAll(out: string): SystemInfo {
  const info: SystemInfo = { protectionDomains: [] };
  const id = /^\s*ID:\s*([0-9a-fA-F]+)\s*$/m.exec(out);
  const name = /^\s*Name:\s*(\S+)\s*$/m.exec(out);
  if (id) info.id = id[1].toLowerCase();
  if (name && name[1] !== "N/A") info.name = name[1];
  let pd: SystemInfo["protectionDomains"][number] | undefined;
  for (const line of out.split("\n")) {
    const p = /Protection Domain\s+(\S+)\s+\(Name:\s*([^)]+)\)/.exec(line);
    if (p) {
      pd = { id: p[1], name: p[2].trim(), pools: [] };
      info.protectionDomains.push(pd);
      continue;
    }
    const sp = /Storage Pool\s+(\S+)\s+\(Name:\s*([^)]+)\)(?:,\s*Media type:\s*(\w+))?/.exec(line);
    if (sp && pd) pd.pools.push({ id: sp[1], name: sp[2].trim(), mediaType: sp[3] });
  }
  return info;
}
