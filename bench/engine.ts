// The real Pulumi engine's cost on top of the installer: on a 3-host lab `existing` stack, wall
// time of `pulumi preview`, of a no-op `pulumi up` and of `pulumi refresh`, next to the
// installer's own no-op run on the same hosts with the same spec (read from the stack's state),
// in the same run. The engine's share is what a no-op `up` costs beyond the installer's no-op.
// Every command is the CLI's own (the program runs through Pulumi's language host and runtime);
// the program's process is watched for its lifetime and peak memory.
import * as path from "node:path";
import type { InstallSpec } from "../src/install/spec";
import { initExistingStack, PulumiStack, resourceSummary } from "../test/support/pulumi-cli";
import type { Lab } from "../test/lab/hosts";
import { installInChild } from "./install";
import { probeProgram } from "./program-probe";
import { record } from "./report";

const PASSWORDS = { mdmPassword: "Bench-Engine-Mdm-1", gatewayPassword: "Bench-Engine-Gw-2" };

/** The install spec the stack's Verification step holds in state (decrypted; bench only). */
async function specFromState(stack: PulumiStack): Promise<InstallSpec> {
  const r = await stack.must(stack.cli(["stack", "export", "--show-secrets"]), "stack export");
  const resources = (
    JSON.parse(r.stdout) as {
      deployment: { resources: { type: string; outputs?: { spec?: unknown } }[] };
    }
  ).deployment.resources;
  const verify = resources.find((x) => x.type.endsWith(":Verification"));
  const spec = verify?.outputs?.spec as InstallSpec | { plaintext: string } | undefined;
  if (!spec) throw new Error("no Verification step with a spec in the stack's state");
  // Secret values export as {4dabf...: ..., plaintext: "<json>"} with --show-secrets.
  return "plaintext" in spec ? (JSON.parse(spec.plaintext) as InstallSpec) : spec;
}

/**
 * Installs the lab through the engine, then times preview / no-op up / refresh and the
 * installer's own no-op run, and records each figure. Destroys the stack at the end.
 */
export async function benchEngine(lab: Lab, rpmDir: string, tmp: string): Promise<void> {
  const stack = new PulumiStack(
    `benchengine${process.pid}`,
    path.join(tmp, "pulumi"),
    "bench-passphrase",
    () => undefined,
  );
  try {
    await initExistingStack(stack, lab, { rpmDir, ...PASSWORDS });
    const up = await stack.must(stack.cli(["up", "--yes"]), "pulumi up");
    console.log(`  pulumi up (full install through the engine): ${up.seconds.toFixed(1)} s`);
    const preview = await stack.must(stack.cli(["preview"]), "pulumi preview");
    const { result: noop, probe } = await probeProgram(() =>
      stack.must(stack.cli(["up", "--yes"]), "no-op pulumi up"),
    );
    // The same no-op up with Pulumi's type checking off: what compiling with checks costs.
    const unchecked = await stack.must(
      stack.cli(["up", "--yes"], undefined, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
      "no-op pulumi up without type checking",
    );
    const changed = Object.keys(resourceSummary(noop.stdout)).filter((k) => k !== "unchanged");
    if (changed.length > 0) console.log(`  WARNING: the no-op up reported ${changed.join(", ")}`);
    const refresh = await stack.must(stack.cli(["refresh", "--yes"]), "pulumi refresh");
    const installer = await installInChild(await specFromState(stack), "parallel", { tmp });
    const share = (noop.seconds - installer.durationMs / 1000) / noop.seconds;
    const vsInstaller = {
      name: "installer's own no-op run",
      value: installer.durationMs / 1000,
      unit: "s",
    };
    console.log(
      `  preview ${preview.seconds.toFixed(1)} s, no-op up ${noop.seconds.toFixed(1)} s, ` +
        `refresh ${refresh.seconds.toFixed(1)} s, installer no-op ${(installer.durationMs / 1000).toFixed(1)} s ` +
        `(${installer.commands} remote commands); engine share of the no-op up ${(share * 100).toFixed(0)}%`,
    );
    record({ name: "engine: pulumi up (full install)", value: up.seconds, unit: "s", hosts: 3 });
    record({
      name: "engine: pulumi preview",
      value: preview.seconds,
      unit: "s",
      comparison: vsInstaller,
      hosts: 3,
    });
    record({
      name: "engine: no-op pulumi up",
      value: noop.seconds,
      unit: "s",
      comparison: vsInstaller,
      hosts: 3,
      note: `engine share ${(share * 100).toFixed(0)}% (no-op up minus the installer's no-op, over the no-op up); the no-op up runs no installer step: diff() finds no change`,
    });
    record({
      name: "engine: the program's process during a no-op pulumi up",
      value: probe.liveSeconds,
      unit: "s",
      hosts: 3,
      note: `Pulumi's runtime compiling (ts-node, type checking on) and running src/index.ts, twice (preview, then update): ${((probe.liveSeconds / noop.seconds) * 100).toFixed(0)}% of the no-op up; the same up with PULUMI_NODEJS_TRANSPILE_ONLY=true took ${unchecked.seconds.toFixed(1)} s`,
    });
    record({
      name: "engine: peak memory of the program's process (no-op pulumi up)",
      value: Math.round(probe.peakMb),
      unit: "MB",
      hosts: 3,
      note: "VmHWM of the @pulumi/pulumi/cmd/run process; goal under 500 MB",
    });
    record({
      name: "engine: pulumi refresh",
      value: refresh.seconds,
      unit: "s",
      comparison: vsInstaller,
      hosts: 3,
    });
  } finally {
    await stack.cli(["destroy", "--yes"]);
    await stack.cli(["stack", "rm", "--yes", "--force"]);
  }
}
