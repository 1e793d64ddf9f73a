// The stack's SSH key: the user's own (config, private part secret) or one the program makes per
// stack and keeps, encrypted, in the stack's state.
//
// The key is made by our own dynamic resource, not @pulumi/tls: its provider is a plugin binary
// that must be downloaded (it cannot be built from the Go module proxy), so a stack that
// registered tls.PrivateKey could not run where plugins cannot be fetched. ssh2 (ssh-keygen.ts)
// makes the same Ed25519 key; the private half is a secret output, encrypted in state.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { Spec } from "./config";
import { requireProviderModule } from "./dynamic-provider";
import type * as SshKeygen from "./ssh-keygen";

export interface SshKeys {
  publicKey: pulumi.Output<string>;
  /** Always a Pulumi secret. */
  privateKey: pulumi.Output<string>;
  generated: boolean;
}

const KEYGEN_PATH = path.join(__dirname, "ssh-keygen");

const keyPairProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string }) {
    const pair = requireProviderModule<typeof SshKeygen>(KEYGEN_PATH).generateHostKey(
      inputs.comment,
    );
    return {
      id: pair.publicKey.split(" ")[1].slice(-16),
      outs: { comment: inputs.comment, publicKey: pair.publicKey, privateKey: pair.privateKey },
    };
  },
  // A key is made once: nothing in its inputs may silently replace it (the machines trust it).
  async diff() {
    return { changes: false };
  },
};

/**
 * An Ed25519 key pair made once per stack. Outputs: `publicKey` ("ssh-ed25519 AAAA...") and
 * `privateKey` (OpenSSH private key file text, a secret: encrypted in state, never shown).
 * Deleting it forgets the key; nothing outside the state holds it.
 */
export class SshKeyPair extends pulumi.dynamic.Resource {
  declare readonly publicKey: pulumi.Output<string>;
  declare readonly privateKey: pulumi.Output<string>;

  constructor(name: string, comment: string, opts?: pulumi.CustomResourceOptions) {
    super(
      keyPairProvider,
      name,
      { comment, publicKey: undefined, privateKey: undefined },
      { ...opts, additionalSecretOutputs: ["privateKey"] },
      "arrowhead",
      "SshKeyPair",
    );
  }
}

/** The key the installer logs in with: from config when given, else made for this stack. */
export function sshKeys(spec: Spec, config: pulumi.Config): SshKeys {
  if (spec.sshPublicKey) {
    return {
      publicKey: pulumi.output(spec.sshPublicKey),
      privateKey: config.requireSecret("sshPrivateKey"),
      generated: false,
    };
  }
  const key = new SshKeyPair("ssh-key", `arrowhead-${pulumi.getStack()}`);
  return {
    publicKey: key.publicKey,
    privateKey: pulumi.secret(key.privateKey),
    generated: true,
  };
}
