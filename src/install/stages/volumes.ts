// Stage "volumes": one volume per Docker host, named after the node, mapped to that host's
// SDC once the SDC has registered with the MDM. Returns where the volume shows up on the host.
import type { InstallContext } from "../context";
import { waitFor } from "../context";
import {
  drvCfg,
  objectName,
  parseDrvQueryVols,
  parseSdcs,
  parseVolumes,
  volumeDevicePath,
} from "../scli";
import { q } from "../shell";
import { mdmNodes } from "../spec";
import { login } from "./cluster";

export const STEP = "volume";

export function volumeName(node: string): string {
  return objectName(`docker_${node}`);
}

export interface VolumeResult {
  node: string;
  volumeName: string;
  volumeId: string;
  systemId: string;
  device: string;
}

export async function ensureVolume(ctx: InstallContext, node: string): Promise<VolumeResult> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  const m = ctx.machine(node);
  const s = ctx.scli;
  const name = volumeName(node);
  await ctx.step(node, STEP);
  const systemId = await login(ctx, master, STEP);
  if (!systemId) throw new Error(`[${master}] ${STEP}: the MDM cluster does not exist yet`);
  await waitFor(
    ctx,
    `the SDC on ${node} (${m.privateAddress}) to register with the MDM`,
    180_000,
    async () => {
      const sdcs = parseSdcs(await ctx.scliMust(master, STEP, s.queryAllSdc()));
      return sdcs.find((c) => c.ip === m.privateAddress);
    },
  );
  let vol = parseVolumes(await ctx.scliMust(master, STEP, s.queryAllVolumes())).find(
    (v) => v.name === name,
  );
  if (!vol) {
    await ctx.scliMust(
      master,
      STEP,
      s.addVolume(ctx.spec.protectionDomain, ctx.spec.storagePool, ctx.spec.dockerVolumeGb, name),
      { change: true, okIfExists: true },
    );
    vol = parseVolumes(await ctx.scliMust(master, STEP, s.queryAllVolumes())).find(
      (v) => v.name === name,
    );
    if (!vol)
      throw new Error(
        `[${master}] ${STEP}: volume ${name} was created but does not show in --query_all_volumes`,
      );
  }
  const volumeId = vol.id;
  const seen = async () =>
    parseDrvQueryVols(
      (await ctx.run(node, STEP, drvCfg("--query_vols"), { quiet: true })).stdout,
    ).some((v) => v.volumeId === volumeId);
  if (!(await seen())) {
    const r = await ctx.scliRun(master, STEP, s.mapVolume(name, m.privateAddress), {
      change: true,
    });
    if (!r.ok && !/already mapped to this SDC/i.test(r.out)) {
      throw new Error(
        `[${master}] ${STEP}: mapping ${name} to ${node} failed: ${ctx.redactor.redact(r.out.trim())}`,
      );
    }
    await waitFor(ctx, `volume ${name} to appear on ${node}`, 120_000, async () => {
      await ctx.run(node, STEP, drvCfg("--rescan"), { check: false, quiet: true });
      return (await seen()) ? true : undefined;
    });
  }
  const device = volumeDevicePath(systemId, volumeId);
  await waitFor(ctx, `${device} on ${node}`, 120_000, async () => {
    const r = await ctx.run(node, STEP, `test -b ${q(device)}`, { check: false, quiet: true });
    return r.code === 0 ? true : undefined;
  });
  return { node, volumeName: name, volumeId, systemId, device };
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
  const vol = parseVolumes(await ctx.scliMust(master, "remove", s.queryAllVolumes())).find(
    (v) => v.name === name,
  );
  if (!vol) return;
  if (vol.mappedSdcs > 0) {
    const r = await ctx.scliRun(
      master,
      "remove",
      s.unmapVolume(name, ctx.machine(node).privateAddress),
      { change: true },
    );
    if (!r.ok && !/not mapped/i.test(r.out))
      throw new Error(`[${master}] unmapping ${name} failed: ${r.out.trim()}`);
  }
  if (remove) await ctx.scliMust(master, "remove", s.removeVolume(name), { change: true });
}
