// Stage "volumes": one volume per Docker host, named after the node, mapped to that host's
// SDC once the SDC has registered with the MDM. Returns where each volume shows up on its host.
// The MDM is queried once for all hosts, volumes are created and mapped one at a time (the
// cluster-wide scli steps), and the per-host checks and waits run on all hosts at once.
import { scliQuery } from "../cluster-view";
import type { InstallContext } from "../context";
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
import { mdmNodes } from "../spec";
import { login, scliChange } from "./cluster";

export const STEP = "volume";

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
  ctx: InstallContext,
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
export async function ensureVolumes(ctx: InstallContext, nodes: string[]): Promise<VolumeResult[]> {
  if (nodes.length === 0) return [];
  const master = mdmNodes(ctx.spec.machines).master.name;
  const s = ctx.scli;
  for (const n of nodes) await ctx.step(n, STEP);
  const systemId = await login(ctx, master, STEP);
  if (!systemId) throw new Error(`[${master}] ${STEP}: the MDM cluster does not exist yet`);
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
    // Ask each missing host for its SDC's GUID: registered under another address is a
    // different fix from not registered at all.
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
  const legacyShared = (n: string) =>
    ctx.spec.machines.some((m) => m.name !== n && legacyVolumeName(m.name) === legacyVolumeName(n));
  const findAll = async (fresh = false) => {
    const vols = parseVolumes(await scliQuery(ctx, master, STEP, "volumes", { fresh })).filter(
      (v) => !v.snapshot,
    );
    const find = (n: string) =>
      vols.find((v) => v.name === volumeName(n)) ??
      (legacyShared(n) ? undefined : vols.find((v) => v.name === legacyVolumeName(n)));
    return new Map(nodes.map((n) => [n, find(n)]));
  };
  let found = await findAll();
  const absent = nodes.filter((n) => !found.get(n));
  for (const n of absent) {
    await scliChange(
      ctx,
      master,
      STEP,
      s.addVolume(
        ctx.spec.protectionDomain,
        ctx.spec.storagePool,
        ctx.spec.dockerVolumeGb,
        volumeName(n),
      ),
      { okIfExists: true },
    );
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
  const deviceOf = (n: string) => volumeDevicePath(systemId, vols.get(n)!.id);
  const nameOf = (n: string) => vols.get(n)!.name ?? volumeName(n);
  const views = await forHosts(nodes, (n) => hostView(ctx, n, vols.get(n)!.id, deviceOf(n), false));
  const unmapped = nodes.filter((_, i) => !views[i].mapped);
  for (const n of unmapped) {
    const map = s.mapVolume(nameOf(n), ipOf(n));
    const r = await ctx.scliRun(master, STEP, map, { change: true });
    // "already mapped": done; the host's own view below confirms it.
    if (!r.ok && r.failure !== "exists") {
      throw ctx.scliError(
        master,
        STEP,
        map,
        r,
        `Mapping volume ${nameOf(n)} to node ${n} (${ipOf(n)}) failed`,
      );
    }
  }
  await forHosts(nodes, async (n) => {
    const view = views[nodes.indexOf(n)];
    if (view.mapped && view.device) return;
    const id = vols.get(n)!.id;
    // The SDC learns of a new mapping on its own; a rescan asks it now.
    await waitFor(
      ctx,
      `volume ${nameOf(n)} to appear on ${n} as ${deviceOf(n)}`,
      180_000,
      async () => {
        const v = await hostView(ctx, n, id, deviceOf(n), true);
        return v.mapped && v.device ? true : undefined;
      },
    );
  });
  return nodes.map((n) => ({
    node: n,
    volumeName: nameOf(n),
    volumeId: vols.get(n)!.id,
    systemId,
    device: deviceOf(n),
  }));
}

/** Unmap (and with `remove`, delete) a Docker host's volume. */
export async function dropVolume(
  ctx: InstallContext,
  node: string,
  remove: boolean,
): Promise<void> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  const s = ctx.scli;
  const name = volumeName(node);
  if (!(await login(ctx, master, "remove"))) return;
  const vols = parseVolumes(await ctx.scliMust(master, "remove", s.queryAllVolumes())).filter(
    (v) => !v.snapshot,
  );
  const legacy = legacyVolumeName(node);
  const vol =
    vols.find((v) => v.name === name) ??
    (ctx.spec.machines.some((m) => m.name !== node && legacyVolumeName(m.name) === legacy)
      ? undefined
      : vols.find((v) => v.name === legacy));
  if (!vol?.name) return;
  // Unknown (a layout that does not say) counts as possibly mapped.
  if (vol.mappedSdcs !== 0) {
    const unmap = s.unmapVolume(vol.name, ctx.machine(node).privateAddress);
    const r = await ctx.scliRun(master, "remove", unmap, { change: true });
    if (!r.ok && !/not mapped/i.test(r.out)) throw ctx.scliError(master, "remove", unmap, r);
  }
  if (remove) await ctx.scliMust(master, "remove", s.removeVolume(vol.name), { change: true });
}
