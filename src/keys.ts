// The stack's SSH key: the user's own (config, private part secret) or one generated per stack
// and kept, encrypted, in the stack's state.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Spec } from "./config";

export interface SshKeys {
  publicKey: pulumi.Output<string>;
  /** Always a Pulumi secret. */
  privateKey: pulumi.Output<string>;
  generated: boolean;
}

export function sshKeys(spec: Spec, config: pulumi.Config): SshKeys {
  if (spec.sshPublicKey) {
    return {
      publicKey: pulumi.output(spec.sshPublicKey),
      privateKey: config.requireSecret("sshPrivateKey"),
      generated: false,
    };
  }
  const key = new tls.PrivateKey("ssh-key", { algorithm: "ED25519" });
  return {
    publicKey: key.publicKeyOpenssh.apply((k) => k.trim()),
    privateKey: pulumi.secret(key.privateKeyOpenssh),
    generated: true,
  };
}
