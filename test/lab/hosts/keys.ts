// SSH keys: one client key per lab (root and centos accept it on every host) and one host key
// per host, generated at lab start so tests can pin it.
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./run";

export async function generateKey(file: string, comment: string): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  fs.chmodSync(file, 0o600);
  return publicKeyOf(file);
}

/** "ssh-ed25519 AAAA..." (type and key, no comment) of a key pair's public half. */
export function publicKeyOf(file: string): string {
  const [type, blob] = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/);
  return `${type} ${blob}`;
}
