// What every cloud provider module receives and returns.
import * as pulumi from "@pulumi/pulumi";
import type { Spec } from "../config";
import type { Machine, NodeRoles } from "../machine";

export interface MachinesArgs {
  spec: Spec;
  nodes: NodeRoles[];
  /** OpenSSH public key line the machines accept. */
  sshPublicKey: pulumi.Input<string>;
}

/** Implemented by every provider's ComponentResource. */
export interface MachineProvider {
  readonly machines: pulumi.Output<Machine[]>;
}

/** Prefix for cloud resource names, unique per stack so that several stacks can share an account. */
export function resourcePrefix(spec: Spec): string {
  return `arrowhead-${spec.stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

export const hasSds = (node: NodeRoles): boolean => node.services.includes("sds");
