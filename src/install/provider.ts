// The work behind the Pulumi dynamic resources of resources.ts, as plain functions. This
// module (and ssh2 through it) is `require`d inside the provider methods at deploy time, so the
// serialized provider closures stay small.
import { createHash } from "crypto";
import { engineSignal } from "./engine-watch";
import { consoleSink } from "./log";
import type { StageName } from "./plan";
import { runSelected, runUninstall } from "./runner";
import {
  dockerHosts,
  gatewayNode,
  managerIps,
  mdmNodes,
  volumePluginOn,
  type InstallSpec,
} from "./spec";

export type StepKind =
  | "HostPrep"
  | "HostPackages"
  | "MdmCluster"
  | "StorageLayout"
  | "Gateway"
  | "DockerVolume"
  | "VolumePlugin"
  | "Verification";

/** What every install-step resource receives. */
export interface StepInputs {
  kind: StepKind;
  /** The node this resource is about (per-host kinds); the master for cluster-wide kinds. */
  host: string;
  spec: InstallSpec;
  /** node -> host key pinned on first contact by that node's HostPrep (not for HostPrep). */
  pinnedHostKeys?: Record<string, string>;
}

const STAGES: Record<StepKind, StageName[]> = {
  HostPrep: ["prepare"],
  HostPackages: ["packages"],
  MdmCluster: ["cluster"],
  StorageLayout: ["storage"],
  Gateway: ["gateway"],
  DockerVolume: ["volumes", "docker"],
  VolumePlugin: ["volumeplugin"],
  Verification: ["verify"],
};

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/**
 * The inputs that matter to a resource, as one comparable value: a change anywhere else (e.g.
 * another node added) leaves it untouched, so `pulumi up` only works where something changed.
 * Secrets enter only as hashes.
 */
export function relevant(i: StepInputs): string {
  const s = i.spec;
  const m = s.machines.find((x) => x.name === i.host);
  const node = m && {
    name: m.name,
    mdm: m.mdm,
    services: [...m.services].sort(),
    addr: [m.sshHost, m.sshPort, m.sshUser, m.privateAddress],
    disks: m.dataDisks,
  };
  const mdms = s.machines.filter((x) => x.mdm).map((x) => [x.name, x.mdm, x.privateAddress]);
  switch (i.kind) {
    case "HostPrep":
      return JSON.stringify({ node, os: s.os, vault: s.vaultUrl ?? "" });
    case "HostPackages":
      return JSON.stringify({
        node,
        rpmDir: s.rpmDir,
        mgr: managerIps(s.machines),
        lia: hash(s.liaToken ?? ""),
        // Read by delete(): the engine hands delete the last outputs, so a changed setting
        // must reach the state through an update.
        deleteVolumes: s.deleteVolumes ?? false,
      });
    case "MdmCluster":
      return JSON.stringify({ mdms, name: s.clusterName, pw: hash(s.mdmPassword) });
    case "StorageLayout": {
      const sds = s.machines
        .filter((x) => x.services.includes("sds"))
        .map((x) => [x.name, x.privateAddress, x.dataDisks]);
      return JSON.stringify({ sds, pd: s.protectionDomain, sp: s.storagePool, media: s.mediaType });
    }
    case "Gateway":
      return JSON.stringify({ node, mgr: managerIps(s.machines), gw: hash(s.gatewayPassword) });
    case "DockerVolume":
      return JSON.stringify({
        node,
        gb: s.dockerVolumeGb,
        pd: s.protectionDomain,
        sp: s.storagePool,
        pk: s.dockerPackages,
        deleteVolumes: s.deleteVolumes ?? false,
      });
    case "VolumePlugin": {
      const gw = gatewayNode(s.machines);
      return JSON.stringify({
        node,
        gateway: gw && [gw.name, gw.privateAddress],
        system: s.clusterName,
        pd: s.protectionDomain,
        sp: s.storagePool,
        // The plugin logs in with the MDM admin password; a new binary is a new install.
        pw: hash(s.mdmPassword),
        binary: s.volumePluginBinary?.sha256 ?? "",
      });
    }
    case "Verification":
      return JSON.stringify(s.machines.map((x) => [x.name, x.mdm, x.services, x.privateAddress]));
  }
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
}

async function apply(i: StepInputs, pinned: Record<string, string>): Promise<StepOutputs> {
  const spec: InstallSpec = {
    ...i.spec,
    pinnedHostKeys: { ...i.spec.pinnedHostKeys, ...knownKeys(i.pinnedHostKeys), ...pinned },
  };
  const perHost = ["HostPrep", "HostPackages", "Gateway", "DockerVolume", "VolumePlugin"].includes(
    i.kind,
  );
  const res = await runSelected(
    spec,
    { stages: STAGES[i.kind], hosts: perHost ? [i.host] : undefined },
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
 */
export function diff(
  olds: StepOutputs,
  news: StepInputs,
): { changes: boolean; replaces?: string[] } {
  if (olds.kind !== news.kind || olds.host !== news.host)
    return { changes: true, replaces: ["host"] };
  if (holdsUnknown(news.spec)) return { changes: true };
  return { changes: relevant(olds) !== relevant(news) };
}

export async function update(olds: StepOutputs, news: StepInputs): Promise<{ outs: StepOutputs }> {
  // Keep verifying against the key pinned on the first run.
  const pinned = olds.hostKey ? { [olds.host]: olds.hostKey } : {};
  return { outs: await apply(news, { ...olds.hostKeys, ...pinned }) };
}

/** Delete: machines the stack created go away with their data; only adopted hosts are cleaned. */
export async function remove(props: StepOutputs): Promise<void> {
  const spec = {
    ...props.spec,
    pinnedHostKeys: { ...props.spec.pinnedHostKeys, ...props.hostKeys },
  };
  if (!spec.adopted) return;
  const o = { log: consoleSink(), signal: engineSignal() };
  if (props.kind === "VolumePlugin") await runUninstall(spec, [props.host], "volumeplugin", o);
  if (props.kind === "DockerVolume") await runUninstall(spec, [props.host], "docker", o);
  if (props.kind === "HostPackages") await runUninstall(spec, [props.host], "packages", o);
}

/** Nodes each per-host kind exists for. */
export function hostsFor(
  kind: StepKind,
  spec: Pick<InstallSpec, "machines" | "volumePlugin">,
): string[] {
  const ms = spec.machines;
  switch (kind) {
    case "HostPrep":
    case "HostPackages":
      return ms.map((m) => m.name);
    case "Gateway":
      return ms.filter((m) => m.services.includes("gateway")).map((m) => m.name);
    case "DockerVolume":
      return dockerHosts(ms).map((m) => m.name);
    case "VolumePlugin":
      return volumePluginOn(spec) ? dockerHosts(ms).map((m) => m.name) : [];
    default:
      return [mdmNodes(ms).master.name];
  }
}
