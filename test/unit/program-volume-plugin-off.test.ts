// arrowhead:volumePlugin: false through the real program: no VolumePlugin resource, and the
// installer's inputs say the plugin is off (so no binary is built or uploaded).
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";
import { isWireSecret, unwrapSecret } from "./support/secrets";

describe("stack with the volume plugin turned off", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(
      {
        cloud: "aws",
        allowedCidr: "203.0.113.7/32",
        aws: { region: "eu-west-1" },
        volumePlugin: false,
      },
      PASSWORDS,
    );
  });

  it("registers no VolumePlugin resource, and Verification does not wait for one", () => {
    const kinds = run.resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/arrowhead:scaleio:"))
      .map((r) => r.type.split(":").pop());
    expect(kinds).toContain("DockerVolume");
    expect(kinds).not.toContain("VolumePlugin");
  });

  it("hands the installer a spec (a secret) with the plugin off and no binary", () => {
    const step = run.resources.find((r) => r.type.endsWith("arrowhead:scaleio:DockerVolume"))!;
    expect(isWireSecret(step.inputs.spec)).toBe(true);
    const spec = unwrapSecret(step.inputs.spec) as {
      volumePlugin?: boolean;
      volumePluginBinary?: unknown;
    };
    expect(spec.volumePlugin).toBe(false);
    expect(spec.volumePluginBinary).toBeUndefined();
  });
});
