// The volume stage's diagnosis when an SDC does not register with the MDM: each missing host
// is asked for its SDC GUID (drv_cfg --query_guid) and compared with the MDM's SDC list
// (real 2.x --query_all_sdc layout), so "registered under another address" is told apart
// from "not registered at all".
import { readFileSync } from "fs";
import { join } from "path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InstallContext } from "../../src/install/context";
import type { RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import { ensureVolumes } from "../../src/install/stages/volumes";
import type { Machine } from "../../src/machine";
import { fail, ok, ScriptedHosts } from "./support/scripted-hosts";

const fixture = (f: string) => readFileSync(join(__dirname, "..", "fixtures", "scli", f), "utf8");

const machine = (i: number, mdm: Machine["mdm"]): Machine => ({
  name: `node${i}`,
  mdm,
  services: ["sds", "sdc", "docker"],
  sshHost: "127.0.0.1",
  sshPort: 22,
  sshUser: "root",
  publicAddress: `10.0.0.${i}`,
  privateAddress: `10.0.0.${i}`,
  dataDisks: ["/dev/vdb"],
  os: "centos7",
});

afterEach(() => {
  vi.useRealTimers();
});

describe("SDCs that do not register", () => {
  it("names the address an SDC registered under, or that it has no GUID", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const spec = {
      machines: [machine(1, "master"), machine(2, "slave"), machine(3, "tiebreaker")],
      mdmPassword: "Lab-Mdm-Pw1",
      gatewayPassword: "Gw-pass1",
      privateKey: "unused",
    } as InstallSpec;
    const asked: string[] = [];
    const hosts = new ScriptedHosts((host, command) => {
      asked.push(`${host}: ${command.includes("--query_guid") ? "guid" : "sdc"}`);
      if (command.includes("--query_all_sdc")) return ok(fixture("2.x/query_all_sdc.txt"));
      if (command.includes("--query_guid") && host === "node2")
        return ok("40841B43-06BC-4521-B7A4-3F9F8F727EC2\n");
      if (command.includes("--query_guid"))
        return fail(127, "", "drv_cfg not found (is the SDC package installed?)");
      throw new Error(`unexpected command ${command}`);
    });
    const rpms = { dialect: "2.x" } as RpmSet;
    const ctx = new InstallContext(spec, rpms, { log: () => undefined }, hosts);
    ctx.scliLogins.set("node1", "60dda64f1574400f");
    const p = ensureVolumes(ctx, ["node2", "node3"]).catch((e: unknown) => e as Error);
    for (let t = 0; t < 200_000; t += 5000) await vi.advanceTimersByTimeAsync(5000);
    const e = await p;
    if (!(e instanceof Error)) throw new Error("expected the volume stage to fail");
    expect(e.message).toMatch(
      /^\[node1\] DockerVolume: timed out after 180 s: the SDCs to register with the MDM; not registered: /,
    );
    expect(e.message).toContain(
      "node2 (10.0.0.2): its SDC (GUID 40841b43-06bc-4521-b7a4-3f9f8f727ec2) registered as 192.168.56.112",
    );
    expect(e.message).toContain("node3 (10.0.0.3): drv_cfg --query_guid printed no GUID");
    expect(asked).toContain("node2: guid");
    expect(asked).toContain("node3: guid");
  });
});
