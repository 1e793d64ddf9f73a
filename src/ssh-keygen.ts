// OpenSSH Ed25519 key pairs: host keys for the machines the stack creates (known before they
// boot, so every SSH connection is verified from the first one on) and the stack's own login key
// when the user gives none. ssh2 (our SSH client) writes them in OpenSSH's own formats.
import { utils } from "ssh2";

export interface HostKeyPair {
  /** "ssh-ed25519 AAAA..." as it appears in known_hosts and Machine.hostKey (no comment). */
  publicKey: string;
  /**
   * OpenSSH private key file text ("openssh-key-v1", unencrypted): what sshd reads as a HostKey.
   * It is the only format every sshd we target (OpenSSH 7.4 on CentOS 7 and later) reads for
   * Ed25519 host keys; PKCS#8 PEM is not.
   */
  privateKey: string;
}

/** A fresh Ed25519 key pair in OpenSSH formats; `comment` ends the private key file. */
export function generateHostKey(comment: string): HostKeyPair {
  const pair = utils.generateKeyPairSync("ed25519", { comment });
  // ssh2 ends the public line with the comment; ours is the type and the key only.
  const [type, key] = pair.public.split(" ");
  return { publicKey: `${type} ${key}`, privateKey: pair.private };
}
