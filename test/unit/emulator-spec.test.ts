// The emulator's package definitions and scli output formats, checked without root or network.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseVersion, renderSpec, rpmFileName, scriptlets, unitFile } from "../emulator/spec";

describe("emulator package names", () => {
  it("follows the vendor's pattern, gateway without a dist tag", () => {
    expect(rpmFileName("mdm", "2.0-14000.231", "el7")).toBe(
      "EMC-ScaleIO-mdm-2.0-14000.231.el7.x86_64.rpm",
    );
    expect(rpmFileName("sdc", "3.6-700.103", "el8")).toBe(
      "EMC-ScaleIO-sdc-3.6-700.103.el8.x86_64.rpm",
    );
    expect(rpmFileName("gateway", "3.6-700.103", "el8")).toBe(
      "EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm",
    );
  });

  it("rejects malformed and 1.3x versions", () => {
    expect(() => parseVersion("3.6")).toThrow(/not of the form <major>.<minor>-<build>.<patch>/);
    expect(() => rpmFileName("mdm", "1.32-2451.4", "el7")).toThrow(/only 2.x and 3.x/);
  });
});

describe("emulator install scripts", () => {
  it("checks the vendor's install-time variables in %pre, where a failure stops the install", () => {
    expect(scriptlets("mdm").pre).toMatch(/MDM_ROLE_IS_MANAGER is not set/);
    expect(scriptlets("lia").pre).toMatch(/TOKEN is not set/);
    expect(scriptlets("gateway").pre).toMatch(/GATEWAY_ADMIN_PASSWORD is not set/);
    expect(scriptlets("sdc").pre).toMatch(/MDM_IP=\$MDM_IP is not a comma-separated list/);
    expect(scriptlets("sds").pre).not.toMatch(/is not set/);
  });

  it("refuses erase without I_AM_SURE=1 but not an upgrade", () => {
    const preun = scriptlets("sds").preun;
    expect(preun).toMatch(/if \[ "\$1" = 0 \]; then\n {2}if \[ "\$I_AM_SURE" != 1 \]/);
  });

  it("starts services only where systemd runs", () => {
    expect(scriptlets("sdc").post).toMatch(
      /if \[ -d \/run\/systemd\/system \] .*\n {2}systemctl daemon-reload\n {2}systemctl enable scini.service/,
    );
    expect(unitFile("gateway")).toMatch(/ExecStart=\/opt\/emc\/scaleio\/gateway\/bin\/gateway/);
  });

  it("lays the SDC's driver-sync files where automation edits them, the conf kept on upgrade", () => {
    const spec = renderSpec({
      component: "sdc",
      version: "3.6-700.103",
      dist: "el7",
      stagedRoot: "/tmp/x",
      files: [
        "/bin/emc/scaleio/scini_sync/driver_sync.conf",
        "/bin/emc/scaleio/scini_sync/verify_driver.sh",
      ],
      dirs: ["/bin/emc/scaleio/scini_sync"],
    });
    expect(spec).toMatch(
      /^%config\(noreplace\) \/bin\/emc\/scaleio\/scini_sync\/driver_sync\.conf$/m,
    );
    expect(spec).toMatch(/^\/bin\/emc\/scaleio\/scini_sync\/verify_driver\.sh$/m);
  });

  it("renders a spec with lua scriptlets, no automatic requirements, and the emulator summary", () => {
    const spec = renderSpec({
      component: "mdm",
      version: "2.0-14000.231",
      dist: "el7",
      stagedRoot: "/tmp/x",
      files: ["/usr/bin/scli"],
      dirs: ["/opt/emc/scaleio/mdm"],
    });
    expect(spec).toMatch(/^Name: EMC-ScaleIO-mdm\nVersion: 2\.0\nRelease: 14000\.231\.el7\n/);
    expect(spec).toMatch(/Summary: Arrowhead test emulator/);
    expect(spec).toMatch(/AutoReqProv: no/);
    expect(spec).toMatch(/%pre -p <lua>/);
    expect(spec).not.toMatch(/^Requires/m);
  });
});

describe("scli output formats", () => {
  const lib = path.join(__dirname, "..", "emulator", "python");
  const state = {
    system: { id: "1b4455d9c41e502a", name: "lab", version: "2.0-14000.231" },
    mode: "3_node",
    members: [
      {
        id: "0xa1",
        name: "mdm1",
        ips: ["10.0.0.1"],
        mgmt_ips: ["10.0.0.1"],
        manager: true,
        role: "master",
      },
      {
        id: "0xa2",
        name: "mdm2",
        ips: ["10.0.0.2"],
        mgmt_ips: ["10.0.0.2"],
        manager: true,
        role: "slave",
      },
      { id: "0xa3", name: "tb1", ips: ["10.0.0.3"], mgmt_ips: [], manager: false, role: "tb" },
    ],
    up: { "0xa1": true, "0xa2": true, "0xa3": false },
  };
  const format = (fn: string, s: unknown) =>
    execFileSync(
      "python3",
      [
        "-c",
        `import json,sys; from scaleio_emu import scli; print(scli.${fn}(json.load(sys.stdin)))`,
      ],
      {
        env: { ...process.env, PYTHONPATH: lib },
        input: JSON.stringify(s),
      },
    ).toString();

  it("prints --query_cluster like 2.x, Degraded with a member down", () => {
    expect(format("fmt_cluster", state)).toBe(
      [
        "Cluster:",
        "    Name: lab, Mode: 3_node, State: Degraded, Active: 2/3, Replicas: 2/2",
        "    Virtual IPs: N/A",
        "Master MDM:",
        "    Name: mdm1, ID: 0xa1",
        "        IPs: 10.0.0.1, Management IPs: 10.0.0.1, Port: 9011, Virtual IP interfaces: N/A",
        "        Version: 2.0.14000",
        "Slave MDMs:",
        "    Name: mdm2, ID: 0xa2",
        "        IPs: 10.0.0.2, Management IPs: 10.0.0.2, Port: 9011, Virtual IP interfaces: N/A",
        "        Status: Normal, Version: 2.0.14000",
        "Tie-Breakers:",
        "    Name: tb1, ID: 0xa3",
        "        IPs: 10.0.0.3, Port: 9011",
        "        Status: Disconnected, Version: 2.0.14000",
        "",
      ].join("\n"),
    );
    const normal = { ...state, up: { "0xa1": true, "0xa2": true, "0xa3": true } };
    expect(format("fmt_cluster", normal)).toMatch(
      /^Cluster:\n {4}Name: lab, Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2\n/,
    );
  });

  it("prints volumes in the --query_all_volumes form", () => {
    const s = {
      ...state,
      pds: [{ id: "pd01", name: "pd1" }],
      pools: [{ id: "sp01", name: "sp1", pd: "pd01" }],
      volumes: [
        {
          id: "v01",
          name: "vol1",
          size_gb: 8,
          pool: "sp01",
          thin: false,
          mapped: ["s1", "s2", "s3"],
        },
      ],
    };
    expect(format("fmt_all_volumes", s)).toBe(
      "Query-all-volumes returned 1 volumes\nProtection Domain pd01 Name: pd1\nStorage Pool sp01 Name: sp1\n" +
        // 2.0.1 and later end volume lines with a space and each pool with a blank line.
        " Volume ID: v01 Name: vol1 Size: 8.0 GB (8192 MB) Mapped to 3 SDC Thick-provisioned \n\n",
    );
  });
});
