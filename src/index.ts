// The Arrowhead program: stack config -> machines on the chosen cloud -> ScaleIO + Docker on them
// -> stack outputs. Only wiring lives here.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, readSpec } from "./config";
import { sshKeys } from "./keys";
import { clusterArgs, preflight, ScaleioCluster } from "./install/resources";
import { createMachines } from "./providers";
import { assignRoles, describeRoles } from "./topology";

const config = new pulumi.Config(CONFIG_NAMESPACE);
// Validates everything before a single resource is registered.
const spec = readSpec(
  {
    get: (k) => config.get(k),
    getObject: (k) => config.getObject(k),
    has: (k) => config.getSecret(k) !== undefined,
  },
  pulumi.getStack(),
);
for (const warning of spec.warnings) pulumi.log.warn(warning);
const nodes = assignRoles(spec.nodes, spec.clusterMode);
// Missing or mismatched RPMs, or no Go for the volume plugin, fail here, before a single
// machine is created (the plugin's binary is built here when the cache has none).
preflight(nodes, spec.os, spec.rpmDir, { volumePlugin: spec.volumePlugin });
const keys = sshKeys(spec, config);
const { machines } = createMachines({ spec, nodes, sshPublicKey: keys.publicKey });

const cluster = new ScaleioCluster(
  "scaleio",
  clusterArgs(spec, nodes, machines, {
    privateKey: keys.privateKey,
    mdmPassword: config.requireSecret("mdmPassword"),
    gatewayPassword: config.requireSecret("gatewayPassword"),
  }),
);

const nodeSummary = machines.apply((ms) =>
  ms.map((m) => ({
    name: m.name,
    roles: describeRoles(m),
    publicAddress: m.publicAddress,
    privateAddress: m.privateAddress,
  })),
);
const keyFile = keys.generated ? "arrowhead.key" : "<your private key>";
const sshCommands = machines.apply((ms) =>
  Object.fromEntries(
    ms.map((m) => [m.name, `ssh -i ${keyFile} -p ${m.sshPort} ${m.sshUser}@${m.sshHost}`]),
  ),
);
const gatewayUrl = machines.apply((ms) => {
  const gw = ms.find((m) => m.services.includes("gateway"))!;
  return `https://${gw.forwardedPorts?.[443] ?? gw.publicAddress}/api`;
});

// The stack outputs. One object rather than `export const`s so that sshPrivateKey exists only
// when the stack generated the key (an exported undefined makes Pulumi warn on every run).
export = {
  cloud: spec.cloud,
  nodeSummary,
  sshCommands,
  sshKeyHint: keys.generated
    ? `pulumi stack output sshPrivateKey --show-secrets > ${keyFile} && chmod 600 ${keyFile}`
    : "uses arrowhead:sshPrivateKey from stack config",
  ...(keys.generated ? { sshPrivateKey: keys.privateKey } : {}),
  gatewayUrl,
  clusterState: cluster.clusterState,
  systemId: cluster.systemId,
  dockerRootDirs: cluster.dockerRootDirs,
};
