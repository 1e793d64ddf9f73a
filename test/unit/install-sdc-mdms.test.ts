// The SDC's MDM list follows the cluster's managers (issue 20, day 2): the HostPackages stage
// reads the running driver's list (`drv_cfg --query_mdms`) and the config file's `mdm` line,
// changes each that differs with `drv_cfg --mod_mdm_ip` (live, then `--file`), changes nothing
// when both match, and the read-only probe names the difference. Run on the scripted runner
// against a fake SDC host that applies the commands it is sent.
import { describe, expect, it } from "vitest";
import { InstallContext } from "../../src/install/context";
import { observeHostPackages } from "../../src/install/observe/hosts";
import type { RpmFile, RpmSet } from "../../src/install/rpms";
import { modMdmIp, parseDrvCfgMdmLines, parseDrvQueryMdms } from "../../src/install/scli";
import type { InstallSpec } from "../../src/install/spec";
import { installPackages } from "../../src/install/stages/packages";
import { clusterList, sdcMdmPlan } from "../../src/install/stages/sdc-mdms";
import type { Machine } from "../../src/machine";
import { testMachine } from "./support/machines";
import { fail, ok, ScriptedHosts } from "./support/scripted-hosts";

const CONF = "/etc/emc/scaleio/drv_cfg.txt";
const machine = (i: number, mdm: Machine["mdm"]) => testMachine(i, mdm, ["sds", "sdc"]);
// 5_node: the managers are the master and both slaves (tie-breakers are not managers).
const spec = {
  machines: [
    machine(1, "master"),
    machine(2, "slave"),
    machine(3, "slave"),
    machine(4, "tiebreaker"),
    machine(5, "tiebreaker"),
  ],
  privateKey: "unused",
  os: "centos7",
  rpmDir: "/rpms",
  mdmPassword: "Sdc-Mdm-Pw1",
  gatewayPassword: "Sdc-Gw-Pw1",
} as unknown as InstallSpec;
const MANAGERS = "10.0.0.1,10.0.0.2,10.0.0.3";
const VR = "3.6-700.103.el7";
const rpm = (c: string): RpmFile =>
  ({
    name: `EMC-ScaleIO-${c}`,
    versionRelease: VR,
    file: `${c}.rpm`,
    path: `/rpms/${c}.rpm`,
  }) as RpmFile;
const rpms = {
  dialect: "3.x",
  dist: "el7",
  dir: "/rpms",
  packages: { mdm: rpm("mdm"), sds: rpm("sds"), sdc: rpm("sdc") },
} as unknown as RpmSet;

const queryMdms = (ips: string[]) =>
  `Retrieved 1 mdm(s)\nMDM-ID 78221ddb0dcff2f5 SDC ID b69b74c900000005 INSTALLATION ID ` +
  `78221ddb0dcff2f5 IPs ${ips.map((ip, i) => `[${i}]-${ip}`).join(" ")}\n`;

/** `systemctl show` of each unit the command names, enabled and active. */
const runningUnits = (command: string) =>
  [...command.matchAll(/(\S+)\.service/g)]
    .map((u) => `Id=${u[1]}.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n`)
    .join("\n");

/** A fake node5 (tie-breaker, SDC) with every package at VR, whose SDC applies --mod_mdm_ip. */
function sdcHost(
  live: string[] | undefined,
  file: string[],
  opts: { readOnly?: boolean; ignoreMod?: boolean } = {},
) {
  const st = { live, file };
  const hosts = new ScriptedHosts((_h, c) => {
    if (c.startsWith("rpm -q"))
      return ok(["mdm", "sds", "sdc"].map((x) => `EMC-ScaleIO-${x} ${VR}`).join("\n"));
    if (c.startsWith("sed -n")) return ok("0\n");
    const mod = /--mod_mdm_ip --ip ([\d.]+) --new_mdm_ip ([\d.,]+)( --file)?/.exec(c);
    if (mod) {
      if (opts.ignoreMod) return ok();
      if (mod[3]) st.file = mod[2].split(",");
      else st.live = mod[2].split(",");
      return ok();
    }
    if (c.includes("--query_mdms"))
      return st.live
        ? ok(queryMdms(st.live))
        : fail(1, "", "drv_cfg: cannot talk to the scini driver");
    if (c.startsWith("for f in")) return ok(`file ${CONF}\nmdm ${st.file.join(",")}\n`);
    // Its ScaleIO services all run (stages/services.ts reads, changes nothing).
    if (c.startsWith("systemctl show")) return ok(runningUnits(c));
    throw new Error(`unexpected ${c}`);
  });
  const ctx = new InstallContext(
    spec,
    rpms,
    { log: () => undefined, readOnly: opts.readOnly },
    hosts,
  );
  return { st, hosts, ctx };
}
const mods = (hosts: ScriptedHosts) =>
  hosts.asked.map((a) => a.command).filter((c) => c.includes("--mod_mdm_ip"));

describe("drv_cfg's MDM list: parsers and the command", () => {
  it("reads --query_mdms lines, 'Retrieved 0', and nothing from other output", () => {
    expect(parseDrvQueryMdms(queryMdms(["10.0.0.1", "10.0.0.2"]))).toEqual([
      ["10.0.0.1", "10.0.0.2"],
    ]);
    expect(parseDrvQueryMdms("Retrieved 0 mdm(s)\n")).toEqual([]);
    expect(parseDrvQueryMdms("drv_cfg not found (is the SDC package installed?)")).toBeUndefined();
  });

  it("reads the config file's mdm lines, one list each", () => {
    expect(
      parseDrvCfgMdmLines(`file ${CONF}\n## Generated\nmdm 10.0.0.1,10.0.0.2\nmdm 10.9.0.1\n`),
    ).toEqual([["10.0.0.1", "10.0.0.2"], ["10.9.0.1"]]);
  });

  it("builds --mod_mdm_ip live and with --file, and refuses anything but IP addresses", () => {
    expect(modMdmIp("10.0.0.1", ["10.0.0.1", "10.0.0.2"])).toMatch(
      /"\$d" --mod_mdm_ip --ip 10\.0\.0\.1 --new_mdm_ip 10\.0\.0\.1,10\.0\.0\.2; }$/,
    );
    expect(modMdmIp("10.0.0.1", ["10.0.0.2"], CONF)).toMatch(
      /--new_mdm_ip 10\.0\.0\.2 --file \/etc\/emc\/scaleio\/drv_cfg\.txt; }$/,
    );
    expect(() => modMdmIp("10.0.0.1", ["10.0.0.2;reboot"])).toThrow(
      /"10\.0\.0\.2;reboot" is not an IP address/,
    );
    expect(() => modMdmIp("$(id)", ["10.0.0.2"])).toThrow(/not an IP address/);
    expect(() => modMdmIp("10.0.0.1", ["10.0.0.2"], "/tmp/x")).toThrow(/not an SDC config file/);
  });

  it("picks this cluster's list among several (the one sharing an address, else the only one)", () => {
    const want = MANAGERS.split(",");
    expect(clusterList([["10.9.0.1"], ["10.0.0.2", "10.0.0.7"]], want)).toEqual([
      "10.0.0.2",
      "10.0.0.7",
    ]);
    expect(clusterList([["10.9.0.1"]], want)).toEqual(["10.9.0.1"]);
    expect(clusterList([["10.9.0.1"], ["10.9.0.2"]], want)).toBeUndefined();
    expect(sdcMdmPlan({ live: [], file: CONF, fileLines: [want] }, want).problems).toEqual([
      "its SDC driver knows no MDM of this cluster",
    ]);
  });
});

describe("HostPackages keeps the SDC's MDM list", () => {
  it("changes nothing when the driver and the file already hold the managers", async () => {
    const { hosts, ctx } = sdcHost(MANAGERS.split(","), MANAGERS.split(","));
    expect(await installPackages(ctx, "node5")).toEqual({ installed: [] });
    expect(mods(hosts)).toEqual([]);
    expect(ctx.changes).toEqual([]);
  });

  it("3 -> 5: tells the running driver, then its config file, each from the IP it knows", async () => {
    const { st, hosts, ctx } = sdcHost(["10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2"]);
    await installPackages(ctx, "node5");
    const m = mods(hosts);
    expect(m).toHaveLength(2);
    expect(m[0]).toMatch(
      /--mod_mdm_ip --ip 10\.0\.0\.1 --new_mdm_ip 10\.0\.0\.1,10\.0\.0\.2,10\.0\.0\.3; }$/,
    );
    expect(m[1]).toMatch(
      /--mod_mdm_ip --ip 10\.0\.0\.1 --new_mdm_ip 10\.0\.0\.1,10\.0\.0\.2,10\.0\.0\.3 --file \/etc\/emc\/scaleio\/drv_cfg\.txt; }$/,
    );
    expect(ctx.changes.map((c) => c.command)).toEqual(m);
    expect(st).toEqual({ live: MANAGERS.split(","), file: MANAGERS.split(",") });
    // A second run reads and changes nothing.
    const again = sdcHost(st.live, st.file);
    await installPackages(again.ctx, "node5");
    expect(again.ctx.changes).toEqual([]);
  });

  it("5 -> 3 with only the file behind (killed half-way): the file alone is fixed", async () => {
    const { st, ctx } = sdcHost(MANAGERS.split(","), [
      "10.0.0.1",
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.6",
      "10.0.0.7",
    ]);
    await installPackages(ctx, "node5");
    expect(ctx.changes).toHaveLength(1);
    expect(ctx.changes[0].command).toContain("--file /etc/emc/scaleio/drv_cfg.txt");
    expect(st.file).toEqual(MANAGERS.split(","));
  });

  it("a driver that does not answer gets no live change; its file still does", async () => {
    const { st, ctx } = sdcHost(undefined, ["10.0.0.1"]);
    await installPackages(ctx, "node5");
    expect(ctx.changes).toHaveLength(1);
    expect(st.file).toEqual(MANAGERS.split(","));
  });

  it("fails, naming what differs, when the change does not take", async () => {
    const { ctx } = sdcHost(["10.0.0.1"], MANAGERS.split(","), { ignoreMod: true });
    await expect(installPackages(ctx, "node5")).rejects.toThrow(
      /\[node5\] HostPackages: drv_cfg --mod_mdm_ip did not take: its SDC knows MDMs 10\.0\.0\.1 \(want 10\.0\.0\.1,10\.0\.0\.2,10\.0\.0\.3\)/,
    );
  });
});

describe("the HostPackages probe (pulumi refresh)", () => {
  it("names an SDC whose list differs, live and in its file; read-only", async () => {
    const { hosts, ctx } = sdcHost(["10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2", "10.0.0.9"], {
      readOnly: true,
    });
    expect((await observeHostPackages(ctx, "node5")).drift).toEqual([
      `node5: its SDC knows MDMs 10.0.0.1,10.0.0.2; the cluster's managers are ${MANAGERS}`,
      `node5: its SDC config file ${CONF} lists MDMs 10.0.0.1,10.0.0.2,10.0.0.9; the cluster's managers are ${MANAGERS}`,
    ]);
    expect(mods(hosts)).toEqual([]);
  });

  it("finds nothing when both match", async () => {
    const { ctx } = sdcHost(MANAGERS.split(","), MANAGERS.split(","), { readOnly: true });
    expect((await observeHostPackages(ctx, "node5")).drift).toEqual([]);
  });
});
