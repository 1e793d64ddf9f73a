import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseDockerProbe, volumePresenceScript } from "../../src/install/stages/docker";
import { apiString, mdmAddressesOf, missingManagers } from "../../src/install/stages/gateway";

describe("gateway answers", () => {
  it("takes the quoted token and version the gateway sends, and bare ones", () => {
    // The client JSON-parses bodies: a quoted string arrives unquoted.
    expect(apiString({ body: "YWRtaW46MTQ4", text: '"YWRtaW46MTQ4"' })).toBe("YWRtaW46MTQ4");
    expect(apiString({ body: "2.0", text: '"2.0"' })).toBe("2.0");
    // A version sent as a JSON number keeps its spelling (3.50 is not 3.5).
    expect(apiString({ body: 3.5, text: "3.50" })).toBe("3.50");
    // Twice quoted (a proxy re-encoding) or with a line break.
    expect(apiString({ body: '"abc"', text: '"\\"abc\\""' })).toBe("abc");
    expect(apiString({ body: "abc\n", text: "abc\n" })).toBe("abc");
    expect(apiString({ body: { message: "Unauthorized" }, text: "{}" })).toBeUndefined();
    expect(apiString({ body: "", text: "" })).toBeUndefined();
  });

  it("reads the MDM list from gatewayUser.properties and finds the managers it lacks", () => {
    const props =
      "# x\nmdm.ip.addresses=10.0.0.1;10.0.0.2\nsecurity.bypass_certificate_check=false\n";
    expect(mdmAddressesOf(props)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(mdmAddressesOf("mdm.ip.addresses = 10.0.0.1, 10.0.0.2")).toEqual([
      "10.0.0.1",
      "10.0.0.2",
    ]);
    expect(mdmAddressesOf("mdm.ip.addresses=")).toEqual([]);
    expect(mdmAddressesOf("other=1")).toBeUndefined();
    expect(missingManagers(["10.0.0.1"], ["10.0.0.1", "10.0.0.2"])).toEqual(["10.0.0.2"]);
    expect(missingManagers(["10.0.0.2", "10.0.0.1"], ["10.0.0.1", "10.0.0.2"])).toEqual([]);
    expect(missingManagers(undefined, ["10.0.0.1"])).toEqual(["10.0.0.1"]);
  });
});

describe("client side: the volume's by-id link", () => {
  const run = (script: string) => execFileSync("sh", ["-c", script], { encoding: "utf8" });

  it("a missing /dev/disk/by-id directory means 'not yet', not an error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-byid-"));
    try {
      const device = path.join(dir, "disk", "by-id", "emc-vol-1a2b3c4d5e6f7a8b-6e2b2b3400000000");
      const p = parseDockerProbe(run(volumePresenceScript(device) + "; true"));
      expect(p).toMatchObject({ present: false, real: "" });
      // The directory and a dangling link: still not yet.
      fs.mkdirSync(path.dirname(device), { recursive: true });
      fs.symlinkSync("../../scinia", device);
      expect(parseDockerProbe(run(volumePresenceScript(device) + "; true")).present).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
