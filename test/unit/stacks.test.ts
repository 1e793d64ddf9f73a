// The example stacks are what users copy: each must pass validation as shipped (with the
// secrets they tell the user to set).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readSpec, type RawConfig } from "../../src/config";

const dir = join(__dirname, "../../stacks");
/** The examples the project ships: one per cloud. Stacks a user, the demo or a test made beside them are theirs. */
const EXAMPLES = ["aws", "azure", "digitalocean", "existing", "gcp", "local"];
const files = readdirSync(dir).filter((f) =>
  EXAMPLES.some((cloud) => f === `Pulumi.${cloud}.yaml`),
);

function rawFrom(config: Record<string, unknown>, secrets: string[]): RawConfig {
  const value = (k: string) => config[`arrowhead:${k}`];
  return {
    get: (k) => {
      const v = value(k);
      return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
    },
    getObject: <T>(k: string) => value(k) as T | undefined,
    has: (k) => secrets.includes(k),
  };
}

describe("stacks/", () => {
  it("has one example per cloud", () => {
    expect(files.sort()).toEqual(
      ["aws", "azure", "digitalocean", "existing", "gcp", "local"].map((c) => `Pulumi.${c}.yaml`),
    );
  });

  it.each(files)("%s is valid once the secrets it names are set", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const secrets = [...text.matchAll(/config set --secret arrowhead:(\w+)/g)].map((m) => m[1]);
    expect(secrets).toEqual(expect.arrayContaining(["mdmPassword", "gatewayPassword"]));
    const config = (parse(text) as { config: Record<string, unknown> }).config;
    const stack = file.split(".")[1];
    if (stack === "existing") {
      // Its host keys are placeholders the user must replace: validation must say so, per host.
      expect(() => readSpec(rawFrom(config, secrets), stack)).toThrow(
        /hosts\[0\]\.hostKey: the host's SSH public key is required[\s\S]*hosts\[2\]\.hostKey/,
      );
      for (const host of config["arrowhead:hosts"] as { hostKey: string }[]) {
        host.hostKey =
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOz0Pm5oEgBdnrvx4zzQhGp9VQ8zvW6ZX1Dfg0bHsVqk";
      }
      config["arrowhead:sshPublicKey"] =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOz0Pm5oEgBdnrvx4zzQhGp9VQ8zvW6ZX1Dfg0bHsVqk me";
    }
    const spec = readSpec(rawFrom(config, secrets), stack);
    expect(spec.cloud).toBe(stack);
    // The commented storage tiers example, once uncommented (with what its comment says to
    // change), is valid too.
    const tiers = commentedTiers(text);
    if (!tiers) return;
    if (stack === "local") config["arrowhead:sdsDisks"] = { count: 2, sizeGb: 100 };
    if (stack === "existing")
      for (const host of config["arrowhead:hosts"] as { dataDisks: string[] }[])
        host.dataDisks = ["/dev/sdb", "/dev/sdc"];
    const tiered = readSpec(rawFrom({ ...config, ...tiers }, secrets), stack);
    expect(tiered.storagePools?.map((p) => [p.name, p.mediaType])).toEqual([
      ["fast", "SSD"],
      ["capacity", "HDD"],
    ]);
    expect([tiered.dockerVolumePool, tiered.volumePluginPool]).toEqual(["fast", "capacity"]);
  });

  it("the local and existing examples show storage tiers", () => {
    for (const stack of ["local", "existing"])
      expect(commentedTiers(readFileSync(join(dir, `Pulumi.${stack}.yaml`), "utf8"))).toBeDefined();
  });
});

/** The commented `arrowhead:storagePools` ... `arrowhead:volumePluginPool` block, uncommented. */
function commentedTiers(text: string): Record<string, unknown> | undefined {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^ {2}# arrowhead:storagePools:/.test(l));
  const end = lines.findIndex((l) => /^ {2}# arrowhead:volumePluginPool:/.test(l));
  if (start < 0 || end < start) return undefined;
  const yaml = lines
    .slice(start, end + 1)
    .map((l) => l.replace(/^ {2}# /, ""))
    .join("\n");
  return parse(yaml) as Record<string, unknown>;
}
