// Local machines: QEMU guests on this computer, the stack that replaces `vagrant up`. One dynamic
// resource per machine plus one for the hub of their private network; the work is done by the
// plain driver in ./local/, which the provider methods `require` when they run (Pulumi serializes
// these closures, so they capture nothing but a path and small functions).
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Machine, NodeRoles, OsName } from "../machine";
import type { AccelSetting } from "./local/accel";
import type * as Driver from "./local/index";
import type { MachineState, MachineSpec } from "./local/index";
import { requireProviderModule, structSafe } from "../dynamic-provider";
import { userData as prepareScript } from "./cloud-init";
import type { MachineProvider, MachinesArgs } from "./common";
import { defaultSshUser } from "./images";
import { hostAddress } from "../topology";
import { resolveProjectPath } from "../project-dir";

export interface LocalMachinesArgs {
  stack: string;
  /** The GenericCloud qcow2 the user downloaded (CentOS 7, Rocky 8/9). Paths here: absolute, or
   * relative to the project directory (`~` expanded); config hands them over absolute. */
  baseImage: string;
  /** Direct kernel boot, for images without a bootloader (the e2e test image). */
  kernel?: string;
  initrd?: string;
  kernelCmdline?: string;
  os: OsName;
  nodes: NodeRoles[];
  cpus: number;
  memoryMb: number;
  dataDisks: { count: number; sizeGb: number; format?: "qcow2" | "raw" };
  sshPublicKey: pulumi.Input<string>;
  /** Default ~/.arrowhead; the stack's files go to <stateDir>/<stack>. */
  stateDir?: string;
  /** Private network of the machines; node i gets the (11+i)-th address. */
  networkCidr: string;
  bootTimeoutSec: number;
  accel?: AccelSetting;
  /** CentOS 7 vault mirror for the host preparation script shared with the clouds. */
  centos7VaultUrl?: string;
}

/** Maps the program's typed spec to the local provider's arguments. */
export function localArgsFromSpec(args: MachinesArgs): LocalMachinesArgs {
  const spec = args.spec;
  const local = spec.local;
  if (!local) throw new Error("cloud is 'local' but the spec has no local section");
  // Keys the spec may grow (kernel command line, accelerator) are read when present.
  const extra = local as typeof local & { kernelCmdline?: string; accel?: AccelSetting };
  return {
    stack: spec.stack,
    baseImage: local.baseImage,
    kernel: local.kernel,
    initrd: local.initrd,
    kernelCmdline: extra.kernelCmdline,
    os: spec.os,
    nodes: args.nodes,
    cpus: local.cpus,
    memoryMb: local.memoryMb,
    dataDisks: { count: spec.sdsDisks.count, sizeGb: spec.sdsDisks.sizeGb },
    sshPublicKey: args.sshPublicKey,
    stateDir: local.stateDir,
    networkCidr: local.networkCidr,
    bootTimeoutSec: local.bootTimeoutSeconds,
    accel: extra.accel,
    centos7VaultUrl: spec.centos7VaultUrl,
  };
}

/** Where the driver lives, resolved now: the provider runs in another process and module. */
const DRIVER_PATH = path.join(__dirname, "local", "index");

/** The driver, loaded inside a provider method (see requireProviderModule). */
function loadDriver(): typeof Driver {
  return requireProviderModule<typeof Driver>(DRIVER_PATH);
}

// ---------------------------------------------------------------------------------------------
// Hub resource

interface HubInputs {
  stack: string;
  stateDir: string;
}

const hubProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: HubInputs) {
    const hub = await loadDriver().startHub(inputs.stateDir, inputs.stack);
    return { id: `${inputs.stack}-hub`, outs: structSafe({ ...inputs, ...hub }) };
  },
  async read(id: string, props: HubInputs & Driver.HubState) {
    // A hub that died is gone: refresh drops it and the next `up` starts a new one.
    return loadDriver().hubAlive(props) ? { id, props } : {};
  },
  async diff(_id: string, olds: HubInputs, news: HubInputs) {
    const replaces = (["stack", "stateDir"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },
  async delete(_id: string, props: HubInputs & Driver.HubState) {
    await loadDriver().stopHub(props);
  },
};

class LocalHub extends pulumi.dynamic.Resource {
  declare readonly port: pulumi.Output<number>;
  constructor(name: string, args: HubInputs, opts?: pulumi.CustomResourceOptions) {
    super(hubProvider, name, { ...args, port: undefined, pid: undefined, dir: undefined }, opts);
  }
}

// ---------------------------------------------------------------------------------------------
// Machine resource

type MachineInputs = Omit<MachineSpec, "hubPort"> & { hubPort: number };

/** Inputs whose change means a new machine: its disks and first boot depend on them. */
export const REPLACE_ON: (keyof MachineSpec)[] = [
  "stack",
  "name",
  "stateDir",
  "baseImage",
  "kernel",
  "initrd",
  "kernelCmdline",
  "rootDiskGb",
  "cpus",
  "memoryMb",
  "dataDisks",
  "sshPublicKey",
  "sshUser",
  "privateCidr",
  "hubPort",
  "forwardGateway",
  "prepareScript",
];

/** Pure diff, shared by the provider and the unit tests. */
export function diffMachine(olds: Partial<MachineSpec>, news: Partial<MachineSpec>) {
  // Outputs come back in `olds` too; only the new inputs' keys count.
  const changed = (Object.keys(news) as (keyof MachineSpec)[]).filter(
    (k) => k !== ("__provider" as string) && JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
  );
  const replaces = changed.filter((k) => REPLACE_ON.includes(k));
  // Same name, same directory: the old machine must be gone before its replacement starts.
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: true };
}

const machineProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MachineInputs) {
    const state = await loadDriver().createMachine(inputs);
    return { id: `${inputs.stack}-${inputs.name}`, outs: structSafe({ ...inputs, ...state }) };
  },
  async read(id: string, props: MachineInputs & MachineState) {
    // A machine whose QEMU died is gone: refresh drops it and the next `up` recreates it.
    return loadDriver().machineAlive(props) ? { id, props } : {};
  },
  async diff(_id: string, olds: MachineInputs, news: MachineInputs) {
    return diffMachine(olds, news);
  },
  async update(_id: string, olds: MachineInputs & MachineState, news: MachineInputs) {
    // Only settings that matter at create time (boot timeout, accelerator) can differ here.
    return { outs: structSafe({ ...olds, ...news }) };
  },
  async delete(_id: string, props: MachineInputs & MachineState) {
    await loadDriver().deleteMachine(props);
  },
};

class LocalMachine extends pulumi.dynamic.Resource {
  declare readonly sshPort: pulumi.Output<number>;
  declare readonly gatewayPort: pulumi.Output<number | undefined>;
  declare readonly privateAddress: pulumi.Output<string>;
  declare readonly hostKey: pulumi.Output<string>;
  declare readonly dataDevices: pulumi.Output<string[]>;
  constructor(
    name: string,
    args: pulumi.Inputs & { [K in keyof MachineInputs]: pulumi.Input<MachineInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    const outs = { sshPort: undefined, gatewayPort: undefined, privateAddress: undefined };
    super(
      machineProvider,
      name,
      { ...args, ...outs, hostKey: undefined, dataDevices: undefined },
      opts,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Component

export function defaultLocalStateDir(): string {
  return process.env.ARROWHEAD_STATE_DIR ?? path.join(os.homedir(), ".arrowhead");
}

export class LocalMachines extends pulumi.ComponentResource implements MachineProvider {
  declare readonly machines: pulumi.Output<Machine[]>;

  constructor(
    name: string,
    input: MachinesArgs | LocalMachinesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("arrowhead:providers:LocalMachines", name, {}, opts);
    const args = "spec" in input ? localArgsFromSpec(input) : input;
    const stateDir = resolveProjectPath(args.stateDir ?? defaultLocalStateDir());
    const prefix = args.networkCidr.split("/")[1];
    const hub = new LocalHub(`${name}-hub`, { stack: args.stack, stateDir }, { parent: this });
    const sshUser = defaultSshUser(args.os);
    const machines = args.nodes.map((node, i) => {
      const privateAddress = hostAddress(args.networkCidr, i);
      const script = prepareScript({
        os: args.os,
        hostname: node.name,
        centos7VaultUrl: args.centos7VaultUrl ?? "",
      });
      const res = new LocalMachine(
        `${name}-${node.name}`,
        {
          stack: args.stack,
          name: node.name,
          stateDir,
          baseImage: resolveProjectPath(args.baseImage),
          kernel: args.kernel && resolveProjectPath(args.kernel),
          initrd: args.initrd && resolveProjectPath(args.initrd),
          kernelCmdline: args.kernelCmdline ?? (args.kernel ? DEFAULT_CMDLINE : undefined),
          cpus: args.cpus,
          memoryMb: args.memoryMb,
          dataDisks: {
            count: args.dataDisks.count,
            sizeGb: args.dataDisks.sizeGb,
            format: args.dataDisks.format ?? "qcow2",
          },
          sshPublicKey: pulumi.output(args.sshPublicKey).apply((k) => k.trim()),
          sshUser,
          privateCidr: `${privateAddress}/${prefix}`,
          hubPort: hub.port,
          forwardGateway: node.services.includes("gateway"),
          accel: args.accel ?? "auto",
          bootTimeoutSec: args.bootTimeoutSec,
          prepareScript: script,
        },
        { parent: this },
      );
      return pulumi
        .all([res.sshPort, res.gatewayPort, res.hostKey, res.dataDevices])
        .apply(([sshPort, gatewayPort, hostKey, dataDevices]): Machine => {
          const forwardedPorts: Record<number, string> = { 22: `127.0.0.1:${sshPort}` };
          if (gatewayPort) forwardedPorts[443] = `127.0.0.1:${gatewayPort}`;
          return {
            ...node,
            os: args.os,
            sshHost: "127.0.0.1",
            sshPort,
            sshUser,
            publicAddress: "127.0.0.1",
            privateAddress,
            dataDisks: dataDevices,
            hostKey,
            forwardedPorts,
          };
        });
    });
    this.machines = pulumi.all(machines);
    this.registerOutputs({ machines: this.machines });
  }
}

/** Kernel command line for direct boot when none is configured: root on the first partition. */
export const DEFAULT_CMDLINE = "root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0";
