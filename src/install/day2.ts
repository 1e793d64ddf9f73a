// Day 2 as the Pulumi resources see it (provider.ts calls these): which nodes leave on an
// update, what a preview says about data, and a per-host delete whose host no longer answers.
//
// Where removal happens, and why per-host deletes need not tell "node removed" from "stack
// destroyed": a node gone from the stack is taken out of the cluster by the update of the
// cluster-wide resources (MdmCluster: its MDM role; StorageLayout: its Docker volume's mapping,
// its SDS after ScaleIO moved its data, its SDC, its packages), which Pulumi runs before it
// deletes the node's own resources (Pulumi "creates all new resources and schedules the deletion
// of resources at the very end": pulumi/pulumi issue 9979, seen in the day-2 lab tests). Those
// cluster-wide resources exist only while the cluster lives on: a `destroy` deletes them, it
// never updates them. So the node's per-host deletes (DockerVolume, VolumePlugin, HostPackages)
// do what they always do, and after a removal they find it done. The one difference is a host
// that does not answer: a destroy waits for it and fails (its share cannot be undone), while a
// node the MDM no longer lists (taken out by the update) is let go with a note.
import { InstallContext, type RunOptions } from "./context";
import { describeDay2, departing, type RoomCheck } from "./day2-plan";
import { rpmsFor, runUninstall, type UninstallPart } from "./runner";
import { mdmNodes, type InstallSpec } from "./spec";
import { login } from "./stages/cluster";
import { poolCapacities, roomInAllPools, stillMember } from "./stages/membership";
import type { Machine } from "../machine";

/** How long a preview may spend asking the MDM for the figures (read-only). */
export const PREVIEW_QUERY_MS = 60_000;

/**
 * The spec an update runs with: the new one, the nodes the last outputs had besides
 * (`departing`), and the staying nodes that lost their MDM role (`demoted`).
 */
export function withDeparting(before: InstallSpec, after: InstallSpec): InstallSpec {
  const gone = departing(before.machines, after.machines);
  const wasMdm = (name: string) => before.machines.some((b) => b.name === name && b.mdm);
  const demoted = after.machines.filter((a) => !a.mdm && wasMdm(a.name)).map((a) => a.name);
  return {
    ...after,
    ...(gone.length > 0 ? { departing: gone } : {}),
    ...(demoted.length > 0 ? { demoted } : {}),
  };
}

/** Whether a change of nodes is a day-2 change the cluster-wide update acts on. */
export function nodesLeave(before: InstallSpec, after: InstallSpec): boolean {
  return departing(before.machines, after.machines).length > 0;
}

/**
 * The preview's words about data (printed as `[cluster] day 2: ...` lines, which the Pulumi CLI
 * shows under the resource), with the figures when the MDM answers within PREVIEW_QUERY_MS.
 * Throws, failing the preview before the user says yes, when the SDSs that stay cannot hold
 * the data of those that leave.
 */
export async function previewDay2(
  before: InstallSpec,
  after: InstallSpec,
  print: (line: string) => void,
  opts: RunOptions,
): Promise<void> {
  const leaving = departing(before.machines, after.machines);
  let room: RoomCheck | undefined;
  const sds = leaving.filter((n) => n.services.includes("sds")).map((n) => n.privateAddress);
  if (sds.length > 0) room = await measure(before, sds, opts).catch(() => undefined);
  if (room && !room.ok) {
    const staying = after.machines.filter((m) => m.services.includes("sds")).map((m) => m.name);
    throw new Error(
      `day 2: removing ${leaving.map((n) => n.name).join(", ")} would leave the SDSs that stay ` +
        `(${staying.join(", ")}) ${room.usableAfterGb} GB usable for ${room.allocatedGb} GB of ` +
        `volumes. Add a node (or devices) first, or delete volumes you no longer need; nothing was changed.`,
    );
  }
  const words = describeDay2(before.machines, after.machines, {
    deleteVolumes: after.deleteVolumes,
    room,
  });
  for (const l of words.lines) print(`[cluster] day 2: ${l}`);
}

/** The room left after removing the SDSs at `ips`, asked of the MDM (the old spec's master). */
async function measure(spec: InstallSpec, ips: string[], opts: RunOptions): Promise<RoomCheck> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), PREVIEW_QUERY_MS);
  opts.signal?.addEventListener("abort", () => ctrl.abort());
  const ctx = new InstallContext(spec, rpmsFor(spec), { ...opts, signal: ctrl.signal });
  try {
    const master = mdmNodes(spec.machines).master.name;
    if (!(await login(ctx, master, "preview"))) throw new Error("no cluster");
    const found = roomInAllPools(await poolCapacities(ctx, master), ips);
    if (!found) throw new Error("no pool holds the leaving SDSs");
    return found.room;
  } finally {
    clearTimeout(timer);
    ctx.close();
  }
}

/**
 * A per-host resource's delete (see the module comment): the registry's undo with a short SSH
 * wait; when the host does not answer and the MDM no longer lists the node, the delete succeeds
 * with a note; when the MDM still lists it, the undo runs again with the full SSH wait, as for
 * any delete (and fails if the host stays silent: its share cannot be undone).
 */
export async function deleteHostShare(
  spec: InstallSpec,
  host: string,
  kind: UninstallPart,
  opts: RunOptions,
): Promise<void> {
  const node = spec.machines.find((m) => m.name === host);
  if (!node) return void (await runUninstall(spec, [host], kind, opts));
  try {
    // `departing` only shortens the SSH wait for this host (ssh-runner.ts connectWait).
    await runUninstall({ ...spec, departing: [node] }, [host], kind, opts);
    return;
  } catch (e) {
    if (!/could not connect over SSH/.test((e as Error).message)) throw e;
  }
  if (await isMember(spec, node, opts)) return void (await runUninstall(spec, [host], kind, opts));
  opts.log({
    host,
    step: "remove",
    stream: "info",
    text:
      `${host} does not answer; it is no longer in the cluster (its SDS and SDC were removed), ` +
      `so nothing is left to undo there that the cluster needs`,
  });
}

/** Whether the cluster lists an SDS or SDC at the node's address (true when it cannot tell). */
async function isMember(spec: InstallSpec, node: Machine, opts: RunOptions): Promise<boolean> {
  const master = mdmNodes(spec.machines).master;
  if (!master || master.name === node.name) return true;
  const ctx = new InstallContext(spec, rpmsFor(spec), opts);
  try {
    return await stillMember(ctx, node);
  } catch {
    return true;
  } finally {
    ctx.close();
  }
}
