// Pulumi resources for the install: one dynamic resource per host and stage (so `pulumi up`
// shows progress per host and per stage), composed in the ScaleioCluster component.
// The provider closures capture only two strings; the installer (and ssh2) is `require`d
// inside the methods when Pulumi runs them.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi/errors";
import type { Spec } from "../config";
import type { Machine, NodeRoles, OsName } from "../machine";
import { requireProviderModule, structSafe } from "../dynamic-provider";
import { planResources } from "./plan";
import { ensurePluginBinary, type PluginBinary } from "./plugin-build";
import type { StepInputs, StepKind, StepOutputs } from "./provider";
import { rpmsFor } from "./runner";
import { DEFAULTS, validateTopology, volumePluginOn, type InstallSpec } from "./spec";

const IMPL = path.join(__dirname, "provider");

/** The dynamic provider of one install step; the installer is loaded when Pulumi calls it. */
function providerFor(kind: StepKind): pulumi.dynamic.ResourceProvider {
  const impl = IMPL;
  const load = () => requireProviderModule<typeof import("./provider")>(impl);
  return {
    async create(inputs: StepInputs) {
      const r = await load().create({ ...inputs, kind });
      return { id: r.id, outs: structSafe(r.outs) };
    },
    async diff(_id: string, olds: StepOutputs, news: StepInputs) {
      return load().diffAndSay(olds, { ...news, kind });
    },
    async update(_id: string, olds: StepOutputs, news: StepInputs) {
      const r = await load().update(olds, { ...news, kind });
      return { outs: structSafe(r.outs) };
    },
    async delete(_id: string, props: StepOutputs) {
      await load().remove(props);
    },
    // `pulumi refresh`: read-only; the drift found is in the outputs and inputs (provider-read.ts).
    async read(id: string, props: StepOutputs) {
      const r = await load().read(id, { ...props, kind });
      return { id: r.id, props: structSafe(r.props), inputs: r.inputs && structSafe(r.inputs) };
    },
  };
}

/** A Machine whose cloud-computed fields may still be Outputs; name and roles are known up front. */
export type MachineInput = Pick<Machine, "name" | "mdm" | "services" | "os"> & {
  sshHost: pulumi.Input<string>;
  sshPort: pulumi.Input<number>;
  sshUser: pulumi.Input<string>;
  publicAddress: pulumi.Input<string>;
  privateAddress: pulumi.Input<string>;
  dataDisks: pulumi.Input<string[]>;
  hostKey?: pulumi.Input<string>;
};

const SECRET_OUTPUTS = ["spec"];

/** One install step on one host (or the cluster), shown in `pulumi up` as arrowhead:scaleio:<Kind>. */
export class InstallStep extends pulumi.dynamic.Resource {
  declare readonly hostKey: pulumi.Output<string | undefined>;
  declare readonly hostKeys: pulumi.Output<Record<string, string> | undefined>;
  declare readonly systemId: pulumi.Output<string | undefined>;
  declare readonly clusterMode: pulumi.Output<string | undefined>;
  declare readonly clusterState: pulumi.Output<string | undefined>;
  declare readonly gatewayUrl: pulumi.Output<string | undefined>;
  declare readonly dockerRootDir: pulumi.Output<string | undefined>;
  declare readonly device: pulumi.Output<string | undefined>;
  declare readonly changes: pulumi.Output<number>;
  /** What the last `pulumi refresh` found changed on the hosts (absent when nothing). */
  declare readonly drift: pulumi.Output<string[] | undefined>;

  constructor(
    kind: StepKind,
    name: string,
    props: {
      host: string;
      spec: pulumi.Input<InstallSpec>;
      /** node -> host key pinned on first contact (HostPrep's output); unknown in a preview. */
      pinnedHostKeys?: Record<string, pulumi.Input<string | undefined>>;
    },
    opts: pulumi.CustomResourceOptions,
  ) {
    super(
      providerFor(kind),
      name,
      {
        kind,
        host: props.host,
        spec: props.spec,
        pinnedHostKeys: props.pinnedHostKeys ?? {},
        hostKey: undefined,
        hostKeys: undefined,
        systemId: undefined,
        clusterMode: undefined,
        clusterState: undefined,
        gatewayUrl: undefined,
        dockerRootDir: undefined,
        device: undefined,
        changes: undefined,
        drift: undefined,
      },
      { ...opts, additionalSecretOutputs: SECRET_OUTPUTS },
      "arrowhead:scaleio",
      kind,
    );
  }
}

/** The spec fields ScaleioCluster computes itself or takes as Outputs. */
type Computed =
  | "machines"
  | "privateKey"
  | "mdmPassword"
  | "gatewayPassword"
  | "liaToken"
  | "rpmDir"
  | "pinnedHostKeys"
  | "volumePluginBinary";

/** What the installer needs (InstallSpec), with the machines and secrets as Pulumi Inputs. */
export interface ScaleioClusterArgs extends Omit<InstallSpec, Computed> {
  machines: MachineInput[];
  /** OpenSSH private key for every machine's sshUser. */
  privateKey: pulumi.Input<string>;
  /** Default assets/rpms (spec.ts DEFAULTS). */
  rpmDir?: string;
  mdmPassword: pulumi.Input<string>;
  gatewayPassword: pulumi.Input<string>;
  liaToken?: pulumi.Input<string>;
}

/**
 * The one mapping from the stack config (validated, defaults applied) and the machines to what
 * the installer needs. Names and roles are known now; addresses, ports and disks once the
 * machines exist.
 */
export function clusterArgs(
  spec: Spec,
  nodes: NodeRoles[],
  machines: pulumi.Output<Machine[]>,
  secrets: Pick<ScaleioClusterArgs, "privateKey" | "mdmPassword" | "gatewayPassword">,
): ScaleioClusterArgs {
  return {
    ...secrets,
    machines: nodes.map((node, i) => {
      const m = machines.apply((ms) => ms[i]);
      return {
        ...node,
        os: spec.os,
        sshHost: m.sshHost,
        sshPort: m.sshPort,
        sshUser: m.sshUser,
        publicAddress: m.publicAddress,
        privateAddress: m.privateAddress,
        dataDisks: m.dataDisks,
        hostKey: m.apply((x) => x.hostKey ?? ""),
      };
    }),
    os: spec.os,
    rpmDir: spec.rpmDir,
    clusterName: spec.clusterName,
    protectionDomain: spec.protectionDomain,
    storagePool: spec.storagePool,
    mediaType: spec.mediaType,
    // Storage tiers, only when configured: a stack of the old keys gets the spec it had.
    ...(spec.storagePools ? { storagePools: spec.storagePools } : {}),
    ...(spec.dockerVolumePool ? { dockerVolumePool: spec.dockerVolumePool } : {}),
    ...(spec.volumePluginPool ? { volumePluginPool: spec.volumePluginPool } : {}),
    dockerVolumeGb: spec.dockerVolumeSizeGb,
    vaultUrl: spec.centos7VaultUrl,
    adopted: spec.cloud === "existing",
    deleteVolumes: spec.deleteVolumes,
    wipeDevices: spec.wipeDevices,
    volumePlugin: spec.volumePlugin,
  };
}

/**
 * The volume plugin's binary when the plugin is on (and a gateway node exists): built into the
 * cache now unless it is there already. Throws when Go is missing or the build fails.
 */
export function pluginBinaryFor(
  nodes: Pick<Machine, "services">[],
  volumePlugin: boolean | undefined,
): PluginBinary | undefined {
  return volumePluginOn({ machines: nodes, volumePlugin }) ? ensurePluginBinary() : undefined;
}

/**
 * Checks what can be checked before any machine exists: the roles make one valid cluster, the
 * RPM directory holds the right package set for the OS, and, with the volume plugin on, Go is
 * on PATH and the plugin's binary is built (cached by source hash). Returns the absolute RPM
 * directory. The program calls it before registering any resource; ScaleioCluster calls it again.
 */
export function preflight(
  nodes: Pick<Machine, "name" | "mdm" | "services">[],
  os: OsName,
  rpmDir?: string,
  opts: { volumePlugin?: boolean } = {},
): string {
  try {
    return checkBeforeAnyMachine(nodes, os, rpmDir, opts);
  } catch (err) {
    // What the user fixes (RPMs, roles, Go) reads best alone: a RunError has no stack trace.
    throw new PreflightError(err instanceof Error ? err.message : String(err));
  }
}

/** A preflight check failed; Pulumi prints the message without a stack trace. */
export class PreflightError extends RunError {
  constructor(message: string) {
    super(message);
    this.name = "PreflightError";
  }
}

function checkBeforeAnyMachine(
  nodes: Pick<Machine, "name" | "mdm" | "services">[],
  os: OsName,
  rpmDir: string | undefined,
  opts: { volumePlugin?: boolean },
): string {
  const roles: Machine[] = nodes.map((m) => ({
    name: m.name,
    mdm: m.mdm,
    services: m.services,
    os,
    sshHost: "",
    sshPort: 0,
    sshUser: "",
    publicAddress: "",
    privateAddress: "",
    dataDisks: ["(checked on the host)"],
  }));
  validateTopology(roles);
  const dir = path.resolve(rpmDir ?? DEFAULTS.rpmDir);
  const rpms = rpmsFor({ machines: roles, os, rpmDir: dir } as InstallSpec);
  // What the RPM folder holds besides the set (other OSes, unused components), said once.
  for (const note of rpms.notes) pulumi.log.info(note);
  pluginBinaryFor(nodes, opts.volumePlugin);
  return dir;
}

/** The spec every step gets: one secret value, the machines' Outputs resolved. */
function installSpec(
  args: ScaleioClusterArgs,
  rpmDir: string,
  volumePluginBinary: PluginBinary | undefined,
): pulumi.Output<InstallSpec> {
  const { machines, privateKey, mdmPassword, gatewayPassword, liaToken, ...plain } = args;
  const ms = pulumi.all(machines.map((m) => pulumi.output(m))) as pulumi.Output<Machine[]>;
  return pulumi.secret(
    pulumi
      .all([ms, privateKey, mdmPassword, gatewayPassword, liaToken])
      .apply(([resolved, key, mdmPw, gwPw, lia]): InstallSpec => ({
        ...plain,
        machines: resolved,
        privateKey: key,
        rpmDir,
        mdmPassword: mdmPw,
        gatewayPassword: gwPw,
        liaToken: lia,
        adopted: plain.adopted ?? false,
        deleteVolumes: plain.deleteVolumes ?? false,
        wipeDevices: plain.wipeDevices ?? {},
        volumePlugin: plain.volumePlugin ?? DEFAULTS.volumePlugin,
        volumePluginBinary,
      })),
  );
}

export class ScaleioCluster extends pulumi.ComponentResource {
  /** e.g. "3_node Normal". */
  declare readonly clusterState: pulumi.Output<string>;
  declare readonly systemId: pulumi.Output<string>;
  declare readonly gatewayUrl: pulumi.Output<string | undefined>;
  /** node -> Docker root dir on its ScaleIO volume. */
  declare readonly dockerRootDirs: pulumi.Output<Record<string, string>>;
  /** node -> ScaleIO device under /var/lib/docker. */
  declare readonly dockerDevices: pulumi.Output<Record<string, string>>;
  /** node -> SSH host key pinned/verified by the installer. */
  declare readonly hostKeys: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ScaleioClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("arrowhead:scaleio:ScaleioCluster", name, {}, opts);
    const rpmDir = preflight(args.machines, args.os, args.rpmDir, {
      volumePlugin: args.volumePlugin,
    });
    const pluginBinary = pluginBinaryFor(args.machines, args.volumePlugin);
    const steps = registerSteps(name, args, installSpec(args, rpmDir, pluginBinary), this);
    const ofKind = (k: StepKind) => steps.filter((s) => s.kind === k).map((s) => s.step);
    const [cluster] = ofKind("MdmCluster");
    const [verification] = ofKind("Verification");
    const gateways = ofKind("Gateway");
    const dockers = steps.filter((s) => s.kind === "DockerVolume");
    const byHost = (pick: (s: InstallStep) => pulumi.Output<string | undefined>) =>
      pulumi
        .all(dockers.map((d) => pick(d.step)))
        .apply((v) => Object.fromEntries(v.map((x, i) => [dockers[i].host, x ?? ""])));

    this.clusterState = pulumi.interpolate`${verification.clusterMode} ${verification.clusterState}`;
    this.systemId = cluster.systemId.apply((s) => s ?? "");
    this.gatewayUrl = gateways.length > 0 ? gateways[0].gatewayUrl : pulumi.output(undefined);
    this.dockerRootDirs = byHost((d) => d.dockerRootDir);
    this.dockerDevices = byHost((d) => d.device);
    this.hostKeys = pulumi
      .all(
        steps
          .filter((s) => s.kind === "HostPrep")
          .map((p) => p.step.hostKey.apply((k) => [p.host, k ?? ""] as const)),
      )
      .apply((kv) => Object.fromEntries(kv.filter(([, k]) => k !== "")));
    this.registerOutputs({
      clusterState: this.clusterState,
      systemId: this.systemId,
      gatewayUrl: this.gatewayUrl,
      dockerRootDirs: this.dockerRootDirs,
      dockerDevices: this.dockerDevices,
      hostKeys: this.hostKeys,
    });
  }
}

/**
 * One InstallStep per resource of the plan (plan.ts planResources, read off the registry), each
 * depending on exactly the steps the plan says. The host keys pinned by HostPrep (first
 * contact) are verified by every later step: they travel beside the spec, one Output per host,
 * so a new host's key (unknown during a preview) leaves the other steps' spec known.
 */
function registerSteps(
  cluster: string,
  args: ScaleioClusterArgs,
  spec: pulumi.Output<InstallSpec>,
  parent: pulumi.Resource,
): { kind: StepKind; host: string; step: InstallStep }[] {
  const planned = planResources(args.machines, { volumePlugin: args.volumePlugin });
  const byKey = new Map<string, InstallStep>();
  const out: { kind: StepKind; host: string; step: InstallStep }[] = [];
  let pinnedHostKeys: Record<string, pulumi.Output<string | undefined>> | undefined;
  for (const r of planned) {
    // HostPrep pins the keys: every HostPrep comes first in the plan, before any other step.
    const pins = r.kind !== "HostPrep";
    if (pins && !pinnedHostKeys) {
      const prep = out.filter((s) => s.kind === "HostPrep");
      pinnedHostKeys = Object.fromEntries(prep.map((s) => [s.host, s.step.hostKey]));
    }
    const step = new InstallStep(
      r.kind,
      `${cluster}-${r.name}`,
      { host: r.host, spec, pinnedHostKeys: pins ? pinnedHostKeys : undefined },
      { parent, dependsOn: r.after.map((k) => byKey.get(k)!) },
    );
    byKey.set(r.key, step);
    out.push({ kind: r.kind, host: r.host, step });
  }
  return out;
}
