// What our dynamic providers hand the engine must survive protobuf's Struct conversion.
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { describe, expect, it } from "vitest";
import { structSafe } from "../../src/dynamic-provider";

describe("structSafe", () => {
  it("drops undefined members at any depth and keeps everything else", () => {
    const outs = {
      name: "node2",
      gatewayPort: undefined,
      hostKeys: { node1: "ssh-ed25519 AAAA", node2: undefined },
      disks: ["/dev/vdb", undefined],
      changes: 0,
      adopted: false,
      nothing: null,
    };
    expect(structSafe(outs)).toEqual({
      name: "node2",
      hostKeys: { node1: "ssh-ed25519 AAAA" },
      disks: ["/dev/vdb", null],
      changes: 0,
      adopted: false,
      nothing: null,
    });
  });

  it("turns what protobuf refuses into what it accepts", () => {
    const outs = { dockerRootDir: undefined, spec: { vaultUrl: undefined } };
    expect(() => Struct.fromJavaScript(outs as never)).toThrow(/Unexpected struct type/);
    expect(Struct.fromJavaScript(structSafe(outs) as never).toJavaScript()).toEqual({ spec: {} });
  });
});
