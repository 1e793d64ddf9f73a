// Stage "StorageLayout": the protection domains, the storage pools (media type on 3.x) and one SDS per
// SDS node with each data device in its pool (storage tiers: install/pools.ts, planned by
// pool-plan.ts). Devices are checked on their host BEFORE scli is called, so a typo in a device
// path fails with the host's real device list instead of an MDM error.
import { scliQuery } from "../cluster-view";
import type { StageName } from "../registry";
import type { StageContext } from "../context";
import type { Machine } from "../../machine";
import { assignDevices, poolsOf } from "../pools";
import {
  objectName,
  parseQueryAll,
  parseSds,
  parseSdsDevices,
  parseVolumes,
  type SdsInfo,
} from "../scli";
import { q } from "../shell";
import { mdmNodes } from "../spec";
import { login, scliChange } from "./cluster";
import { planPools, type PoolPlan, type SdsNow } from "./pool-plan";
import { waitSdsConnected } from "./sds-connect";

export const STEP: StageName = "StorageLayout";

/** Prints "missing <path>" for each of `devices` that is not a block device. */
export function missingDevicesQuery(devices: string[]): string {
  return `for d in ${devices.map(q).join(" ")}; do [ -b "$d" ] || echo "missing $d"; done`;
}

/** The prepare stage asks missingDevicesQuery in its own round trip and keeps the answer here. */
export const missingDevicesFact = (host: string) => `missing-devices:${host}`;

/** Fail unless every device exists as a block device on the host. */
export async function checkDevices(
  ctx: StageContext,
  host: string,
  devices: string[],
): Promise<void> {
  const out =
    ctx.recall<string>(missingDevicesFact(host)) ??
    (await ctx.run(host, STEP, missingDevicesQuery(devices), { quiet: true })).stdout;
  const missing = out
    .split("\n")
    .filter((l) => l.startsWith("missing "))
    .map((l) => l.slice(8));
  if (missing.length > 0) {
    const ls = await ctx.run(
      host,
      STEP,
      "lsblk -dno NAME,SIZE,TYPE 2>/dev/null || ls /dev/[vsx]d* /dev/nvme* 2>/dev/null",
      {
        check: false,
        quiet: true,
      },
    );
    throw new Error(
      `[${host}] ${STEP}: SDS device(s) ${missing.join(", ")} do not exist on the host (block devices there: ` +
        `${ls.stdout.trim().split("\n").join("; ") || "none found"}). Fix dataDisks for node ${host}; nothing was changed.`,
    );
  }
}

/**
 * The stage: every storage pool the stack declares (install/pools.ts) in its protection domain,
 * every SDS node's SDS with each device in its pool. Idempotent: it adds what is missing (a
 * protection domain, a pool, an SDS, a device) and removes a pool the config dropped once it
 * holds no volume. Refusals (a device the cluster has in another pool, a dropped pool with
 * volumes, a bad device assignment) come together, before any change.
 */
export async function configureStorage(ctx: StageContext): Promise<{ sds: string[] }> {
  const host = mdmNodes(ctx.spec.machines).master.name;
  await ctx.step(host, STEP);
  const sdsNodes = ctx.spec.machines.filter((m) => m.services.includes("sds"));
  const pools = poolsOf(ctx.spec);
  const want = assignDevices(ctx.spec);
  // All device checks first: a bad path on any node stops the stage before any change.
  await Promise.all(sdsNodes.map((n) => checkDevices(ctx, n.name, n.dataDisks)));
  if (!(await login(ctx, host, STEP)))
    throw new Error(`[${host}] ${STEP}: the MDM cluster does not exist yet`);
  // An SDS whose service was stopped (HostPackages has started it again) reconnects first.
  await waitSdsConnected(ctx, host, STEP, sdsNodes);
  const all = parseQueryAll(await scliQuery(ctx, host, STEP, "all"));
  const sdsNow = await currentSds(ctx, host, sdsNodes);
  const dropped = sdsNow.some((s) =>
    s.devices.some(
      (d) => !pools.some((p) => p.name === d.pool && p.protectionDomain === s.protectionDomain),
    ),
  );
  const volumes = dropped ? parseVolumes(await scliQuery(ctx, host, STEP, "volumes")) : [];
  const plan = planPools(pools, want, all, sdsNow, volumes);
  if (plan.refused.length > 0)
    throw new Error(`[${host}] ${STEP}: ${plan.refused.join(". ")}. Nothing was changed.`);
  await addPools(ctx, host, plan);
  const added = await addSdsNodes(ctx, host, plan, sdsNodes);
  for (const d of plan.addDevices) {
    await ctx.step(host, `${STEP}:device-${d.node}`);
    await scliChange(ctx, host, STEP, ctx.scli.addSdsDevice(d.sdsName, d.path, d.pool), {
      okIfExists: true,
    });
  }
  await removePools(ctx, host, plan);
  return { sds: added };
}

/** The stack's SDS nodes that already run an SDS, each with its devices (`--query_sds`). */
export async function currentSds(
  ctx: StageContext,
  host: string,
  sdsNodes: Machine[],
): Promise<SdsNow[]> {
  const have = parseSds(await scliQuery(ctx, host, STEP, "sds"));
  const out: SdsNow[] = [];
  for (const n of sdsNodes) {
    const found = sdsOf(have, n);
    if (!found) continue;
    const q = parseSdsDevices(await ctx.scliMust(host, STEP, ctx.scli.querySds(found.ip)));
    out.push({
      node: n.name,
      sdsName: found.name ?? objectName(n.name),
      protectionDomain: q.protectionDomain ?? found.protectionDomain,
      devices: q.devices,
    });
  }
  return out;
}

const sdsOf = (have: SdsInfo[], n: { name: string; privateAddress: string }) =>
  have.find((d) => d.ip === n.privateAddress) ?? have.find((d) => d.name === objectName(n.name));

/** The missing protection domains and pools, then a fresh --query_all that must list them. */
async function addPools(ctx: StageContext, host: string, plan: PoolPlan): Promise<void> {
  for (const pd of plan.addPds)
    await scliChange(ctx, host, STEP, ctx.scli.addProtectionDomain(pd), { okIfExists: true });
  for (const p of plan.addPools)
    await scliChange(
      ctx,
      host,
      STEP,
      ctx.scli.addStoragePool(p.protectionDomain, p.name, p.mediaType),
      {
        okIfExists: true,
      },
    );
  if (plan.addPools.length === 0) return;
  const now = parseQueryAll(await scliQuery(ctx, host, STEP, "all", { fresh: true }));
  const missing = plan.addPools.filter(
    (p) =>
      !now.protectionDomains
        .find((d) => d.name === p.protectionDomain)
        ?.pools.some((x) => x.name === p.name),
  );
  if (missing.length > 0)
    throw new Error(
      `[${host}] ${STEP}: storage pool(s) ${missing.map((p) => `${p.name} in protection domain ${p.protectionDomain}`).join(", ")} created but --query_all does not list them`,
    );
}

/** New SDSs, each with its devices in their pools; then --query_all_sds must list them. */
async function addSdsNodes(
  ctx: StageContext,
  host: string,
  plan: PoolPlan,
  sdsNodes: Machine[],
): Promise<string[]> {
  const added: string[] = [];
  for (const want of plan.addSds) {
    const n = sdsNodes.find((m) => m.name === want.node) as Machine;
    const name = objectName(n.name);
    await ctx.step(host, `${STEP}:sds-${n.name}`);
    const paths = want.devices.map((d) => d.path);
    const add = ctx.scli.addSds(
      n.privateAddress,
      paths,
      name,
      want.protectionDomain,
      want.devices.map((d) => d.pool),
    );
    await scliChange(ctx, host, STEP, add, { okIfExists: true });
    added.push(name);
  }
  if (added.length > 0) {
    const now = parseSds(await scliQuery(ctx, host, STEP, "sds", { fresh: true }));
    const missing = sdsNodes.filter((n) => !sdsOf(now, n)).map((n) => n.name);
    if (missing.length > 0)
      throw new Error(
        `[${host}] ${STEP}: SDS added but not listed by --query_all_sds for: ${missing.join(", ")}`,
      );
  }
  return added;
}

/** Pools the config dropped, holding no volume: their devices out, then the pool. */
async function removePools(ctx: StageContext, host: string, plan: PoolPlan): Promise<void> {
  for (const p of plan.removePools) {
    ctx
      .log(host, STEP)
      .info(`removing storage pool ${p.name} (no longer in storagePools, no volumes)`);
    for (const d of p.devices)
      await scliChange(ctx, host, STEP, ctx.scli.removeSdsDevice(d.sdsName, d.path));
    await scliChange(ctx, host, STEP, ctx.scli.removeStoragePool(p.protectionDomain, p.name));
  }
}
