// The dynamic provider's read (pulumi refresh) and diff around it: the drift a probe finds goes
// into the outputs and, so that `pulumi preview` can name it, the inputs; a resource with drift
// is a change for the next `up`, whose outputs carry none; no drift, no input change. The probe
// is replaced here (its own tests are install-observe.test.ts); the hosts are never reached.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { InstallSpec } from "../../src/install/spec";
import { diff, read, type StepOutputs } from "../../src/install/provider";

const found = vi.hoisted(() => ({
  drift: [] as string[],
  outputs: undefined as undefined | Record<string, string>,
  seen: [] as { host: string; keys: Record<string, string> | undefined; stored: unknown }[],
}));
vi.mock("../../src/install/observe", () => ({
  observeWith: async (spec: InstallSpec, _probe: unknown, host: string, stored: unknown) => {
    found.seen.push({ host, keys: spec.pinnedHostKeys, stored });
    return { drift: found.drift, outputs: found.outputs };
  },
}));

const spec = {
  machines: [{ name: "node1", mdm: "master", services: ["sds"], privateAddress: "10.0.0.1" }],
  mdmPassword: "Read-Mdm-Pw1",
} as unknown as InstallSpec;
const state: StepOutputs = {
  kind: "VolumePlugin",
  host: "node1",
  spec,
  pinnedHostKeys: { node1: "ssh-ed25519 AAAApinned" },
  hostKeys: { node2: "ssh-ed25519 AAAAother" },
  changes: 0,
};

beforeEach(() => {
  found.drift = [];
  found.outputs = undefined;
  found.seen = [];
});

describe("read (pulumi refresh)", () => {
  it("no drift: the state as it was, the stored inputs kept, the pinned keys verified", async () => {
    const r = await read("VolumePlugin:node1", state);
    expect(r).toEqual({ id: "VolumePlugin:node1", props: state });
    expect(found.seen[0].keys).toEqual({
      node1: "ssh-ed25519 AAAApinned",
      node2: "ssh-ed25519 AAAAother",
    });
  });

  it("drift: in the outputs and the inputs (which preview compares), the spec untouched", async () => {
    found.drift = [
      "node1: the volume plugin is not running (scaleio-volume-plugin.service inactive)",
    ];
    const r = await read("VolumePlugin:node1", state);
    expect(r.props).toEqual({ ...state, drift: found.drift });
    expect(r.inputs).toEqual({
      kind: "VolumePlugin",
      host: "node1",
      spec,
      pinnedHostKeys: state.pinnedHostKeys,
      drift: found.drift,
    });
    // The next up runs the stage again; its outputs have no drift, so the up after is a no-op.
    expect(diff(r.props, { kind: "VolumePlugin", host: "node1", spec })).toEqual({ changes: true });
    expect(diff(state, { kind: "VolumePlugin", host: "node1", spec })).toEqual({ changes: false });
  });

  it("drift gone by the next refresh: outputs and inputs lose it", async () => {
    const r = await read("x", { ...state, drift: ["node1: not answering over SSH"] });
    expect(r.props).toEqual(state);
    expect(r.inputs).toEqual({
      kind: "VolumePlugin",
      host: "node1",
      spec,
      pinnedHostKeys: state.pinnedHostKeys,
    });
  });

  it("the cluster's mode and state read now replace the stored ones", async () => {
    found.outputs = { clusterMode: "3_node", clusterState: "Degraded" };
    const r = await read("MdmCluster:node1", {
      ...state,
      kind: "MdmCluster",
      clusterMode: "3_node",
      clusterState: "Normal",
    });
    expect(r.props.clusterState).toBe("Degraded");
    expect(found.seen[0].stored).toMatchObject({ clusterState: "Normal" });
  });
});
