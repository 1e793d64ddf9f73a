// Day 2: nodes leaving a cluster that lives on. Run by the cluster-wide StorageLayout resource
// when its update sees nodes gone from the stack (spec.departing, set by provider.ts from the
// last outputs), after any new SDS was added. Order, per node: room for its data checked for all
// leaving SDSs BEFORE anything changes (numbers in the error); on the node (when it answers)
// Docker stopped and its mount and volume plugin removed; its Docker volume unmapped (kept
// unless deleteVolumes); every other volume still mapped to its SDC unmapped; its SDS removed,
// waiting (with progress) until the MDM has moved its data and no longer lists it; its SDC
// removed from the MDM once its ScaleIO packages are removed (a running SDC would register
// again). Every step asks first, so a run killed anywhere is finished by the next.
// A node that does not answer (dead) is removed from the cluster by the MDM alone: ScaleIO
// rebuilds its data from the other copies, as for any lost SDS.
// Sources of each rule: day2-plan.ts.
import { scliQuery } from "../cluster-view";
import { waitFor, type StageContext } from "../context";
import { noRoomMessage, roomAfterRemoving, type PoolCapacity, type RoomCheck } from "../day2-plan";
import { poolsOf } from "../pools";
import type { Machine } from "../../machine";
import {
  parseSdcs,
  parseSds,
  parseSdsDetail,
  parseSparePolicy,
  parseVolumes,
  type SdsDetail,
} from "../scli";
import { mdmNodes } from "../spec";
import { login } from "./cluster";
import { teardownDocker } from "./docker";
import { removePackages } from "./packages";
import { teardownVolumePlugin } from "./volume-plugin";
import { dropVolume } from "./volumes";

export const STEP = "membership";

/** How long an SDS removal may take: ScaleIO moves its data first (hours for terabytes). */
export const SDS_REMOVAL_WAIT_MS = 24 * 3600_000;

/** Remove every node of spec.departing from the cluster (see the module comment). */
export async function removeDeparted(ctx: StageContext): Promise<void> {
  const leaving = ctx.spec.departing ?? [];
  if (leaving.length === 0) return;
  const master = mdmNodes(ctx.spec.machines).master.name;
  await ctx.step(master, STEP);
  if (!(await login(ctx, master, STEP)))
    throw new Error(`[${master}] ${STEP}: the MDM cluster does not exist; nothing to remove from`);
  await checkRoom(ctx, master, leaving);
  for (const n of leaving) await removeNode(ctx, master, n);
}

/**
 * Each storage pool's capacity as the MDM reports it (pools.ts poolsOf: the stack's pools; one
 * `--query_sds` per SDS). An SDS's `in-use capacity` covers all its pools, so it is used as the
 * data to move only when the stack has one pool.
 */
export async function poolCapacities(ctx: StageContext, master: string): Promise<PoolCapacity[]> {
  const all = await scliQuery(ctx, master, STEP, "all", { fresh: true });
  const listed = parseSds(await scliQuery(ctx, master, STEP, "sds", { fresh: true }));
  const details = new Map<string, SdsDetail>();
  for (const s of listed)
    details.set(s.ip, parseSdsDetail(await ctx.scliMust(master, STEP, ctx.scli.querySds(s.ip))));
  const vols = parseVolumes(await scliQuery(ctx, master, STEP, "volumes", { fresh: true }));
  const pools = poolsOf(ctx.spec);
  return pools.map((p) => {
    const rawGbBySds: Record<string, number> = {};
    const inUse: Record<string, number> = {};
    for (const s of listed.filter(
      (x) => !x.protectionDomain || x.protectionDomain === p.protectionDomain,
    )) {
      const d = details.get(s.ip)!;
      const raw = d.capacityGbByPool[p.name] ?? 0;
      if (raw === 0) continue;
      rawGbBySds[s.ip] = raw;
      if (d.inUseGb !== undefined) inUse[s.ip] = d.inUseGb;
    }
    const whole =
      pools.length === 1 && Object.keys(inUse).length === Object.keys(rawGbBySds).length;
    const allocatedGb = vols
      .filter((v) => !v.snapshot && !v.thin && v.storagePool === p.name)
      .filter((v) => !v.protectionDomain || v.protectionDomain === p.protectionDomain)
      .reduce((sum, v) => sum + (v.sizeGb ?? 0), 0);
    // 10% is ScaleIO's default spare policy, used when --query_all does not print the pool's.
    const spare = parseSparePolicy(all, p.name) ?? 0.1;
    return {
      pool: p.name,
      spare,
      rawGbBySds,
      allocatedGb,
      ...(whole ? { inUseGbBySds: inUse } : {}),
    };
  });
}

/**
 * The room check over every pool: the first pool without room, else one check with the data to
 * move summed over the pools (undefined when no pool holds a leaving SDS).
 */
export function roomInAllPools(
  caps: PoolCapacity[],
  ips: string[],
): { room: RoomCheck; cap: PoolCapacity } | undefined {
  const held = caps.filter((c) => ips.some((ip) => ip in c.rawGbBySds));
  if (held.length === 0) return undefined;
  const checks = held.map((cap) => ({ cap, room: roomAfterRemoving(cap, ips) }));
  const short = checks.find((c) => !c.room.ok);
  if (short) return short;
  const moveGb = Math.round(checks.reduce((sum, c) => sum + c.room.moveGb, 0) * 10) / 10;
  return { cap: checks[0].cap, room: { ...checks[0].room, moveGb } };
}

/** Refuse, before any change, when the SDSs that stay cannot hold a pool's data. */
async function checkRoom(ctx: StageContext, master: string, leaving: Machine[]): Promise<void> {
  const sds = leaving.filter((n) => n.services.includes("sds"));
  if (sds.length === 0) return;
  const ips = sds.map((n) => n.privateAddress);
  const found = roomInAllPools(await poolCapacities(ctx, master), ips);
  if (!found) return;
  const { room, cap } = found;
  const names = sds.filter((n) => n.privateAddress in cap.rawGbBySds).map((n) => n.name);
  const staying = ctx.spec.machines.filter((m) => m.services.includes("sds")).map((m) => m.name);
  if (!room.ok) throw new Error(`[${master}] ${STEP}: ${noRoomMessage(names, staying, cap, room)}`);
  ctx
    .log(master, STEP)
    .info(
      `${names.join(", ")}: ${room.moveGb} GB to move to ${staying.join(", ")} ` +
        `(${room.usableAfterGb} GB usable there, ${room.allocatedGb} GB allocated)`,
    );
}

/** Whether the node answers over SSH now (a departing node gets a short connect timeout). */
async function answers(ctx: StageContext, node: string): Promise<boolean> {
  try {
    await ctx.run(node, STEP, "true", { quiet: true });
    return true;
  } catch (e) {
    ctx
      .log(node, STEP)
      .info(
        `${node} does not answer (${(e as Error).message.split("\n")[0]}); it is removed from ` +
          `the cluster by the MDM alone, and nothing is done on the machine`,
      );
    return false;
  }
}

async function removeNode(ctx: StageContext, master: string, n: Machine): Promise<void> {
  await ctx.step(n.name, STEP);
  const log = ctx.log(n.name, STEP);
  const alive = await answers(ctx, n.name);
  if (alive && n.services.includes("docker")) {
    log.info("stopping Docker and removing its ScaleIO mount and the volume plugin");
    await teardownDocker(ctx, n.name);
    await teardownVolumePlugin(ctx, n.name, { refuseMounted: false });
  }
  if (n.services.includes("docker")) await dropVolume(ctx, n.name, !!ctx.spec.deleteVolumes);
  await unmapAll(ctx, master, n);
  if (n.services.includes("sds")) await removeSds(ctx, master, n);
  // The packages go first: a running SDC would register again after its removal.
  if (alive) {
    log.info("removing its ScaleIO packages");
    await removePackages(ctx, n.name);
  }
  await removeSdc(ctx, master, n);
  log.info(`${n.name} is out of the cluster`);
}

/** Unmap every volume still mapped to the node's SDC (the MDM refuses to remove it otherwise). */
async function unmapAll(ctx: StageContext, master: string, n: Machine): Promise<void> {
  const vols = parseVolumes(await scliQuery(ctx, master, STEP, "volumes", { fresh: true }));
  for (const v of vols.filter((x) => x.name && x.mappedSdcs !== 0)) {
    const q = await ctx.scliMust(master, STEP, ctx.scli.queryVolume(v.name!));
    if (!q.includes(`IP: ${n.privateAddress}`)) continue;
    ctx.log(n.name, STEP).info(`unmapping volume ${v.name} from ${n.name}'s SDC`);
    const unmap = ctx.scli.unmapVolume(v.name!, n.privateAddress);
    const r = await ctx.scliRun(master, STEP, unmap, { change: true });
    if (!r.ok && r.failure !== "not-found" && !/not mapped/i.test(r.out))
      throw ctx.scliError(master, STEP, unmap, r);
  }
}

/** Remove the node's SDS and wait until the MDM has moved its data and no longer lists it. */
async function removeSds(ctx: StageContext, master: string, n: Machine): Promise<void> {
  const listed = async () =>
    parseSds(await scliQuery(ctx, master, STEP, "sds", { fresh: true })).some(
      (s) => s.ip === n.privateAddress,
    );
  if (!(await listed())) return;
  const detail = async () => {
    const r = await ctx.scliRun(master, STEP, ctx.scli.querySds(n.privateAddress), {
      quiet: true,
    });
    return r.ok ? parseSdsDetail(r.out) : undefined;
  };
  const log = ctx.log(n.name, STEP);
  const first = await detail();
  // A removal an earlier (killed) run started is only waited for.
  if (!/remov/i.test(first?.sdsState ?? "")) {
    log.info(`removing its SDS: ScaleIO moves its data (${first?.inUseGb ?? "?"} GB) first`);
    const rm = ctx.scli.removeSds(n.privateAddress);
    const r = await ctx.scliRun(master, STEP, rm, { change: true });
    if (!r.ok && r.failure !== "not-found" && !/already being removed/i.test(r.out))
      throw ctx.scliError(master, STEP, rm, r);
  }
  const started = Date.now();
  const what = `ScaleIO to move the data off ${n.name}'s SDS`;
  await waitFor(ctx, what, SDS_REMOVAL_WAIT_MS, async () => {
    if (!(await listed())) return true;
    const d = await detail();
    const secs = Math.round((Date.now() - started) / 1000);
    const left = d?.inUseGb !== undefined ? `${d.inUseGb} GB left to move` : "data moving";
    const pct = d?.progressPercent !== undefined ? `, ${d.progressPercent}%` : "";
    log.info(`SDS ${d?.sdsState ?? "being removed"}: ${left}${pct} (${secs} s)`);
    return undefined;
  });
  log.info(`its SDS is removed (waited ${Math.round((Date.now() - started) / 100) / 10} s)`);
}

/** Remove the node's SDC from the MDM when it is listed. */
async function removeSdc(ctx: StageContext, master: string, n: Machine): Promise<void> {
  const sdcs = parseSdcs(await scliQuery(ctx, master, STEP, "sdc", { fresh: true }));
  if (!sdcs.some((c) => c.ip === n.privateAddress)) return;
  ctx.log(n.name, STEP).info(`removing its SDC from the MDM`);
  const rm = ctx.scli.removeSdc(n.privateAddress);
  const r = await ctx.scliRun(master, STEP, rm, { change: true });
  if (!r.ok && r.failure !== "not-found") throw ctx.scliError(master, STEP, rm, r);
}

/**
 * Whether the cluster still counts `node` as a member (an SDS or SDC at its address). A per-host
 * delete whose host does not answer succeeds only when it does not: the node was taken out of
 * the cluster by a StorageLayout update, and there is nothing left to undo that matters.
 */
export async function stillMember(ctx: StageContext, node: Machine): Promise<boolean> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  if (!(await login(ctx, master, STEP))) return false;
  const sds = parseSds(await scliQuery(ctx, master, STEP, "sds", { fresh: true }));
  const sdc = parseSdcs(await scliQuery(ctx, master, STEP, "sdc", { fresh: true }));
  const ip = node.privateAddress;
  return sds.some((s) => s.ip === ip) || sdc.some((c) => c.ip === ip);
}
