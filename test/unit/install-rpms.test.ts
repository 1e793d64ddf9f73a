import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import {
  dialectOf,
  expectedName,
  parseRpmName,
  parseVendorName,
  selectRpms,
} from "../../src/install/rpms";

const ALL = { components: ["mdm", "sds", "sdc", "lia", "gateway"] as const };
const need = { components: [...ALL.components] };

let dirs: string[] = [];
function dirWith(files: string[]): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ah-rpms-"));
  dirs.push(d);
  for (const f of files) fs.writeFileSync(path.join(d, f), "x");
  return d;
}
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const set = (v: string, b: string, dist: string) => [
  `EMC-ScaleIO-mdm-${v}-${b}.${dist}.x86_64.rpm`,
  `EMC-ScaleIO-sds-${v}-${b}.${dist}.x86_64.rpm`,
  `EMC-ScaleIO-sdc-${v}-${b}.${dist}.x86_64.rpm`,
  `EMC-ScaleIO-lia-${v}-${b}.${dist}.x86_64.rpm`,
  `EMC-ScaleIO-gateway-${v}-${b}.x86_64.rpm`,
];

describe("parseRpmName", () => {
  it("reads the vendor names of every version seen", () => {
    expect(parseRpmName("EMC-ScaleIO-mdm-2.0-14000.231.el7.x86_64.rpm")).toMatchObject({
      component: "mdm",
      name: "EMC-ScaleIO-mdm",
      version: "2.0",
      build: "14000.231",
      dist: "el7",
      arch: "x86_64",
      versionRelease: "2.0-14000.231.el7",
    });
    expect(parseRpmName("EMC-ScaleIO-sdc-3.6-700.103.el8.x86_64.rpm")).toMatchObject({
      version: "3.6",
      dist: "el8",
    });
    expect(parseRpmName("EMC-ScaleIO-gateway-2.0-14000.231.x86_64.rpm")).toMatchObject({
      component: "gateway",
      dist: null,
      versionRelease: "2.0-14000.231",
    });
    expect(parseRpmName("EMC-ScaleIO-gateway-1.32-2451.4.noarch.rpm")).toMatchObject({
      arch: "noarch",
      version: "1.32",
    });
    expect(parseRpmName("EMC-ScaleIO-tb-1.31-1277.3.el7.x86_64.rpm")).toMatchObject({
      component: "tb",
      build: "1277.3",
    });
    expect(parseRpmName("EMC-ScaleIO-mgmt-server-3.5-1.2.noarch.rpm")).toMatchObject({
      component: "mgmt-server",
    });
    expect(parseRpmName("EMC-ScaleIO-mdm-2.5-0.254.el7.x86_64.rpm")).toMatchObject({
      build: "0.254",
    });
  });
  it("rejects other names", () => {
    expect(parseRpmName("EMC-ScaleIO-mdm.rpm")).toBeUndefined();
    expect(parseRpmName("EMC-ScaleIO-mdm-2.0-14000.231.el7.i686.rpm")).toBeUndefined();
    expect(parseRpmName("EMC-ScaleIO-mdm-2.0-14000.231.fc30.x86_64.rpm")).toBeUndefined();
  });
  it("reads the vendor names of other distributions (to set them aside)", () => {
    expect(parseVendorName("EMC-ScaleIO-sdc-2.0-14000.231.sle12.2.x86_64.rpm")).toEqual({
      component: "sdc",
      version: "2.0",
      build: "14000.231",
      platform: "sle12.2",
      arch: "x86_64",
      ext: "rpm",
    });
    expect(parseVendorName("EMC-ScaleIO-sdc-2.0-5014.0.Ubuntu.14.04.x86_64.deb")).toMatchObject({
      build: "5014.0",
      platform: "Ubuntu.14.04",
      ext: "deb",
    });
    expect(parseVendorName("EMC-ScaleIO-gateway-2.0-14000.231.x86_64.rpm")?.platform).toBeNull();
    expect(parseRpmName("EMC-ScaleIO-sdc-2.0-14000.231.sle12.2.x86_64.rpm")).toBeUndefined();
    expect(parseVendorName("EMC-ScaleIO-sdc.msi")).toBeUndefined();
  });
  it("maps versions to dialects", () => {
    expect(dialectOf("1.32")).toBe("1.3x");
    expect(dialectOf("2.6")).toBe("2.x");
    expect(dialectOf("3.6")).toBe("3.x");
  });
});

describe("selectRpms", () => {
  it("picks the set for the OS, ignoring other files and the other dist", () => {
    const d = dirWith([
      ...set("3.6", "700.103", "el7"),
      ...set("3.6", "700.103", "el8").slice(0, 4),
      "README.md",
    ]);
    const s = selectRpms(d, "rocky8", need);
    expect(s.dialect).toBe("3.x");
    expect(s.dist).toBe("el8");
    expect(s.packages.mdm?.file).toBe("EMC-ScaleIO-mdm-3.6-700.103.el8.x86_64.rpm");
    expect(s.packages.gateway?.file).toBe("EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm");
    expect(path.isAbsolute(s.packages.sds!.path)).toBe(true);
    expect(selectRpms(d, "centos7", need).packages.sdc?.dist).toBe("el7");
  });
  it("fails on a missing directory, naming it and the README", () => {
    expect(() => selectRpms("/nonexistent/rpms", "centos7", need)).toThrow(
      /\/nonexistent\/rpms does not exist.*README/,
    );
  });
  it("fails on an empty directory", () => {
    expect(() => selectRpms(dirWith(["README.md"]), "centos7", need)).toThrow(
      /no ScaleIO packages/,
    );
  });
  it("fails on a missing role package, naming the expected file", () => {
    const d = dirWith(set("2.0", "14000.231", "el7").filter((f) => !f.includes("-sds-")));
    expect(() => selectRpms(d, "centos7", need)).toThrow(
      /missing .*EMC-ScaleIO-sds-2\.0-14000\.231\.el7\.x86_64\.rpm/,
    );
  });
  it("fails on a missing gateway only when a node runs one", () => {
    const d = dirWith(set("2.0", "14000.231", "el7").filter((f) => !f.includes("gateway")));
    expect(() => selectRpms(d, "centos7", need)).toThrow(
      /EMC-ScaleIO-gateway-2\.0-14000\.231\.x86_64\.rpm/,
    );
    expect(selectRpms(d, "centos7", { components: ["mdm", "sds", "sdc"] }).version).toBe("2.0");
  });
  it("accepts different builds of different components of one release, with a warning", () => {
    const files = set("2.0", "14000.231", "el7");
    files[1] = "EMC-ScaleIO-sds-2.0-12000.122.el7.x86_64.rpm";
    const s = selectRpms(dirWith(files), "centos7", need);
    expect(s.version).toBe("2.0");
    expect(s.build).toBe("14000.231");
    expect(s.packages.sds?.versionRelease).toBe("2.0-12000.122.el7");
    expect(s.notes).toHaveLength(1);
    expect(s.notes[0]).toMatch(
      /^warning: the ScaleIO 2\.0 packages carry different builds \(14000\.231: gateway, lia, mdm, sdc; 12000\.122: sds\); accepted/,
    );
  });
  it("case 5: a 1.32 bundle whose gateway and sdc carry different builds is one release", () => {
    const d = dirWith([
      "EMC-ScaleIO-mdm-1.32-403.2.el7.x86_64.rpm",
      "EMC-ScaleIO-tb-1.32-403.2.el7.x86_64.rpm",
      "EMC-ScaleIO-sds-1.32-403.2.el7.x86_64.rpm",
      "EMC-ScaleIO-sdc-1.32-403.2.el7.x86_64.rpm",
      "EMC-ScaleIO-gateway-1.32-402.1.noarch.rpm",
    ]);
    const s = selectRpms(d, "centos7", {
      components: ["mdm", "sds", "sdc", "gateway"],
      tiebreaker: true,
    });
    expect(s.dialect).toBe("1.3x");
    expect(s.packages.gateway?.file).toBe("EMC-ScaleIO-gateway-1.32-402.1.noarch.rpm");
    expect(s.packages.sdc?.file).toBe("EMC-ScaleIO-sdc-1.32-403.2.el7.x86_64.rpm");
    expect(s.packages.tb?.build).toBe("403.2");
    expect(s.notes).toEqual([
      expect.stringMatching(/different builds \(402\.1: gateway; 403\.2: mdm, sdc, sds, tb\)/),
    ]);
  });
  it("refuses two releases (major.minor), naming the files of each", () => {
    const files = [...set("2.0", "14000.231", "el7"), "EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm"];
    expect(() => selectRpms(dirWith(files), "centos7", need)).toThrow(
      /mixes ScaleIO versions[\s\S]*2\.0: EMC-ScaleIO-gateway-2\.0[\s\S]*3\.6: EMC-ScaleIO-sdc-3\.6-700\.103\.el7\.x86_64\.rpm/,
    );
  });
  it("refuses two builds of the same component, naming both files", () => {
    const files = [
      ...set("2.0", "14000.231", "el7"),
      "EMC-ScaleIO-sds-2.0-12000.122.el7.x86_64.rpm",
    ];
    expect(() => selectRpms(dirWith(files), "centos7", need)).toThrow(
      /more than one build of the same ScaleIO component[\s\S]*sds: EMC-ScaleIO-sds-2\.0-12000\.122\.el7\.x86_64\.rpm, EMC-ScaleIO-sds-2\.0-14000\.231\.el7\.x86_64\.rpm/,
    );
  });
  it("case 4: SLES and Ubuntu builds beside the el7 set are set aside with one line", () => {
    const sles = "EMC-ScaleIO-sdc-2.0-14000.231.sle12.2.x86_64.rpm";
    const deb = "EMC-ScaleIO-sdc-2.0-5014.0.Ubuntu.14.04.x86_64.deb";
    for (const extra of [[sles], [deb], [sles, deb]]) {
      const s = selectRpms(dirWith([...set("2.0", "14000.231", "el7"), ...extra]), "centos7", need);
      expect(s.packages.sdc?.file).toBe("EMC-ScaleIO-sdc-2.0-14000.231.el7.x86_64.rpm");
      expect(s.notes).toEqual([
        `ignoring ${extra.length} file(s) for another OS or distribution (the stack's OS centos7 uses el7): ${extra.sort().join(", ")}`,
      ]);
    }
  });
  it("sets aside components the stack never installs and other installers of a bundle", () => {
    const extra = [
      "EMC-ScaleIO-gui-2.0-14000.231.noarch.rpm",
      "EMC-ScaleIO-callhome-1.32-403.2.el7.x86_64.rpm",
      "EMC-ScaleIO-xcache-2.0-14000.231.el7.x86_64.rpm",
      "EMC-ScaleIO-mgmt-server-3.5-1.2.noarch.rpm",
      "EMC-ScaleIO-sdc-2.0-14000.231.esx6.0.zip",
      "EMC-ScaleIO-sdc-2.0-14000.231.el7.x86_64.rpm.sha256",
      "EMC-ScaleIO-mdm-2.0-14000.231.el6.x86_64.rpm",
    ];
    const s = selectRpms(dirWith([...set("2.0", "14000.231", "el7"), ...extra]), "centos7", need);
    expect(s.version).toBe("2.0");
    expect(s.notes).toEqual([
      "ignoring 1 file(s) for another OS or distribution (the stack's OS centos7 uses el7): EMC-ScaleIO-mdm-2.0-14000.231.el6.x86_64.rpm",
      "ignoring 4 package(s) of components this stack never installs (callhome, gui, mgmt-server, xcache): " +
        "EMC-ScaleIO-callhome-1.32-403.2.el7.x86_64.rpm, EMC-ScaleIO-gui-2.0-14000.231.noarch.rpm, " +
        "EMC-ScaleIO-mgmt-server-3.5-1.2.noarch.rpm, EMC-ScaleIO-xcache-2.0-14000.231.el7.x86_64.rpm",
      "ignoring 2 file(s) that are not RPM or DEB packages (other platforms' installers, archives, checksums): " +
        "EMC-ScaleIO-sdc-2.0-14000.231.el7.x86_64.rpm.sha256, EMC-ScaleIO-sdc-2.0-14000.231.esx6.0.zip",
    ]);
  });
  it("a single clean set has no notes", () => {
    expect(selectRpms(dirWith(set("3.6", "700.103", "el7")), "centos7", need).notes).toEqual([]);
  });
  it("fails when the packages are for another OS, naming both", () => {
    expect(() => selectRpms(dirWith(set("3.6", "700.103", "el8")), "centos7", need)).toThrow(
      /built for el8.*centos7 needs el7/,
    );
    expect(() => selectRpms(dirWith(set("3.6", "700.103", "el8")), "rocky9", need)).toThrow(
      /no el9 packages/,
    );
  });
  it("fails when a package exists only for the other OS", () => {
    const files = [
      ...set("3.6", "700.103", "el7").filter((f) => !f.includes("-sdc-")),
      "EMC-ScaleIO-sdc-3.6-700.103.el8.x86_64.rpm",
    ];
    expect(() => selectRpms(dirWith(files), "centos7", need)).toThrow(
      /EMC-ScaleIO-sdc-3\.6-700\.103\.el7.*only for another OS: EMC-ScaleIO-sdc-3\.6-700\.103\.el8/,
    );
  });
  it("fails on two builds of one component and on unreadable EMC names", () => {
    expect(() =>
      selectRpms(
        dirWith([...set("2.0", "14000.231", "el7"), "EMC-ScaleIO-mdm-renamed.rpm"]),
        "centos7",
        need,
      ),
    ).toThrow(/cannot read the version of EMC-ScaleIO-mdm-renamed.rpm/);
  });
  it("needs the tb package with 1.3x and a tie-breaker, not with 2.x", () => {
    const d13 = dirWith([
      "EMC-ScaleIO-mdm-1.32-2451.4.el7.x86_64.rpm",
      "EMC-ScaleIO-sds-1.32-2451.4.el7.x86_64.rpm",
      "EMC-ScaleIO-sdc-1.32-2451.4.el7.x86_64.rpm",
    ]);
    expect(() =>
      selectRpms(d13, "centos7", { components: ["mdm", "sds", "sdc"], tiebreaker: true }),
    ).toThrow(/EMC-ScaleIO-tb-1\.32-2451\.4\.el7\.x86_64\.rpm/);
    const d2 = dirWith(set("2.0", "14000.231", "el7"));
    expect(
      selectRpms(d2, "centos7", { components: ["mdm", "sds", "sdc"], tiebreaker: true }).packages
        .tb,
    ).toBeUndefined();
  });
  it("expectedName follows the vendor pattern", () => {
    expect(expectedName("gateway", "1.32", "2451.4", "el7")).toBe(
      "EMC-ScaleIO-gateway-1.32-2451.4.noarch.rpm",
    );
    expect(expectedName("mdm", "3.6", "700.103", "el8")).toBe(
      "EMC-ScaleIO-mdm-3.6-700.103.el8.x86_64.rpm",
    );
  });
});
