// Pulumi resources for the install: one dynamic resource per host and stage (so `pulumi up`
// shows progress per host and per stage), composed in the ScaleioCluster component.
// The provider closures capture only two strings; the installer (and ssh2) is `require`d
// inside the methods when Pulumi runs them.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RunError } from "@pulumi/pulumi/errors";
import type { Machine, OsName } from "../machine";
import type { StepInputs, StepKind, StepOutputs } from "./provider";
import type { MediaType } from "./scli";
import { requireProviderModule, structSafe } from "../dynamic-provider";
import { ensurePluginBinary, type PluginBinary } from "./plugin-build";
import { rpmsFor } from "./runner";
import { validateTopology, volumePluginOn, type InstallSpec } from "./spec";

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
      return load().diff(olds, { ...news, kind });
    },
    async update(_id: string, olds: StepOutputs, news: StepInputs) {
      const r = await load().update(olds, { ...news, kind });
      return { outs: structSafe(r.outs) };
    },
    async delete(_id: string, props: StepOutputs) {
      await load().remove(props);
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
      },
      { ...opts, additionalSecretOutputs: SECRET_OUTPUTS },
      "arrowhead:scaleio",
      kind,
    );
  }
}

export interface ScaleioClusterArgs {
  machines: MachineInput[];
  /** OpenSSH private key for every machine's sshUser. */
  privateKey: pulumi.Input<string>;
  os: OsName;
  /** Default assets/rpms. */
  rpmDir?: string;
  clusterName: string;
  protectionDomain?: string;
  storagePool?: string;
  mediaType?: MediaType;
  dockerVolumeGb?: number;
  mdmPassword: pulumi.Input<string>;
  gatewayPassword: pulumi.Input<string>;
  liaToken?: pulumi.Input<string>;
  vaultUrl?: string;
  /** Existing hosts: host keys must be configured; delete cleans up what the stack installed. */
  adopted?: boolean;
  /** On delete (adopted hosts), also remove the Docker volumes and the ScaleIO packages. */
  deleteVolumes?: boolean;
  /** node -> SDS devices the user allows to be wiped (config `wipeDevices`); others are refused. */
  wipeDevices?: Record<string, string[]>;
  dockerPackages?: string[];
  /** The Docker volume plugin on every Docker host (default true; config `volumePlugin`). */
  volumePlugin?: boolean;
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
  const dir = path.resolve(rpmDir ?? path.join(__dirname, "..", "..", "assets", "rpms"));
  const rpms = rpmsFor({ machines: roles, os, rpmDir: dir } as InstallSpec);
  // What the RPM folder holds besides the set (other OSes, unused components), said once.
  for (const note of rpms.notes) pulumi.log.info(note);
  pluginBinaryFor(nodes, opts.volumePlugin);
  return dir;
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
    const machines = pulumi.all(args.machines.map((m) => pulumi.output(m))) as pulumi.Output<
      Machine[]
    >;
    const baseSpec = pulumi
      .all([machines, args.privateKey, args.mdmPassword, args.gatewayPassword, args.liaToken])
      .apply(([ms, key, mdmPw, gwPw, lia]): InstallSpec => ({
        machines: ms,
        privateKey: key,
        os: args.os,
        rpmDir,
        clusterName: args.clusterName,
        protectionDomain: args.protectionDomain ?? "pd1",
        storagePool: args.storagePool ?? "sp1",
        mediaType: args.mediaType ?? "HDD",
        dockerVolumeGb: args.dockerVolumeGb ?? 16,
        mdmPassword: mdmPw,
        gatewayPassword: gwPw,
        liaToken: lia,
        vaultUrl: args.vaultUrl,
        adopted: args.adopted ?? false,
        deleteVolumes: args.deleteVolumes ?? false,
        wipeDevices: args.wipeDevices ?? {},
        dockerPackages: args.dockerPackages,
        volumePlugin: args.volumePlugin ?? true,
        volumePluginBinary: pluginBinary,
      }));
    // One secret value for every step; the host keys pinned so far travel beside it, one
    // Output per host, so a new host's key (unknown during a preview) leaves the spec known.
    const spec = pulumi.secret(baseSpec);

    const names = args.machines.map((m) => m.name);
    const master = args.machines.find((m) => m.mdm === "master")!.name;
    const child = { parent: this };

    // Dependencies as in planTasks (plan.ts): each step waits only for what it needs.
    const prep: Record<string, InstallStep> = {};
    const pkgs: Record<string, InstallStep> = {};
    const pkgsOf = (pred: (m: MachineInput) => boolean) =>
      args.machines.filter(pred).map((m) => pkgs[m.name]);
    for (const n of names) {
      prep[n] = new InstallStep("HostPrep", `${name}-prep-${n}`, { host: n, spec }, child);
    }
    // Host keys pinned by HostPrep (first contact) are verified by every later step.
    const pinnedHostKeys = Object.fromEntries(names.map((n) => [n, prep[n].hostKey]));
    const pinned = pulumi
      .all(names.map((n) => prep[n].hostKey.apply((k) => [n, k ?? ""] as const)))
      .apply((kv) => Object.fromEntries(kv.filter(([, k]) => k !== "")));
    for (const n of names) {
      pkgs[n] = new InstallStep(
        "HostPackages",
        `${name}-packages-${n}`,
        { host: n, spec, pinnedHostKeys },
        { ...child, dependsOn: [prep[n]] },
      );
    }
    const cluster = new InstallStep(
      "MdmCluster",
      `${name}-mdm-cluster`,
      { host: master, spec, pinnedHostKeys },
      { ...child, dependsOn: pkgsOf((m) => !!m.mdm) },
    );
    const storage = new InstallStep(
      "StorageLayout",
      `${name}-storage`,
      { host: master, spec, pinnedHostKeys },
      { ...child, dependsOn: [cluster, ...pkgsOf((m) => m.services.includes("sds"))] },
    );
    const gateways = args.machines
      .filter((m) => m.services.includes("gateway"))
      .map(
        (m) =>
          new InstallStep(
            "Gateway",
            `${name}-gateway-${m.name}`,
            { host: m.name, spec, pinnedHostKeys },
            { ...child, dependsOn: [cluster, pkgs[m.name]] },
          ),
      );
    const dockers = args.machines
      .filter((m) => m.services.includes("docker"))
      .map(
        (m) =>
          new InstallStep(
            "DockerVolume",
            `${name}-docker-${m.name}`,
            { host: m.name, spec, pinnedHostKeys },
            { ...child, dependsOn: [storage, pkgs[m.name]] },
          ),
      );
    // The volume plugin on each Docker host: after its Docker and the gateway (planTasks).
    const plugins = pluginBinary
      ? args.machines
          .filter((m) => m.services.includes("docker"))
          .map(
            (m, i) =>
              new InstallStep(
                "VolumePlugin",
                `${name}-volume-plugin-${m.name}`,
                { host: m.name, spec, pinnedHostKeys },
                { ...child, dependsOn: [dockers[i], ...gateways] },
              ),
          )
      : [];
    const verification = new InstallStep(
      "Verification",
      `${name}-verify`,
      { host: master, spec, pinnedHostKeys },
      { ...child, dependsOn: [storage, ...gateways, ...dockers, ...plugins] },
    );

    this.clusterState = pulumi.interpolate`${verification.clusterMode} ${verification.clusterState}`;
    this.systemId = cluster.systemId.apply((s) => s ?? "");
    this.gatewayUrl = gateways.length > 0 ? gateways[0].gatewayUrl : pulumi.output(undefined);
    const dockerNames = args.machines
      .filter((m) => m.services.includes("docker"))
      .map((m) => m.name);
    this.dockerRootDirs = pulumi
      .all(dockers.map((d) => d.dockerRootDir))
      .apply((dirs) => Object.fromEntries(dirs.map((d, i) => [dockerNames[i], d ?? ""])));
    this.dockerDevices = pulumi
      .all(dockers.map((d) => d.device))
      .apply((devs) => Object.fromEntries(devs.map((d, i) => [dockerNames[i], d ?? ""])));
    this.hostKeys = pinned;
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
