// arrowhead:volumePlugin: false through the real program: no VolumePlugin resource, and the
// installer's inputs say the plugin is off (so no binary is built or uploaded).
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORDS, runProgram, type ProgramRun } from "./support/program";
import { isWireSecret, unwrapSecret } from "./support/secrets";

interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}

/** Resource name -> names of what it depends on, as the SDK sends them to the engine. */
const dependsOn = new Map<string, string[]>();
let watching = false;
/** Called at the first registration, once the mocks' monitor exists: wraps it to record. */
function watchDependencies(): void {
  if (watching) return;
  watching = true;
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    dependsOn.set(
      req.getName(),
      req.getDependenciesList().map((urn) => urn.split("::").pop()!),
    );
    return register(req, cb);
  };
}

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
      "dev",
      watchDependencies,
    );
  });

  it("registers no VolumePlugin resource, and Verification does not wait for one", () => {
    const kinds = run.resources
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/arrowhead:scaleio:"))
      .map((r) => r.type.split(":").pop());
    expect(kinds).toContain("DockerVolume");
    expect(kinds).not.toContain("VolumePlugin");
    // What Verification waits for: the cluster-wide steps, the gateway and every DockerVolume
    // (and HostPrep, whose host keys it reads), nothing named after the plugin.
    const verify = dependsOn.get("scaleio-verify");
    expect(verify).toEqual(expect.arrayContaining(["scaleio-storage", "scaleio-docker-node1"]));
    expect(verify!.filter((n) => /plugin/i.test(n))).toEqual([]);
    // With the plugin on (the unit tests of install-resources), it waits for volume-plugin-*.
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
    // A stack of the old keys (no storagePools): the spec has no storage tier fields at all.
    for (const k of ["storagePools", "dockerVolumePool", "volumePluginPool"])
      expect(k in (spec as object), k).toBe(false);
  });
});
