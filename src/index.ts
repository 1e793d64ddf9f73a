// The Arrowhead program: stack config -> machines on the chosen cloud -> ScaleIO + Docker on them
// -> stack outputs. Only wiring lives here.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, readSpec } from "./config";
import { sshKeys } from "./keys";
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
const nodes = assignRoles(spec.nodes, spec.clusterMode);
const keys = sshKeys(spec, config);
const { machines } = createMachines({ spec, nodes, sshPublicKey: keys.publicKey });

export const cloud = spec.cloud;
export const nodeSummary = machines.apply((ms) =>
  ms.map((m) => ({
    name: m.name,
    roles: describeRoles(m),
    publicAddress: m.publicAddress,
    privateAddress: m.privateAddress,
  })),
);
const keyFile = keys.generated ? "arrowhead.key" : "<your private key>";
export const sshCommands = machines.apply((ms) =>
  Object.fromEntries(
    ms.map((m) => [m.name, `ssh -i ${keyFile} -p ${m.sshPort} ${m.sshUser}@${m.sshHost}`]),
  ),
);
export const sshKeyHint = keys.generated
  ? `pulumi stack output sshPrivateKey --show-secrets > ${keyFile} && chmod 600 ${keyFile}`
  : "uses arrowhead:sshPrivateKey from stack config";
export const sshPrivateKey = keys.generated ? keys.privateKey : undefined;
export const gatewayUrl = machines.apply((ms) => {
  const gw = ms.find((m) => m.services.includes("gateway"))!;
  return `https://${gw.forwardedPorts?.[443] ?? gw.publicAddress}/api`;
});
