// Day 2, the pure part: what changes when the stack's nodes change (a node gone, an MDM role
// moved, 3 <-> 5 MDMs), whether the cluster has room for a leaving SDS's data, and the words a
// preview prints about data before the user says yes. No I/O here: stages/membership.ts and
// stages/cluster.ts act on these decisions, provider.ts prints them.
//
// Rules and their public sources:
// - An SDS is removed with `scli --remove_sds`; the MDM first moves its data to the other SDSs
//   of the protection domain, and lists it until that is done (scli reference `--remove_sds`;
//   thecodeteam/puppet-scaleio SDS provider `destroy`; dell/ansible-powerflex
//   roles/powerflex_sds/tasks/uninstall_sds.yml removes the SDS from the cluster before the package).
// - The remaining SDSs must hold the pool's data: two copies of every block and the spare
//   reserve (`Spare policy: N% out of total` in `scli --query_all`) come off the raw capacity
//   (test/emulator/README.md, capacity model; Dell's sizing rule: usable = raw x (1 - spare) / 2
//   for two-copy mesh mirroring). Checked here BEFORE anything is removed, with the numbers.
// - An SDC is removed from the MDM only when no volume is mapped to it (dell/ansible-powerflex
//   roles/powerflex_sdc/tasks/remove_sdc.yml, sdc module `state: absent`).
// - MDM roles move by adding the new MDM as a standby, switching the cluster mode with the new
//   member in and the old one out in one command, then removing the old one as a standby
//   (dell/ansible-powerflex mdm_cluster module: add/remove standby MDM, switch cluster mode;
//   roles/powerflex_tb/tasks/uninstall_tb.yml and roles/powerflex_mdm/tasks/remove_mdm.yml;
//   terraform-provider-powerflex `powerflex_mdm_cluster`). The master leaves only after
//   `--switch_mdm_ownership` gave its role to another manager.
import type { Machine } from "../machine";
import type { ClusterInfo, MdmInfo } from "./scli";

/** The nodes in `before` that `after` no longer has (by name): they leave the cluster. */
export function departing(before: Machine[], after: Machine[]): Machine[] {
  return before.filter((b) => !after.some((a) => a.name === b.name));
}

/** What a storage pool holds and where, as the MDM reports it (GB). */
export interface PoolCapacity {
  pool: string;
  /** Spare share (0.1 for `Spare policy: 10% out of total`). */
  spare: number;
  /** Raw device capacity per SDS, by the SDS's address. */
  rawGbBySds: Record<string, number>;
  /** Sum of the sizes of the pool's thick volumes (thin volumes take what they hold). */
  allocatedGb: number;
  /**
   * Data each SDS holds, both copies (`in-use capacity` of `scli --query_sds`), by address;
   * absent where the MDM does not print it (then estimated from the allocation).
   */
  inUseGbBySds?: Record<string, number>;
}

export interface RoomCheck {
  ok: boolean;
  /** Data (both copies) estimated on the leaving SDSs, moved to the others. */
  moveGb: number;
  /** Usable capacity of the SDSs that stay. */
  usableAfterGb: number;
  /** What the pool's data needs there (thick volumes, or the data held, if more). */
  allocatedGb: number;
}

const usable = (rawGb: number, spare: number) => (rawGb * (1 - spare)) / 2;
const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Whether the SDSs at addresses other than `leaving` can hold the pool's data (two copies,
 * spare reserve off), and how much data the leaving ones hold: their `in-use capacity` when the
 * MDM prints it, else the allocation spread by raw capacity (ScaleIO places data across the
 * pool's devices in proportion to their size).
 */
export function roomAfterRemoving(cap: PoolCapacity, leaving: string[]): RoomCheck {
  const sum = (r: Record<string, number>, pick: (ip: string) => boolean) =>
    Object.entries(r)
      .filter(([ip]) => pick(ip))
      .reduce((s, [, gb]) => s + gb, 0);
  const total = sum(cap.rawGbBySds, () => true);
  const gone = sum(cap.rawGbBySds, (ip) => leaving.includes(ip));
  const usableAfterGb = round(usable(total - gone, cap.spare));
  const inUse = cap.inUseGbBySds;
  // What the pool's data needs: its thick volumes, or what its SDSs hold (one copy), if more.
  const neededGb = Math.max(cap.allocatedGb, inUse ? sum(inUse, () => true) / 2 : 0);
  const moveGb = inUse
    ? round(sum(inUse, (ip) => leaving.includes(ip)))
    : total > 0
      ? round((cap.allocatedGb * 2 * gone) / total)
      : 0;
  return { ok: neededGb <= usableAfterGb, moveGb, usableAfterGb, allocatedGb: round(neededGb) };
}

/** The refusal when the rest of the cluster cannot take a leaving SDS's data. */
export function noRoomMessage(
  leaving: string[],
  staying: string[],
  cap: PoolCapacity,
  r: RoomCheck,
): string {
  return (
    `removing the SDS of ${leaving.join(", ")} would leave storage pool ${cap.pool} without room ` +
    `for its data: the SDSs that stay (${staying.join(", ") || "none"}) hold ${r.usableAfterGb} GB ` +
    `usable (two copies, ${Math.round(cap.spare * 100)}% spare), the pool's volumes take ` +
    `${r.allocatedGb} GB. Add a node (or devices) before removing this one, or delete volumes ` +
    `you no longer need; nothing was changed.`
  );
}

/** Node names as a short list: node1-3 for a run of numbered names, else comma-separated. */
export function nodeList(names: string[]): string {
  const m = names.map((n) => /^(.*?)(\d+)$/.exec(n));
  const prefix = m[0]?.[1];
  const nums = m.map((x) => (x && x[1] === prefix ? Number(x[2]) : NaN)).sort((a, b) => a - b);
  const run = nums.length > 2 && nums.every((n, i) => n === nums[0] + i);
  return run ? `${prefix}${nums[0]}-${nums[nums.length - 1]}` : names.join(", ");
}

export interface MdmChange {
  /** The manager that must become master before the current one can leave. */
  newMaster?: MdmInfo;
  /** Slaves and tie-breakers taken out of the mode (by name as the MDM lists it). */
  removeSlaves: string[];
  removeTbs: string[];
  /** Standby MDMs to remove (after the switch), by address. */
  removeStandbys: string[];
  /** Members that are not wanted but are no node of this stack: left alone. */
  foreign: string[];
}

/**
 * What leaves the MDM cluster: members at one of `ours` (the addresses of this stack's nodes,
 * before and after the change) that `wanted` (the addresses of the MDMs the new config wants,
 * managers and tie-breakers) does not list. The master, when it must go, first hands its role
 * to a wanted manager that is already a slave. Members at other addresses are never touched.
 */
export function planMdmRemoval(
  have: ClusterInfo,
  wanted: { managers: string[]; tbs: string[] },
  ours: string[],
): MdmChange {
  const at = (m: MdmInfo, ips: string[]) =>
    m.ips.some((ip) => ips.includes(ip)) || m.managementIps.some((ip) => ips.includes(ip));
  const label = (m: MdmInfo) => m.name ?? m.id ?? m.ips[0] ?? "?";
  const unwanted = (m: MdmInfo, role: string[]) => !at(m, role);
  const out: MdmChange = { removeSlaves: [], removeTbs: [], removeStandbys: [], foreign: [] };
  const consider = (m: MdmInfo, role: string[], push: (m: MdmInfo) => void) => {
    if (!unwanted(m, role)) return;
    if (at(m, ours)) push(m);
    else out.foreign.push(label(m));
  };
  if (have.master)
    consider(have.master, wanted.managers, () => {
      out.newMaster = have.slaves.find((s) => at(s, wanted.managers));
    });
  for (const s of have.slaves) consider(s, wanted.managers, (m) => out.removeSlaves.push(label(m)));
  for (const t of have.tieBreakers) consider(t, wanted.tbs, (m) => out.removeTbs.push(label(m)));
  for (const s of have.standbys)
    consider(s, [...wanted.managers, ...wanted.tbs], (m) => out.removeStandbys.push(m.ips[0]));
  return out;
}

/** One line per change a preview announces; each says what happens to data. */
export interface Day2Preview {
  lines: string[];
}

/**
 * The words a preview prints for a change of nodes, before the user says yes. `room` gives the
 * measured figures when the preview could ask the MDM (else the amount is said to be measured
 * by `up` before anything is removed).
 */
export function describeDay2(
  before: Machine[],
  after: Machine[],
  o: { deleteVolumes?: boolean; room?: RoomCheck } = {},
): Day2Preview {
  const lines: string[] = [];
  const leaving = departing(before, after);
  const sdsStaying = after.filter((m) => m.services.includes("sds")).map((m) => m.name);
  for (const n of leaving) {
    const steps: string[] = [];
    if (n.services.includes("docker"))
      steps.push(
        `its Docker volume unmapped (${o.deleteVolumes ? "deleted: deleteVolumes is set" : "kept in the cluster"})`,
      );
    if (n.services.includes("sds")) {
      const amount = o.room
        ? `${o.room.moveGb} GB to move to ${nodeList(sdsStaying)}`
        : `its data moved to ${nodeList(sdsStaying)} (the amount is measured before anything is removed)`;
      steps.push(`its SDS removed once ScaleIO has moved its data: ${amount}`);
    }
    steps.push("then its SDC and packages removed");
    lines.push(`${n.name} leaves the cluster: ${steps.join("; ")}.`);
  }
  lines.push(...describeMdmMoves(before, after));
  return { lines };
}

/** MDM roles that move, and a 3 <-> 5 switch, in words. */
function describeMdmMoves(before: Machine[], after: Machine[]): string[] {
  const mdm = (ms: Machine[]) => ms.filter((m) => m.mdm).map((m) => [m.name, m.mdm] as const);
  const was = new Map(mdm(before));
  const now = new Map(mdm(after));
  const joined = [...now].filter(([n]) => !was.has(n)).map(([n, r]) => `${n} (${r})`);
  const left = [...was].filter(([n]) => !now.has(n)).map(([n, r]) => `${n} (${r})`);
  const modeOf = (m: Map<string, unknown>) => (m.size >= 5 ? "5_node" : "3_node");
  const lines: string[] = [];
  if (joined.length === 0 && left.length === 0) return lines;
  const parts = [
    joined.length > 0 ? `${joined.join(", ")} added as standby MDMs` : "",
    `the cluster mode switched (${modeOf(was)} -> ${modeOf(now)}) with them in`,
    left.length > 0 ? `${left.join(", ")} taken out and removed` : "",
  ].filter(Boolean);
  lines.push(`MDM cluster: ${parts.join(", ")}; the cluster keeps serving I/O throughout.`);
  return lines;
}
