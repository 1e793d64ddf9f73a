// The parsers against real output of every ScaleIO version found in public sources
// (test/fixtures/scli/README.md names the source of each file).
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { describe, expect, it } from "vitest";
import {
  allMdms,
  classifyFailure,
  parseDrvGuid,
  parseDrvQueryVols,
  parseLogin,
  parseQueryAll,
  parseQueryCluster,
  parseSdcs,
  parseSds,
  parseVolumes,
  vendorMessage,
} from "../../src/install/scli";
import { apiString } from "../../src/install/stages/gateway";

const DIR = join(__dirname, "..", "fixtures", "scli");
const fixture = (f: string) => readFileSync(join(DIR, f), "utf8");

describe("every fixture has a source in the README", () => {
  it("lists each file", () => {
    const readme = fixture("README.md");
    const files = readdirSync(DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(DIR, d.name)).map((f) => `${d.name}/${f}`));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(readme, `${f} has no source line`).toContain(`\`${f}\``);
  });
});

describe("--query_cluster across versions", () => {
  it("2.0: names, one IP each", () => {
    const c = parseQueryCluster(fixture("2.0/query_cluster.txt"));
    expect(c).toMatchObject({ mode: "3_node", state: "Normal", active: "3/3", replicas: "2/2" });
    expect(c.master).toMatchObject({
      name: "Manager2",
      id: "0x1ed68652078a0ab1",
      ips: ["10.0.0.12"],
    });
    expect(c.master?.version).toBe("2.0.5014");
    expect(c.slaves).toEqual([
      expect.objectContaining({ name: "Manager1", ips: ["10.0.0.11"], status: "Normal" }),
    ]);
    expect(c.tieBreakers).toEqual([
      expect.objectContaining({ name: "Tie-Breaker1", ips: ["10.0.0.13"], managementIps: [] }),
    ]);
    expect(c.standbys).toEqual([]);
  });
  it("2.0 with standby MDMs carrying a trailing role", () => {
    const c = parseQueryCluster(fixture("2.0/query_cluster-standby.txt"));
    expect(c.standbys.map((m) => [m.id, m.role, m.ips])).toEqual([
      ["0x0ce414fa06a17491", "Manager", ["192.168.0.5"]],
      ["0x74ccbc567622b992", "Tie Breaker", ["192.168.0.6"]],
    ]);
    expect(c.master?.name).toBe("192.168.0.4");
  });
  it("2.5: cluster name, virtual IPs, several IPs per MDM, no indentation", () => {
    const c = parseQueryCluster(fixture("2.5/query_cluster.txt"));
    expect(c).toMatchObject({ name: "sys1", mode: "5_node", active: "5/5", replicas: "3/3" });
    expect(c.virtualIps).toEqual(["192.168.50.21", "192.168.51.21", "203.0.113.99"]);
    expect(c.master).toMatchObject({
      name: "Manager1",
      ips: ["192.168.50.1", "192.168.51.1"],
      managementIps: ["203.0.113.91"],
      version: "2.5.0",
    });
    expect(c.slaves.map((m) => [m.name, m.status])).toEqual([
      ["Manager2", "Normal"],
      ["Manager3", "Degraded"],
      ["Manager4", "Not synchronized"],
      ["Manager5", "Error"],
      ["Manager6", "Disconnected"],
    ]);
    expect(c.standbys).toEqual([
      expect.objectContaining({
        name: "Standby1",
        role: "Manager",
        ips: ["192.168.50.7", "192.168.51.7"],
      }),
    ]);
    expect(c.tieBreakers).toEqual([
      expect.objectContaining({ name: "TB1", ips: ["192.168.50.3", "192.168.51.3"] }),
    ]);
  });
  it("3.6: only IDs, `IP Addresses` keys, extra Cluster lines (issue 11 case 1)", () => {
    const c = parseQueryCluster(fixture("3.6/query_cluster.txt"));
    expect(c).toMatchObject({ mode: "3_node", state: "Normal", virtualIps: [] });
    expect(c.master).toEqual({
      id: "0x7cbb59a95d6dcb00",
      ips: ["10.10.40.111"],
      managementIps: ["10.10.40.111"],
      status: "Normal",
      version: "3.6.2000",
    });
    expect(c.slaves.map((m) => [m.name, m.id, m.ips])).toEqual([
      [undefined, "0x5da2231a3f997601", ["10.10.40.112"]],
    ]);
    expect(c.tieBreakers.map((m) => [m.id, m.ips])).toEqual([
      ["0x77902c567cd74302", ["10.10.40.113"]],
    ]);
    expect(allMdms(c)).toHaveLength(3);
  });
  it("fails loudly on an answer that is no --query_cluster", () => {
    expect(() => parseQueryCluster(fixture("messages/unclustered-2.0.1.txt"))).toThrow(
      /no "Mode:"/,
    );
  });
});

describe("login line and messages", () => {
  it("roles of several versions, and a certificate block before the line", () => {
    expect(parseLogin(fixture("1.31/login.txt"))).toEqual({
      role: "Administrator",
      systemId: "4267f11a3b9d8194",
    });
    expect(parseLogin(fixture("2.0/login.txt"))?.systemId).toBe("78221ddb0dcff2f5");
    expect(parseLogin(fixture("3.6/login.txt"))).toEqual({
      role: "SuperUser",
      systemId: "60dda64f1574400f",
    });
    expect(parseLogin(fixture("messages/login-certificate-prompt.txt"))?.systemId).toBe(
      "58d7e0f3329b942d",
    );
  });
  it("an unclustered MDM (2.0 and 2.0.1+) means no cluster yet (issue 11 case 2)", () => {
    expect(classifyFailure(fixture("messages/unclustered-2.0.1.txt"))).toBe("no-cluster");
    expect(classifyFailure(fixture("messages/unclustered-2.0.txt"))).toBe("no-cluster");
    expect(vendorMessage(fixture("messages/unclustered-2.0.1.txt"))).toBe(
      "Error: MDM failed command.  Status: This MDM is not attached to a system.",
    );
  });
  it("a certificate question is its own failure, not a retry", () => {
    expect(
      classifyFailure("Press 'y' to approve this certificate and add it to the truststore"),
    ).toBe("certificate");
  });
});

describe("--query_all across versions", () => {
  it("1.30: two protection domains, name first, (Id: ...)", () => {
    expect(parseQueryAll(fixture("1.30/query_all.txt"))).toEqual({
      id: "58fb35f84aad17c8",
      name: "sys1",
      protectionDomains: [
        {
          id: "bfa8686b00000001",
          name: "pd2",
          pools: [{ id: "40515df200000001", name: "default" }],
        },
        {
          id: "bfa8686700000000",
          name: "myPDomain",
          pools: [
            { id: "40515df100000000", name: "default" },
            { id: "4051850300000002", name: "myPool" },
          ],
        },
      ],
    });
  });
  it("1.31: unnamed system", () => {
    const a = parseQueryAll(fixture("1.31/query_all.txt"));
    expect(a.id).toBe("4267f11a3b9d8194");
    expect(a.name).toBeUndefined();
    expect(a.protectionDomains).toEqual([
      {
        id: "ed5448c100000000",
        name: "pdomain",
        pools: [{ id: "92fd353300000000", name: "default" }],
      },
    ]);
  });
  it("2.0 as a monitoring script shows it (parentheses stripped); Manager ID is not the ID", () => {
    const a = parseQueryAll(fixture("2.0/query_all-after-sed.txt"));
    expect(a.id).toBe("78221ddb0dcff2f5");
    expect(a.protectionDomains).toEqual([
      {
        id: "073890cb00000000",
        name: "default",
        pools: [{ id: "08cd1e2100000000", name: "default" }],
      },
    ]);
  });
});

describe("--query_all_sds / _sdc / _volumes across versions", () => {
  it("SDS: 1.3x (IP:, no State), 2.0 (Joined IP without colon), 2.x", () => {
    const old = parseSds(fixture("1.3x/query_all_sds.txt"));
    expect(old).toHaveLength(6);
    expect(old[0]).toEqual({
      id: "f415b57100000002",
      name: "node40",
      ip: "10.0.1.40",
      protectionDomain: "PD-1",
      state: undefined,
    });
    expect(old[5].protectionDomain).toBe("PD-2");
    const v20 = parseSds(fixture("2.0/query_all_sds.txt"));
    expect(v20.map((d) => [d.name, d.state, d.ip, d.protectionDomain])).toEqual([
      ["SDS_[10.0.0.11]", "Connected", "10.0.0.11", "mydomain"],
      ["SDS_[10.0.0.12]", "Connected", "10.0.0.12", "mydomain"],
      ["SDS_[10.0.0.13]", "Connected", "10.0.0.13", "mydomain"],
    ]);
    expect(parseSds(fixture("2.x/query_all_sds.txt")).map((d) => [d.id, d.name, d.ip])).toEqual([
      ["cf538d1400000001", "mySDS-1", "192.168.56.111"],
      ["cf538d1300000000", "mySDS-2", "192.168.56.112"],
    ]);
    expect(() => parseSds("SDS ID: 1234 Name: x State: Connected")).toThrow(/no address/);
  });
  it("SDC: without names (1.3x) and with names and bandwidth lines (2.x)", () => {
    expect(parseSdcs(fixture("1.3x/query_all_sdc.txt"))[0]).toEqual({
      id: "5509377100000000",
      name: undefined,
      ip: "10.0.1.47",
      state: "Connected",
      guid: "2BCC6A51-C001-4F97-A721-0E10C69A82E7",
    });
    expect(parseSdcs(fixture("2.x/query_all_sdc.txt")).map((c) => [c.name, c.ip, c.state])).toEqual(
      [
        ["sdc1", "192.168.56.111", "Connected"],
        ["sdc21", "192.168.56.112", "Connected"],
        ["sdc3", "192.168.56.113", "Connected"],
      ],
    );
  });
  it("volumes: 2.x with pools and trailing spaces, empty, and the 1.30 layout", () => {
    expect(parseVolumes(fixture("2.x/query_all_volumes.txt"))).toEqual([
      expect.objectContaining({
        id: "d555c6ab00000000",
        name: "myVol",
        sizeGb: 24,
        mappedSdcs: 2,
        thin: true,
        storagePool: "myPool",
      }),
      expect.objectContaining({ id: "d555edbc00000001", name: "myVol2", storagePool: "myPool2" }),
      expect.objectContaining({
        id: "d555edbd00000002",
        name: "myVol3",
        mappedSdcs: 0,
        thin: false,
        protectionDomain: "myPDomain",
      }),
    ]);
    expect(parseVolumes(fixture("2.0/query_all_volumes-empty.txt"))).toEqual([]);
    expect(
      parseVolumes(fixture("2.0/query_all_volumes.txt")).map((v) => [v.name, v.mappedSdcs]),
    ).toEqual([
      ["volume1", 3],
      ["rexrayvol01", 0],
    ]);
    expect(parseVolumes(fixture("1.3x/query_all_volumes.txt"))).toEqual([
      expect.objectContaining({
        id: "e9e515a300000000",
        name: "ABC",
        storagePool: "Primary",
        sizeGb: 8,
        mappedSdcs: 0,
        protectionDomain: "PD-1",
      }),
      expect.objectContaining({ id: "e9e515a400000001", name: "unnamed", mappedSdcs: 0 }),
    ]);
  });
});

describe("drv_cfg and the gateway", () => {
  it("drv_cfg --query_vols", () => {
    expect(parseDrvQueryVols(fixture("1.31/drv_cfg-query_vols.txt"))).toEqual([
      { volumeId: "2f93fa7700000000", systemId: "4267f11a3b9d8194" },
    ]);
    expect(parseDrvQueryVols(fixture("1.31/drv_cfg-query_vols-empty.txt"))).toEqual([]);
  });
  it("drv_cfg --query_guid: the GUID alone, either case", () => {
    expect(parseDrvGuid(fixture("messages/drv_cfg-query_guid.txt"))).toBe(
      "271bad82-08ee-44f2-a2b1-7e2787c27be1",
    );
    expect(parseDrvGuid("185803B6-2F21-4AE7-ADF3-50EE85697CAF\n")).toBe(
      "185803b6-2f21-4ae7-adf3-50ee85697caf",
    );
    expect(parseDrvGuid("drv_cfg not found (is the SDC package installed?)")).toBeUndefined();
  });
  it("gateway version and token are JSON strings (read as the gateway stage reads them)", () => {
    const answer = (text: string) => {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text, as GatewayClient does
      }
      return apiString({ body, text });
    };
    expect(answer(fixture("gateway/version-3.0.txt"))).toBe("3.0");
    expect(answer(fixture("gateway/version-1.1.txt"))).toBe("1.1");
    expect(answer(fixture("gateway/login-token.txt"))).toBe(
      "YWRtaW46MTQ2NzM0NDA4OTc0NTo0MjZhYzBkYTdjNmMyNzA1Y2RiNDZkYjZjZjUzNzA2Mg",
    );
    expect(answer('{"message":"Unauthorized","httpStatusCode":401}')).toBeUndefined();
  });
});
