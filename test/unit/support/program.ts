// Runs the real program (src/index.ts) under Pulumi's mocks and records every resource it
// registers. One program per test file: Pulumi's runtime state is process-global.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
}

/** A provider function the program called (a data source such as aws.ec2.getAmi). */
export interface Called {
  token: string;
  inputs: Record<string, unknown>;
}

export interface ProgramRun {
  resources: Registered[];
  calls: Called[];
  outputs: Record<string, unknown>;
  byType(type: string): Registered[];
  one(type: string, name?: string): Registered;
}

/** Values a cloud computes (addresses, ids) that mocks must invent, per type token. */
function computed(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  const n = [...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 200, 7) + 20;
  switch (type) {
    case "aws:ec2/instance:Instance":
      return { publicIp: `198.51.100.${n}`, availabilityZone: "eu-west-1a" };
    case "aws:ebs/volume:Volume":
      return { id: `vol-0${n.toString(16).padStart(16, "0")}` };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: inputs.keyName ?? name };
    case "gcp:compute/instance:Instance": {
      const nics = (inputs.networkInterfaces as Record<string, unknown>[]) ?? [];
      return {
        networkInterfaces: nics.map((nic) => ({
          ...nic,
          accessConfigs: [{ natIp: `203.0.113.${n}` }],
        })),
      };
    }
    case "digitalocean:index/droplet:Droplet":
      return {
        ipv4Address: `192.0.2.${n}`,
        ipv4AddressPrivate: `10.20.0.${n}`,
        id: String(1000 + n),
      };
    case "digitalocean:index/sshKey:SshKey":
      return { fingerprint: "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa" };
    case "azure-native:network:PublicIPAddress":
      return { ipAddress: `203.0.113.${n}` };
    case "azure-native:resources:ResourceGroup":
      return { name: `${name}-rg-name` };
    // The stack's own key (src/keys.ts): mocks do not run a dynamic provider's create().
    case "pulumi-nodejs:dynamic/arrowhead:SshKeyPair":
      return {
        publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGeneratedGeneratedGeneratedGeneratedGen",
        privateKey:
          "-----BEGIN OPENSSH PRIVATE KEY-----\ngenerated\n-----END OPENSSH PRIVATE KEY-----\n",
      };
    default:
      return {};
  }
}

export async function resolve<T>(value: pulumi.Input<T> | undefined): Promise<T | undefined> {
  if (value === undefined) return undefined;
  return new Promise((done) => pulumi.output(value).apply((v) => done(v as T)));
}

/**
 * config: values by key without the namespace ("cloud", "aws": {...}); objects are JSON-encoded
 * as the Pulumi engine does. secrets: keys whose values are secret.
 */
export async function runProgram(
  config: Record<string, unknown>,
  secrets: Record<string, string> = {},
  stack = "dev",
  onRegister?: (type: string) => void,
): Promise<ProgramRun> {
  const resources: Registered[] = [];
  const calls: Called[] = [];
  if (config.rpmDir === undefined)
    config = { ...config, rpmDir: fakeRpmDir(String(config.os ?? "centos7")) };
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...config, ...secrets })) {
    all[`arrowhead:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(
    all,
    Object.keys(secrets).map((k) => `arrowhead:${k}`),
  );
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        onRegister?.(args.type);
        const extra = computed(args.type, args.name, args.inputs);
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
        });
        return {
          id: (extra.id as string) ?? `${args.name}-id`,
          state: { ...args.inputs, ...extra },
        };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs });
        if (args.token === "aws:ec2/getAmi:getAmi")
          return { id: "ami-0mockedmocked", ...args.inputs };
        if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones")
          return { names: ["eu-west-1a", "eu-west-1b"] };
        return args.inputs;
      },
    },
    "arrowhead",
    stack,
    false,
  );
  const program = (await import("../../../src/index")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  // The program's `export =` object: what Pulumi's runtime turns into stack outputs.
  for (const [k, v] of Object.entries(program)) {
    if (k === "default" || k === "module.exports") continue; // the interop's view of that object
    outputs[k] = await resolve(v as pulumi.Input<unknown>);
  }
  // Let every registration the outputs did not wait for land.
  await new Promise((r) => setTimeout(r, 50));
  const byType = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    calls,
    outputs,
    byType,
    one(type, name) {
      const found = byType(type).filter((r) => name === undefined || r.name === name);
      if (found.length !== 1)
        throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
      return found[0];
    },
  };
}

export const PASSWORDS = { mdmPassword: "Mdm-Secret-9x!", gatewayPassword: "Gw-Secret-7y!" };

/**
 * A directory of vendor-named (empty) RPM files: the program only selects packages by name
 * while it registers resources; their contents matter only when the installer runs.
 */
export function fakeRpmDir(os: string): string {
  const dist = os === "centos7" ? "el7" : "el8";
  const dir = mkdtempSync(join(tmpdir(), "arrowhead-rpms-"));
  for (const c of ["mdm", "sds", "sdc", "lia"])
    writeFileSync(join(dir, `EMC-ScaleIO-${c}-3.6-700.103.${dist}.x86_64.rpm`), "");
  writeFileSync(join(dir, "EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm"), "");
  return dir;
}
