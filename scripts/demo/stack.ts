// The demo stack: an `existing` stack (stacks/Pulumi.existing.yaml's settings) whose hosts are
// the lab's, reached on the demo's loopback ports, with the emulator's packages as rpmDir.
// Passwords are generated here and go to Pulumi on stdin as secrets; they are never printed.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { REPO, stackFile } from "./paths";
import { mustPulumi, type Pulumi } from "./pulumi";

/** What the stack needs to know about one lab host. */
export interface DemoHost {
  name: string;
  sshPort: number;
  privateAddress: string;
  hostKey: string;
  dataDisks: string[];
}

/**
 * A password the MDM accepts (names.ts: 6-31 characters, no spaces, 3 of 4 classes): 24
 * characters, 96 random bits, every class present, only [A-Za-z0-9_-] (nothing a shell or
 * YAML reads specially).
 */
export function generatePassword(): string {
  return `Demo-${crypto.randomBytes(12).toString("base64url")}-9x`;
}

/** The stack file's config: the example's settings with the demo's hosts and paths. */
export function demoConfig(o: {
  hosts: DemoHost[];
  rpmDir: string;
  repoUrl: string;
  publicKey: string;
}): Record<string, unknown> {
  const example = YAML.parse(
    fs.readFileSync(path.join(REPO, "stacks", "Pulumi.existing.yaml"), "utf8"),
  ) as { config: Record<string, unknown> };
  return {
    ...example.config,
    "arrowhead:hosts": o.hosts.map((h) => ({
      name: h.name,
      address: "127.0.0.1",
      port: h.sshPort,
      privateAddress: h.privateAddress,
      user: "root",
      hostKey: h.hostKey,
      dataDisks: h.dataDisks,
    })),
    "arrowhead:rpmDir": o.rpmDir,
    // The lab's yum repository stands in for vault.centos.org (the hosts have no internet).
    "arrowhead:centos7VaultUrl": `${o.repoUrl.replace(/\/$/, "")}/vault`,
    "arrowhead:dockerVolumeSizeGb": 8,
    "arrowhead:sshPublicKey": o.publicKey,
  };
}

/** Writes the stack file's config, keeping what Pulumi wrote (salt, secrets). */
export function writeStackConfig(config: Record<string, unknown>): void {
  const file = stackFile();
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const doc = (YAML.parse(text) ?? {}) as { config?: Record<string, unknown> };
  doc.config = { ...(doc.config ?? {}), ...config };
  fs.writeFileSync(
    file,
    "# The `npm run demo` stack (not committed): lab hosts, emulated ScaleIO.\n" +
      YAML.stringify(doc),
    { mode: 0o600 },
  );
}

/**
 * `pulumi stack init demo`, the stack file, then the secrets through `pulumi config set
 * --secret` on stdin: two generated passwords and the lab's SSH key (read from `keyFile`).
 */
export async function initStack(
  p: Pulumi,
  config: Record<string, unknown>,
  keyFile: string,
  logFile: string,
): Promise<void> {
  fs.rmSync(stackFile(), { force: true });
  await mustPulumi(p, ["stack", "init", "demo"], { logFile, noStack: true });
  writeStackConfig(config);
  const secrets: [string, string][] = [
    ["arrowhead:mdmPassword", generatePassword()],
    ["arrowhead:gatewayPassword", generatePassword()],
    ["arrowhead:sshPrivateKey", fs.readFileSync(keyFile, "utf8")],
  ];
  for (const [key, value] of secrets) {
    await mustPulumi(p, ["config", "set", "--secret", key], { input: value, logFile });
  }
}
