// OpenSSH Ed25519 key pairs made with Node's crypto: host keys for the machines the stack creates (known
// before they boot, so every SSH connection is verified from the first one on) and the stack's own
// login key when the user gives none.
import { generateKeyPairSync, randomBytes } from "node:crypto";

export interface HostKeyPair {
  /** "ssh-ed25519 AAAA..." as it appears in known_hosts and Machine.hostKey. */
  publicKey: string;
  /** OpenSSH private key file text (unencrypted): what sshd reads as a HostKey. */
  privateKey: string;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * Encodes an Ed25519 key in the "openssh-key-v1" format. It is the only format every sshd we
 * target (OpenSSH 7.4 on CentOS 7 and later) reads for Ed25519 host keys; PKCS#8 PEM is not.
 */
export function encodeOpenSshEd25519(
  seed: Buffer,
  pub: Buffer,
  comment: string,
  checkInt: number,
): HostKeyPair {
  if (seed.length !== 32 || pub.length !== 32) {
    throw new Error("Ed25519 keys are 32 bytes (seed and public key)");
  }
  const keyType = "ssh-ed25519";
  const pubBlob = Buffer.concat([sshString(keyType), sshString(pub)]);
  let priv = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(keyType),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Unencrypted keys are padded with 1, 2, 3... to the cipher block size "none" uses (8).
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const blob = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = blob.toString("base64").replace(/(.{70})/g, "$1\n");
  return {
    publicKey: `${keyType} ${pubBlob.toString("base64")}`,
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64.replace(/\n$/, "")}\n-----END OPENSSH PRIVATE KEY-----\n`,
  };
}

/** A fresh Ed25519 key pair in OpenSSH formats; `comment` ends the private key file. */
export function generateHostKey(comment: string): HostKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pubJwk = publicKey.export({ format: "jwk" });
  const privJwk = privateKey.export({ format: "jwk" });
  if (!pubJwk.x || !privJwk.d) throw new Error("Node did not export the Ed25519 key as JWK");
  return encodeOpenSshEd25519(
    Buffer.from(privJwk.d, "base64url"),
    Buffer.from(pubJwk.x, "base64url"),
    comment,
    randomBytes(4).readUInt32BE(0),
  );
}
