// Storage tiers through the real program: the pools of `storagePools` and the pool choices reach
// the installer's spec (a stack of the old keys: program-volume-plugin-off.test.ts).
import { describe, expect, it } from "vitest";
import { PASSWORDS, runProgram } from "./support/program";
import { unwrapSecret } from "./support/secrets";

const AWS = {
  cloud: "aws",
  allowedCidr: "203.0.113.7/32",
  aws: { region: "eu-west-1" },
  volumePlugin: false,
};

async function storageSpec(values: Record<string, unknown>): Promise<Record<string, unknown>> {
  const run = await runProgram({ ...AWS, ...values }, PASSWORDS, "dev");
  const step = run.resources.find((r) => r.type.endsWith("arrowhead:scaleio:StorageLayout"))!;
  return unwrapSecret(step.inputs.spec) as Record<string, unknown>;
}

describe("storage tiers in the program", () => {
  it("hands the installer the pools, the Docker volume pool and the first pool as storagePool", async () => {
    const spec = await storageSpec({
      sdsDisks: { count: 2, sizeGb: 100 },
      storagePools: [
        { name: "fast", mediaType: "SSD", disks: [1] },
        { name: "capacity", mediaType: "HDD", disks: [2] },
      ],
      dockerVolumePool: "capacity",
    });
    expect(spec).toMatchObject({
      storagePool: "fast",
      mediaType: "SSD",
      dockerVolumePool: "capacity",
      storagePools: [
        { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1] },
        { name: "capacity", mediaType: "HDD", protectionDomain: "pd1", disks: [2] },
      ],
    });
    expect("volumePluginPool" in spec).toBe(false);
  });
});
