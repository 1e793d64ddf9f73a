// Stage "DockerVolume", its volume part: one volume per Docker host, named after the node, mapped to that host's
// SDC once the SDC has registered with the MDM. Returns where each volume shows up on its host.
// The MDM is queried once for all hosts, volumes are created and mapped one at a time (the
// cluster-wide scli steps), and the per-host checks and waits run on all hosts at once.
import type { StageName } from "../registry";
import { scliQuery } from "../cluster-view";
import type { StageContext } from "../context";
import { waitFor } from "../context";
import {
  drvCfg,
  objectName,
  parseDrvGuid,
  parseDrvQueryVols,
  parseSdcs,
  parseVolumes,
  volumeDevicePath,
  type SdcInfo,
  type VolumeInfo,
} from "../scli";
import { q } from "../shell";
import { forHosts } from "../parallel";
import { dockerVolumePool } from "../pools";
import { mdmNodes } from "../spec";
import { login, scliChange } from "./cluster";

export const STEP: StageName = "DockerVolume";

export function volumeName(node: string): string {
  return objectName(`docker_${node}`);
}

/**
 * The name Arrowhead gave a node's volume before names were made collision-free: the same text
 * cut at 31 characters. Found volumes under it are still used, unless another node of the same
 * run would have had the same cut name (the collision that made the old names unsafe).
 */
export function legacyVolumeName(node: string): string {
  return `docker_${node}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 31);
}

export interface VolumeResult {
  node: string;
  volumeName: string;
  volumeId: string;
  systemId: string;
  device: string;
}

const DEVICE_PRESENT = "arrowhead-device-present";

/** What a host sees of its volume: mapped in the SDC driver, and the by-id device node. */
async function hostView(
  ctx: StageContext,
  node: string,
  volumeId: string,
  device: string,
  rescan: boolean,
): Promise<{ mapped: boolean; device: boolean }> {
  const cmd =
    (rescan ? `${drvCfg("--rescan")} >/dev/null 2>&1; ` : "") +
    `${drvCfg("--query_vols")}; test -b ${q(device)} && echo ${DEVICE_PRESENT}; true`;
  const out = (await ctx.run(node, STEP, cmd, { quiet: true })).stdout;
  return {
    mapped: parseDrvQueryVols(out).some((v) => v.volumeId === volumeId),
    device: out.includes(DEVICE_PRESENT),
  };
}

/** Ensure every node in `nodes` has its volume, mapped and visible; all nodes at once. */
export async function ensureVolumes(ctx: StageContext, nodes: string[]): Promise<VolumeResult[]> {
  if (nodes.length === 0) return [];
  const master = mdmNodes(ctx.spec.machines).master.name;
  for (const n of nodes) await ctx.step(n, STEP);
  const systemId = await login(ctx, master, STEP);
  if (!systemId) throw new Error(`[${master}] ${STEP}: the MDM cluster does not exist yet`);
  await awaitSdcs(ctx, master, nodes);
  const vols = await ensureCreated(ctx, master, nodes);
  const placed = nodes.map((n) => {
    const v = vols.get(n)!;
    const name = v.name ?? volumeName(n);
    return {
      node: n,
      volumeName: name,
      volumeId: v.id,
      systemId,
      device: volumeDevicePath(systemId, v.id),
    };
  });
  await ensureMapped(ctx, master, placed);
  return placed;
}

/**
 * Wait until every node's SDC is registered with the MDM; on timeout each missing host is asked
 * for its SDC's GUID: registered under another address is a different fix from not at all.
 */
async function awaitSdcs(ctx: StageContext, master: string, nodes: string[]): Promise<void> {
  const ipOf = (n: string) => ctx.machine(n).privateAddress;
  let unregistered = nodes;
  let sdcs: SdcInfo[] = [];
  let polls = 0;
  await waitFor(ctx, `the SDCs to register with the MDM`, 180_000, async () => {
    const out = await scliQuery(ctx, master, STEP, "sdc", { fresh: polls++ > 0 });
    sdcs = parseSdcs(out);
    unregistered = nodes.filter((n) => !sdcs.some((c) => c.ip === ipOf(n)));
    return unregistered.length === 0 ? true : undefined;
  }).catch(async (e: Error) => {
    const why = await forHosts(unregistered, async (n) => {
      const r = await ctx.run(n, STEP, drvCfg("--query_guid"), { check: false, quiet: true });
      const guid = parseDrvGuid(r.stdout);
      if (!guid)
        return `${n} (${ipOf(n)}): drv_cfg --query_guid printed no GUID (is scini loaded?)`;
      const other = sdcs.find((c) => c.guid?.toLowerCase() === guid);
      return other
        ? `${n} (${ipOf(n)}): its SDC (GUID ${guid}) registered as ${other.ip}; the cluster network address of ${n} must be the one its SDC uses`
        : `${n} (${ipOf(n)}): SDC GUID ${guid}, unknown to the MDM`;
    });
    throw new Error(
      `[${master}] ${STEP}: ${e.message}; not registered: ${why.join("; ")}. ` +
        `Check that scini runs on those hosts and that they reach the MDM addresses.`,
    );
  });
}

/**
 * A node's volume among `vols`: by its name, else by its legacy name unless another node of the
 * run shares that legacy name.
 */
export function findVolume(
  ctx: StageContext,
  vols: VolumeInfo[],
  n: string,
): VolumeInfo | undefined {
  const legacy = legacyVolumeName(n);
  const shared = ctx.spec.machines.some((m) => m.name !== n && legacyVolumeName(m.name) === legacy);
  return (
    vols.find((v) => v.name === volumeName(n)) ??
    (shared ? undefined : vols.find((v) => v.name === legacy))
  );
}

/** Every node's volume, created where absent; "already exists" counts once it is listed. */
async function ensureCreated(
  ctx: StageContext,
  master: string,
  nodes: string[],
): Promise<Map<string, VolumeInfo>> {
  const findAll = async (fresh = false) => {
    const out = await scliQuery(ctx, master, STEP, "volumes", { fresh });
    const vols = parseVolumes(out).filter((v) => !v.snapshot);
    return new Map(nodes.map((n) => [n, findVolume(ctx, vols, n)]));
  };
  let found = await findAll();
  const absent = nodes.filter((n) => !found.get(n));
  // The pool the user picked for the Docker hosts (dockerVolumePool), default the first pool.
  const pool = dockerVolumePool(ctx.spec);
  for (const [n, v] of found)
    if (v?.storagePool && v.storagePool !== pool.name)
      ctx
        .log(master, STEP)
        .info(
          `note: ${n}'s Docker volume ${v.name ?? v.id} stays in storage pool ${v.storagePool}; dockerVolumePool (${pool.name}) applies to volumes created from now on (Arrowhead does not move a volume between pools)`,
        );
  for (const n of absent) {
    const add = ctx.scli.addVolume(
      pool.protectionDomain,
      pool.name,
      ctx.spec.dockerVolumeGb,
      volumeName(n),
    );
    await scliChange(ctx, master, STEP, add, { okIfExists: true });
  }
  // A fresh look: "already exists" counts as done only once the volume is listed.
  if (absent.length > 0) found = await findAll(true);
  const vols = new Map<string, VolumeInfo>();
  for (const n of nodes) {
    const v = found.get(n);
    if (!v)
      throw new Error(
        `[${master}] ${STEP}: volume ${volumeName(n)} was created but does not show in --query_all_volumes`,
      );
    vols.set(n, v);
  }
  return vols;
}

/** Map each volume to its node's SDC where the host does not see it, then wait for the device. */
async function ensureMapped(ctx: StageContext, master: string, placed: VolumeResult[]) {
  const ipOf = (n: string) => ctx.machine(n).privateAddress;
  const nodes = placed.map((p) => p.node);
  const at = (n: string) => placed[nodes.indexOf(n)];
  const views = await forHosts(nodes, (n) => hostView(ctx, n, at(n).volumeId, at(n).device, false));
  for (const p of placed.filter((_, i) => !views[i].mapped)) {
    const map = ctx.scli.mapVolume(p.volumeName, ipOf(p.node));
    const r = await ctx.scliRun(master, STEP, map, { change: true });
    // "already mapped": done; the host's own view below confirms it.
    if (!r.ok && r.failure !== "exists") {
      const fix = `Mapping volume ${p.volumeName} to node ${p.node} (${ipOf(p.node)}) failed`;
      throw ctx.scliError(master, STEP, map, r, fix);
    }
  }
  await forHosts(nodes, async (n) => {
    const p = at(n);
    const view = views[nodes.indexOf(n)];
    if (view.mapped && view.device) return;
    // The SDC learns of a new mapping on its own; a rescan asks it now.
    const what = `volume ${p.volumeName} to appear on ${p.node} as ${p.device}`;
    await waitFor(ctx, what, 180_000, async () => {
      const v = await hostView(ctx, p.node, p.volumeId, p.device, true);
      return v.mapped && v.device ? true : undefined;
    });
  });
}

/** Unmap (and with `remove`, delete) a Docker host's volume. */
export async function dropVolume(ctx: StageContext, node: string, remove: boolean): Promise<void> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  const s = ctx.scli;
  if (!(await login(ctx, master, "remove"))) return;
  const vols = parseVolumes(await ctx.scliMust(master, "remove", s.queryAllVolumes())).filter(
    (v) => !v.snapshot,
  );
  const vol = findVolume(ctx, vols, node);
  if (!vol?.name) return;
  // Unknown (a layout that does not say) counts as possibly mapped.
  if (vol.mappedSdcs !== 0) {
    const unmap = s.unmapVolume(vol.name, ctx.machine(node).privateAddress);
    const r = await ctx.scliRun(master, "remove", unmap, { change: true });
    if (!r.ok && !/not mapped/i.test(r.out)) throw ctx.scliError(master, "remove", unmap, r);
  }
  if (remove) await ctx.scliMust(master, "remove", s.removeVolume(vol.name), { change: true });
}
