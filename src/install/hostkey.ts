// Host key policy, pure so it can be tested without a server. Three cases:
//  - a key is known (configured by the user for an existing host, or pinned in resource state
//    on an earlier run): the presented key must be exactly that key;
//  - no key is known and the stack created the machine: pin the presented key (trust on first
//    use, the only possible trust for a freshly booted cloud VM without console access) and
//    return it so it is stored in state;
//  - no key is known and the host is an existing (adopted) host: refuse, and print the key so
//    the user can check it out of band and configure it.
import { createHash } from "crypto";

/** An OpenSSH public key line, "ssh-ed25519 AAAA... [comment]". */
export interface PublicKey {
  type: string;
  /** The SSH wire-format blob. */
  blob: Buffer;
}

export function parsePublicKey(line: string): PublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || !/^[A-Za-z0-9+/]+={0,3}$/.test(parts[1])) {
    throw new Error(
      `not an OpenSSH public key (expected "ssh-ed25519 AAAA..."): "${line.slice(0, 40)}"`,
    );
  }
  const blob = Buffer.from(parts[1], "base64");
  const type = blobType(blob);
  if (type !== parts[0]) {
    throw new Error(`public key says type "${parts[0]}" but its data is "${type}"`);
  }
  return { type, blob };
}

/** The key type is the first length-prefixed string inside the blob. */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) throw new Error("SSH key blob too short");
  const n = blob.readUInt32BE(0);
  if (n <= 0 || n > 64 || blob.length < 4 + n) throw new Error("SSH key blob malformed");
  return blob.subarray(4, 4 + n).toString("ascii");
}

/** The OpenSSH line for a wire-format blob (what we store in state). */
export function keyLine(blob: Buffer): string {
  return `${blobType(blob)} ${blob.toString("base64")}`;
}

/** OpenSSH's `SHA256:...` fingerprint, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

export interface HostKeyExpectation {
  /** Node name and address, for messages. */
  name: string;
  address: string;
  /** The key configured by the user or pinned in state; empty/undefined when none is known. */
  knownKey?: string;
  /** Where knownKey came from, to say in the error how to replace it deliberately. */
  knownFrom?: "config" | "state";
  /** True for machines this stack created (first contact may pin). */
  mayPin: boolean;
}

export type HostKeyDecision =
  { accept: true; key: string; pinned: boolean } | { accept: false; error: string };

export function decideHostKey(presented: Buffer, exp: HostKeyExpectation): HostKeyDecision {
  const line = keyLine(presented);
  const fp = fingerprint(presented);
  if (exp.knownKey && exp.knownKey.trim() !== "") {
    const known = parsePublicKey(exp.knownKey);
    if (known.blob.equals(presented)) return { accept: true, key: line, pinned: false };
    const how =
      exp.knownFrom === "config"
        ? `If the machine was rebuilt on purpose and you verified the new key, set the host key for node "${exp.name}" in the stack config (hostKey) to:\n  ${line}`
        : `If the machine was rebuilt on purpose and you verified the new key, clear the pinned key: ` +
          `run \`pulumi up --replace\` on the HostPrep resource of node "${exp.name}" (or \`pulumi state delete\` it), ` +
          `or configure the new key for node "${exp.name}" (hostKey):\n  ${line}`;
    return {
      accept: false,
      error:
        `REFUSING to connect to ${exp.name} (${exp.address}): its SSH host key changed ` +
        `(expected ${fingerprint(known.blob)}, got ${fp}). This can mean a man-in-the-middle attack. ${how}`,
    };
  }
  if (exp.mayPin) return { accept: true, key: line, pinned: true };
  return {
    accept: false,
    error:
      `REFUSING to connect to existing host ${exp.name} (${exp.address}): no host key is configured for it. ` +
      `It presented ${fp}. Check that fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), ` +
      `then set the host key for node "${exp.name}" in the stack config (hostKey) to:\n  ${line}`,
  };
}

/**
 * The host key algorithms to offer when a key is known: only that key's type, so a server that
 * also holds other keys (CentOS 7's sshd-keygen makes RSA and ECDSA ones) presents the one we can
 * verify. Undefined (ssh2's defaults) when no key is known yet.
 */
export function serverHostKeyAlgorithms(knownKey?: string): string[] | undefined {
  if (!knownKey || knownKey.trim() === "") return undefined;
  const { type } = parsePublicKey(knownKey);
  // An RSA key is signed with SHA-2 by modern servers, with SHA-1 ("ssh-rsa") by old ones.
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}
