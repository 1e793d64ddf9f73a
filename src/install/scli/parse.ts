// Parsers for scli's and drv_cfg's output (reference §5). Every layout these parsers accept was
// seen in public output: test/fixtures/scli/README.md lists each sample by ScaleIO version and
// source (2.0, 2.5 and 3.6 --query_cluster, 1.30/1.31 --query_all, 1.3x and 2.x
// --query_all_sds/_sdc/_volumes, drv_cfg, gateway). They split on known keys and section
// headers, treat names as optional (`N/A` or absent), ignore lines they do not know, and throw
// only when what the installer needs is missing.

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

/** One device of an SDS as `--query_sds` lists it. */
export interface SdsDeviceInfo {
  /** The path the device was added with (`Original-path:`, else `Path:`). */
  path: string;
  /** Its storage pool's name (`Storage Pool: <name>, Capacity: ...`), when named. */
  pool?: string;
}

/**
 * `scli --query_sds`: the `Protection Domain: <id>, Name: <pd>` line and the device list, each
 * device as `<n>: Name: <n>  Path: <p>  Original-path: <p>  ID: <id>` followed by `Storage Pool:
 * <name>, Capacity: ...` (2.0.12000 sample; swisscom/puppet-scaleio's scaleio_sds provider reads
 * `Original-path:` and `Storage Pool: (.*?),` the same way).
 */
export function parseSdsDevices(out: string): {
  protectionDomain?: string;
  devices: SdsDeviceInfo[];
} {
  const devices: SdsDeviceInfo[] = [];
  let protectionDomain: string | undefined;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    const pd = /^Protection Domain:\s*[0-9a-fA-F]+,\s*Name:\s*(\S+)/.exec(line);
    if (pd) protectionDomain = nameOrUndefined(pd[1]);
    const dev = /^\d+:\s.*\bPath:\s*(\S+)(?:.*\bOriginal-path:\s*(\S+))?/.exec(line);
    if (dev) {
      devices.push({ path: dev[2] ?? dev[1] });
      continue;
    }
    const pool = /^Storage Pool:\s*([^,]+),/.exec(line);
    if (pool && devices.length > 0)
      devices[devices.length - 1].pool = nameOrUndefined(pool[1].trim());
  }
  return { protectionDomain, devices };
}

/** One SDS as `scli --query_sds` shows it: its devices' raw capacity and its states. */
export interface SdsDetail {
  id?: string;
  name?: string;
  /** Raw capacity of its devices by storage pool name, in GB. */
  capacityGbByPool: Record<string, number>;
  /** `Joined`, `Removing`, ... (`Membership-state:`); undefined when not printed. */
  membership?: string;
  /** `Connected`, `Disconnected` (`Connection-state:`). */
  connection?: string;
  /** `Normal`, `RemovalInProgress` (`SDS-state:`). */
  sdsState?: string;
  /** `<size> total capacity` / `<size> in-use capacity` (the copies it holds), in GB. */
  totalGb?: number;
  inUseGb?: number;
  /** A percentage the MDM prints for moving data off it (migration, rebuild), when it prints one. */
  progressPercent?: number;
}

/** `120.0 GB (122880 MB)`, `1.5 TB`, `512 MB` -> GB; undefined for anything else. */
export function sizeToGb(text: string): number | undefined {
  const m = /([\d.]+)\s*(TB|GB|MB)\b/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  return unit === "TB" ? n * 1024 : unit === "MB" ? n / 1024 : n;
}

/**
 * `scli --query_sds` (2.0.12000 layout, test/fixtures/scli/README.md; emulator samples in
 * test/fixtures/scli/day2/): `SDS <id> Name: <n>`, device lines followed by `Storage Pool: <sp>,
 * Capacity: <size>`, `Membership-state: ..; Connection-state: ..; SDS-state: ..`, then
 * `<size> total capacity` and `<size> in-use capacity` (both copies it holds). A line naming a removal, migration or rebuild with a
 * percentage gives `progressPercent`. Throws when no `SDS <id>` line is found.
 */
export function parseSdsDetail(out: string): SdsDetail {
  const d: SdsDetail = { capacityGbByPool: {} };
  let seen = false;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    const head = /^SDS\s+([0-9a-fA-F]+)\s+Name:\s*(\S+)/.exec(line);
    if (head) {
      seen = true;
      d.id = head[1].toLowerCase();
      d.name = nameOrUndefined(head[2]);
      continue;
    }
    const dev = /^Storage Pool:\s*([^,]+),\s*Capacity:\s*(.+)$/.exec(line);
    if (dev) {
      const gb = sizeToGb(dev[2]) ?? 0;
      const pool = dev[1].trim();
      d.capacityGbByPool[pool] = (d.capacityGbByPool[pool] ?? 0) + gb;
      continue;
    }
    const states = /Membership-state:\s*([^;]+)(?:;\s*Connection-state:\s*([^;]+))?/.exec(line);
    if (states) {
      d.membership = states[1].trim();
      d.connection = states[2]?.trim();
      d.sdsState = /SDS-state:\s*(\S+)/.exec(line)?.[1];
    }
    const cap = /^(.+?)\s+(total|in-use) capacity$/.exec(line);
    if (cap) {
      const gb = /^0 Bytes$/.test(cap[1]) ? 0 : sizeToGb(cap[1]);
      if (cap[2] === "total") d.totalGb = gb;
      else d.inUseGb = gb;
    }
    const pct = /(remov|migrat|rebuild|rebalanc|evacuat)[^%]*?(\d+(?:\.\d+)?)\s*%/i.exec(line);
    if (pct) d.progressPercent = Number(pct[2]);
  }
  if (!seen)
    throw new Error(
      `unexpected scli --query_sds output (no "SDS <id> Name:"):\n${out.slice(0, 400)}`,
    );
  return d;
}

/**
 * The spare share of a storage pool from `scli --query_all` (`Spare policy: 10% out of total`
 * under the pool's header), as a fraction; undefined when the pool or the line is not there.
 */
export function parseSparePolicy(out: string, pool: string): number | undefined {
  let inPool = false;
  for (const raw of out.replace(/\r/g, "").split("\n")) {
    const line = raw.trim();
    const sp = queryAllHeader(line, "Storage Pool");
    if (sp) {
      inPool = sp.name === pool;
      continue;
    }
    if (queryAllHeader(line, "Protection Domain")) inPool = false;
    const m = /^Spare policy:\s*(\d+(?:\.\d+)?)%/i.exec(line);
    if (inPool && m) return Number(m[1]) / 100;
  }
  return undefined;
}

/**
 * `drv_cfg --query_mdms`: the IPs of each MDM cluster the SDC driver knows, one list per
 * `MDM-ID <id> SDC ID <id> INSTALLATION ID <id> IPs [0]-<ip> [1]-<ip> ...` line (the layout
 * public scripts read: a ScaleIO `--query_mdms | awk '/MDM-ID/{ sub("^.*-", "", $10) ...'`
 * helper, Apache CloudStack's `awk '{print $5}'` for the SDC ID). `[]` for `Retrieved 0
 * mdm(s)`; undefined when the output is neither (drv_cfg missing, scini not running).
 */
export function parseDrvQueryMdms(out: string): string[][] | undefined {
  const lists: string[][] = [];
  for (const line of out.split("\n")) {
    if (!/^\s*MDM-ID\s/.test(line)) continue;
    lists.push([...line.matchAll(/\[\d+\]-(\S+)/g)].map((m) => m[1]));
  }
  if (lists.length > 0) return lists;
  return /Retrieved 0 mdm\(s\)/.test(out) ? [] : undefined;
}

/**
 * The SDC config file's `mdm` lines (`mdm ip1,ip2`, one per MDM cluster; reference §5, EMC's
 * swisscom/puppet-scaleio guard `grep -qE '^mdm <ips>$' drv_cfg.txt`): one IP list per line. Other
 * lines (comments, settings) are ignored.
 */
export function parseDrvCfgMdmLines(text: string): string[][] {
  const lists: string[][] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] === "mdm" && words[1]) lists.push(words[1].split(",").filter(Boolean));
  }
  return lists;
}
