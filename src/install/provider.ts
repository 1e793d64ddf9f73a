// The work behind the Pulumi dynamic resources of resources.ts, as plain functions. This
// module (and ssh2 through it) is `require`d inside the provider methods at deploy time, so the
// serialized provider closures stay small.
import { createHash } from "crypto";
import { engineSignal } from "./engine-watch";
import { consoleSink } from "./log";
import { resourceHosts, resourceOf, stage, type StepKind } from "./registry";
import { deleteHostShare, nodesLeave, previewDay2, withDeparting } from "./day2";
import { roleFlipProblem } from "./day2-roles";
import { runSelected, runUninstall, type UninstallPart } from "./runner";
import type { InstallSpec } from "./spec";

export type { StepKind } from "./registry";
export { read } from "./provider-read";

/** What every install-step resource receives. */
export interface StepInputs {
  kind: StepKind;
  /** The node this resource is about (per-host kinds); the master for cluster-wide kinds. */
  host: string;
  spec: InstallSpec;
  /** node -> host key pinned on first contact by that node's HostPrep (not for HostPrep). */
  pinnedHostKeys?: Record<string, string>;
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/**
 * The inputs that matter to a resource, as one comparable value (its registry entry's
 * `relevant`): a change anywhere else (e.g. another node added) leaves it untouched, so `pulumi
 * up` only works where something changed. Secrets enter only as hashes.
 */
export function relevant(i: StepInputs): string {
  const m = i.spec.machines.find((x) => x.name === i.host);
  const node = m && {
    name: m.name,
    mdm: m.mdm,
    services: [...m.services].sort(),
    addr: [m.sshHost, m.sshPort, m.sshUser, m.privateAddress],
    disks: m.dataDisks,
  };
  return JSON.stringify(resourceOf(i.kind).relevant(i.spec, node, hash));
}

export interface StepOutputs extends StepInputs {
  hostKey?: string;
  hostKeys?: Record<string, string>;
  systemId?: string;
  clusterMode?: string;
  clusterState?: string;
  gatewayUrl?: string;
  dockerRootDir?: string;
  device?: string;
  changes: number;
  /** What a `pulumi refresh` found changed on the hosts (provider-read.ts); none after an up. */
  drift?: string[];
}

async function apply(i: StepInputs, pinned: Record<string, string>): Promise<StepOutputs> {
  const spec: InstallSpec = {
    ...i.spec,
    pinnedHostKeys: { ...i.spec.pinnedHostKeys, ...knownKeys(i.pinnedHostKeys), ...pinned },
  };
  const perHost = stage(i.kind).scope === "host";
  const res = await runSelected(
    spec,
    { stages: [i.kind], hosts: perHost ? [i.host] : undefined },
    { log: consoleSink(), signal: engineSignal() },
  );
  const out: StepOutputs = { ...i, changes: res.changes.length, hostKeys: res.hostKeys };
  if (perHost && res.hostKeys[i.host]) out.hostKey = res.hostKeys[i.host];
  if (res.cluster)
    Object.assign(out, {
      systemId: res.cluster.systemId,
      clusterMode: res.cluster.mode,
      clusterState: res.cluster.state,
    });
  if (res.gatewayUrl) out.gatewayUrl = res.gatewayUrl;
  const v = res.volumes[i.host];
  if (i.kind === "DockerVolume" && v) out.device = v.device;
  if (i.kind === "DockerVolume") out.dockerRootDir = "/var/lib/docker";
  if (res.verification) {
    Object.assign(out, {
      clusterMode: res.verification.clusterMode,
      clusterState: res.verification.clusterState,
    });
    out.dockerRootDir = undefined;
  }
  return out;
}

export async function create(i: StepInputs): Promise<{ id: string; outs: StepOutputs }> {
  const outs = await apply(i, {});
  return { id: `${i.kind}:${i.host}`, outs };
}

/**
 * The value the engine puts where an input is not known yet (during a preview, an output of a
 * resource still to be created). Our diff receives inputs as the engine sends them, so it sees
 * this string, not an Output (`unknownValue` in @pulumi/pulumi/runtime/rpc).
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether `value` holds an unknown anywhere (itself, an array item or an object member). */
export function holdsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(holdsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(holdsUnknown);
  return false;
}

/** The pinned host keys that are known strings (unknown or empty ones dropped). */
function knownKeys(keys: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(keys ?? {}).filter(
      (e): e is [string, string] => typeof e[1] === "string" && e[1] !== "" && e[1] !== UNKNOWN,
    ),
  );
}

/**
 * Whether a step must run again. `news` may hold unknowns during a preview (a host being added,
 * a machine still to be created): when the spec is not known, the answer is "may change"
 * (changes: true); the pinned host keys never decide it (they are state, not configuration).
 * A drift found by `pulumi refresh` (provider-read.ts) is a change.
 */
export function diff(
  olds: StepOutputs,
  news: StepInputs,
): { changes: boolean; replaces?: string[] } {
  if (olds.kind !== news.kind || olds.host !== news.host)
    return { changes: true, replaces: ["host"] };
  // A refresh found the hosts changed: the stage runs again and repairs that.
  if (olds.drift && olds.drift.length > 0) return { changes: true };
  if (holdsUnknown(news.spec)) return { changes: true };
  // Nodes leaving (day 2): the storage layout takes them out of the cluster (day2.ts).
  if (news.kind === "StorageLayout" && nodesLeave(olds.spec, news.spec)) return { changes: true };
  return { changes: relevant(olds) !== relevant(news) };
}

/**
 * diff, and for a day-2 change of nodes the words about data, printed once (by StorageLayout's
 * diff, which Pulumi runs in every preview, before the user says yes); a leaving SDS whose data
 * the rest cannot hold fails the preview there (day2.ts previewDay2).
 */
export async function diffAndSay(
  olds: StepOutputs,
  news: StepInputs,
): Promise<{ changes: boolean; replaces?: string[] }> {
  const d = diff(olds, news);
  // MDM roles that would flip kind are refused here, in the preview, before any package moves.
  if (news.kind === "StorageLayout") {
    const problem = roleFlipProblem(olds.spec.machines, knownRoles(news.spec));
    if (problem) throw new Error(problem);
  }
  if (news.kind !== "StorageLayout" || holdsUnknown(news.spec)) return d;
  const mdmsMove = relevantMdms(olds.spec) !== relevantMdms(news.spec);
  if (nodesLeave(olds.spec, news.spec) || mdmsMove) {
    const o = { log: consoleSink(), signal: engineSignal() };
    await previewDay2(olds.spec, news.spec, (l) => console.log(l), o);
  }
  return d;
}

/** The nodes of a spec whose name and MDM role are known (a preview may hold unknowns). */
function knownRoles(spec: InstallSpec): InstallSpec["machines"] {
  const ms: unknown = spec?.machines;
  if (!Array.isArray(ms)) return [];
  return (ms as InstallSpec["machines"]).filter(
    (m) => typeof m?.name === "string" && m.name !== UNKNOWN && (m.mdm as string) !== UNKNOWN,
  );
}

const relevantMdms = (s: InstallSpec) =>
  JSON.stringify(s.machines.filter((m) => m.mdm).map((m) => [m.name, m.mdm]));

export async function update(olds: StepOutputs, news: StepInputs): Promise<{ outs: StepOutputs }> {
  // Keep verifying against the key pinned on the first run.
  const pinned = olds.hostKey ? { [olds.host]: olds.hostKey } : {};
  const keys = { ...knownKeys(olds.pinnedHostKeys), ...olds.hostKeys, ...pinned };
  // Nodes the last outputs had and the new spec has not: taken out of the cluster (day2.ts).
  const spec = withDeparting(olds.spec, news.spec);
  const outs = await apply({ ...news, spec }, keys);
  return { outs: { ...outs, spec: news.spec } };
}

/** Delete: machines the stack created go away with their data; only adopted hosts are cleaned. */
export async function remove(props: StepOutputs): Promise<void> {
  const spec = {
    ...props.spec,
    pinnedHostKeys: { ...props.spec.pinnedHostKeys, ...props.hostKeys },
  };
  if (!spec.adopted) return;
  if (!resourceOf(props.kind).undo) return;
  const o = { log: consoleSink(), signal: engineSignal() };
  // The same undo for a node removed from a cluster that lives on and for a destroy; only a
  // host that no longer answers is told apart (day2.ts, module comment).
  if (stage(props.kind).scope === "host")
    return deleteHostShare(spec, props.host, props.kind as UninstallPart, o);
  await runUninstall(spec, [props.host], props.kind as UninstallPart, o);
}

/** Nodes each kind exists for (the master for a cluster-wide kind). */
export function hostsFor(
  kind: StepKind,
  spec: Pick<InstallSpec, "machines" | "volumePlugin">,
): string[] {
  return resourceHosts(kind, spec);
}
