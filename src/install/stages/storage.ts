// Stage "StorageLayout": protection domain, storage pool (media type on 3.x), and one SDS per SDS
// node with its data devices. Devices are checked on their host BEFORE scli is called, so a
// typo in a device path fails with the host's real device list instead of an MDM error.
import type { StageName } from "../registry";
import { scliQuery } from "../cluster-view";
import type { StageContext } from "../context";
import { objectName, parseQueryAll, parseSds, type SdsInfo, type SystemInfo } from "../scli";
import { q } from "../shell";
import { mdmNodes } from "../spec";
import { login, scliChange } from "./cluster";

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

export async function configureStorage(ctx: StageContext): Promise<{ sds: string[] }> {
  const host = mdmNodes(ctx.spec.machines).master.name;
  const s = ctx.scli;
  const { protectionDomain: pd, storagePool: sp, mediaType } = ctx.spec;
  await ctx.step(host, STEP);
  const sdsNodes = ctx.spec.machines.filter((m) => m.services.includes("sds"));
  // All device checks first: a bad path on any node stops the stage before any change.
  await Promise.all(sdsNodes.map((n) => checkDevices(ctx, n.name, n.dataDisks)));
  if (!(await login(ctx, host, STEP)))
    throw new Error(`[${host}] ${STEP}: the MDM cluster does not exist yet`);
  const poolPresent = (all: SystemInfo) =>
    all.protectionDomains.find((p) => p.name === pd)?.pools.some((p) => p.name === sp) ?? false;
  const all = parseQueryAll(await scliQuery(ctx, host, STEP, "all"));
  if (!poolPresent(all)) {
    // "already exists" (an interrupted run got there first) is done, once a fresh query shows it.
    if (!all.protectionDomains.some((p) => p.name === pd))
      await scliChange(ctx, host, STEP, s.addProtectionDomain(pd), { okIfExists: true });
    await scliChange(ctx, host, STEP, s.addStoragePool(pd, sp, mediaType), { okIfExists: true });
    if (!poolPresent(parseQueryAll(await scliQuery(ctx, host, STEP, "all", { fresh: true }))))
      throw new Error(
        `[${host}] ${STEP}: storage pool ${sp} in protection domain ${pd} was created but --query_all does not list it`,
      );
  }
  const sdsOf = (have: SdsInfo[], n: { name: string; privateAddress: string }) =>
    have.find((d) => d.ip === n.privateAddress) ?? have.find((d) => d.name === objectName(n.name));
  const have = parseSds(await scliQuery(ctx, host, STEP, "sds"));
  const added: string[] = [];
  for (const n of sdsNodes) {
    const found = sdsOf(have, n);
    if (found) {
      if (found.protectionDomain && found.protectionDomain !== pd)
        throw new Error(
          `[${host}] ${STEP}: node ${n.name} (${n.privateAddress}) already runs SDS ${found.name ?? found.id} in protection ` +
            `domain ${found.protectionDomain}, not ${pd}. Set protectionDomain: ${found.protectionDomain}, or remove that SDS first.`,
        );
      continue;
    }
    const name = objectName(n.name);
    await ctx.step(host, `${STEP}:sds-${n.name}`);
    await scliChange(ctx, host, STEP, s.addSds(n.privateAddress, n.dataDisks, name, pd, sp), {
      okIfExists: true,
    });
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
  return { sds: added };
}
