// Issue 11 on lab hosts: one full install per scli output layout the emulator prints (2.0,
// 2.0.1+, 2.5, 3.x, from the published samples in test/fixtures/scli), each followed by a re-run
// that must change nothing; long host names that share their first 31 characters; the master
// moving to the new manager in the middle of the build; and an mdmPassword the MDM would refuse,
// reported at once, after which a corrected run resumes the half-built cluster.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import { type Lab, startLab } from "./hosts";
import { labInstallSpec } from "./spec";
import { InstallContext } from "../../src/install/context";
import { rpmsFor, runInstall, type InstallResult } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import {
  allMdms,
  objectName,
  parseQueryCluster,
  parseSds,
  parseVolumes,
  STDIN_CLOSED,
} from "../../src/install/scli";

const MDM_PASSWORD = "Fmt11-Mdm-Pw1";

/** 32 characters each; cut at 31 all three were "storage-node-01-rack12-example-". */
const LONG_NAMES = ["a", "b", "c"].map((x) => `storage-node-01-rack12-example-${x}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmt11-"));
const labs: Lab[] = [];
afterAll(async () => {
  for (const l of labs) await l.down().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function setUp(
  name: string,
  version: string,
  hostNames?: string[],
): Promise<{ lab: Lab; spec: InstallSpec }> {
  const rpmDir = path.join(tmp, version);
  await buildEmulatorRpms({ version, dist: "el7", outDir: rpmDir });
  const lab = await startLab({ name, hosts: 3, os: "centos7", hostNames });
  labs.push(lab);
  const spec = labInstallSpec(lab, {
    rpmDir,
    clusterName: "fmt11",
    mdmPassword: MDM_PASSWORD,
    gatewayPassword: "Fmt11-Gw-Pw2",
  });
  return { lab, spec };
}

const install = (spec: InstallSpec): Promise<InstallResult> =>
  runInstall(spec, { log: () => undefined });

/** What the MDM itself lists, asked from the slave host (never through the installer). */
async function mdmView(lab: Lab, spec: InstallSpec, query: string): Promise<string> {
  const ips = spec.machines
    .slice(0, 2)
    .map((m) => m.privateAddress)
    .join(",");
  const host = spec.machines[1].name;
  const r = await lab.exec(
    host,
    `scli --login --username admin --password ${MDM_PASSWORD} --mdm_ip ${ips} --approve_certificate >/dev/null && scli ${query} --mdm_ip ${ips} --approve_certificate`,
  );
  if (r.code !== 0)
    throw new Error(`${host}: scli ${query}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function expectComplete(lab: Lab, spec: InstallSpec, r: InstallResult): Promise<void> {
  expect(r.cluster).toMatchObject({ mode: "3_node", state: "Normal" });
  expect(Object.keys(r.verification!.docker).sort()).toEqual(
    spec.machines.map((m) => m.name).sort(),
  );
  expect(r.verification!.gatewayLogin).toBe(true);
  // The MDM's own view, through the same parsers: every MDM by address, every SDS, every volume.
  const c = parseQueryCluster(await mdmView(lab, spec, "--query_cluster"));
  expect(
    allMdms(c)
      .flatMap((m) => m.ips)
      .sort(),
  ).toEqual(spec.machines.map((m) => m.privateAddress).sort());
  const sds = parseSds(await mdmView(lab, spec, "--query_all_sds"));
  expect(sds.map((d) => d.ip).sort()).toEqual(spec.machines.map((m) => m.privateAddress).sort());
  const vols = parseVolumes(await mdmView(lab, spec, "--query_all_volumes"));
  expect(vols.filter((v) => v.mappedSdcs === 1)).toHaveLength(3);
}

describe("one install per scli layout, each re-run a no-op", () => {
  // layout_of() in the emulator: 2.0 (build < 10000), 2.0.1 (2.0 build >= 10000, 2.5), 3.
  for (const [i, version] of [
    "2.0-5014.0",
    "2.0-14000.231",
    "2.5-0.254",
    "3.6-700.103",
  ].entries()) {
    it(`ScaleIO ${version}`, async () => {
      const { lab, spec } = await setUp(`fmt11v${i}`, version);
      const t = Date.now();
      const first = await install(spec);
      const firstS = (Date.now() - t) / 1000;
      await expectComplete(lab, spec, first);
      const again = await install(spec);
      expect(again.changes).toEqual([]);
      console.log(
        `fmt11 ${version}: install ${firstS.toFixed(0)} s, re-run ${(again.durationMs / 1000).toFixed(0)} s`,
      );
      await lab.down();
    });
  }
});

describe("issue 11 cases on lab hosts", () => {
  it("long host names sharing 31 characters: distinct valid MDM, SDS and volume names", async () => {
    const { lab, spec } = await setUp("fmt11n", "3.6-700.103", LONG_NAMES);
    await expectComplete(lab, spec, await install(spec));
    const names = (await mdmView(lab, spec, "--query_all_sds")).match(/Name: (\S+)/g) ?? [];
    const want = LONG_NAMES.map((n) => objectName(n));
    expect(new Set(want).size).toBe(3);
    for (const n of want) {
      expect(n.length).toBeLessThanOrEqual(31);
      expect(names).toContain(`Name: ${n}`);
    }
    const vols = parseVolumes(await mdmView(lab, spec, "--query_all_volumes")).map((v) => v.name);
    expect(new Set(vols).size).toBe(3);
    expect((await install(spec)).changes).toEqual([]);
    await lab.down();
  });

  it("the master moves to the new manager during the build; the install still completes", async () => {
    const { lab, spec } = await setUp("fmt11m", "2.0-14000.231");
    const master = spec.machines[0].name;
    const knob = await lab.exec(
      master,
      "mkdir -p /etc/scaleio-emu && echo master_moves_on_add_standby=1 > /etc/scaleio-emu/knobs",
    );
    expect(knob.code).toBe(0);
    const r = await install(spec);
    await expectComplete(lab, spec, r);
    const c = parseQueryCluster(await mdmView(lab, spec, "--query_cluster"));
    // The emulator really moved it: the master is no longer the first node.
    expect(c.master?.ips).toEqual([spec.machines[1].privateAddress]);
    await lab.exec(master, "rm -f /etc/scaleio-emu/knobs");
    expect((await install(spec)).changes).toEqual([]);
    await lab.down();
  });

  it("an mdmPassword with a space: the user is told at once, then a corrected run resumes", async () => {
    const { lab, spec } = await setUp("fmt11p", "2.0-5014.0");
    const stages: Record<string, number> = {};
    const bad = { ...spec, mdmPassword: "Fmt11 Mdm Pw1" };
    const e = await runInstall(bad, {
      log: () => undefined,
      beforeStep: (_h, st) => {
        stages[st] ??= Date.now();
      },
    }).catch((x: unknown) => x as Error);
    const failedAt = Date.now();
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(
      new RegExp(
        `\\[${spec.machines[0].name}\\] MdmCluster: mdmPassword cannot be set on the MDM: it contains a space; the MDM requires 6-31 characters, no spaces`,
      ),
    );
    expect((e as Error).message).not.toContain("Fmt11 Mdm Pw1");
    // At once: well under the 180 s the old retry loop hid it behind.
    expect(failedAt - stages.MdmCluster).toBeLessThan(30_000);
    console.log(
      `fmt11 mdmPassword with a space: reported ${failedAt - stages.MdmCluster} ms after the cluster step began`,
    );
    // The cluster exists now with the default password; the corrected run takes it from there.
    await expectComplete(lab, spec, await install(spec));
    await lab.down();
  });

  it("scli never waits on the certificate question: it ends at once with a clear error", async () => {
    const { lab, spec } = await setUp("fmt11c", "3.6-700.103");
    await expectComplete(lab, spec, await install(spec));
    // The tie-breaker host never ran scli: its root user has approved no MDM certificate, so
    // the emulator asks y/n as the real scli does (messages/login-certificate-prompt.txt).
    const ctx = new InstallContext(spec, rpmsFor(spec), { log: () => undefined });
    const tb = spec.machines[2].name;
    const ips = spec.machines
      .slice(0, 2)
      .map((m) => m.privateAddress)
      .join(",");
    try {
      for (const line of [
        `scli --query_cluster --mdm_ip ${ips} ${STDIN_CLOSED}`,
        // Even without the redirect our transport gives scli no input (stdin ends at once).
        `scli --query_cluster --mdm_ip ${ips}`,
      ]) {
        const t = Date.now();
        const r = await ctx.scliRun(tb, "MdmCluster", { line, secrets: [] });
        expect(Date.now() - t).toBeLessThan(15_000);
        expect(r.ok).toBe(false);
        expect(r.failure).toBe("certificate");
        expect(ctx.scliError(tb, "MdmCluster", { line, secrets: [] }, r).message).toMatch(
          new RegExp(
            `^\\[${tb}\\] MdmCluster: scli --query_cluster .* failed \\(exit 1\\): .*not trusted.*approve the MDM certificate`,
          ),
        );
      }
      // With --approve_certificate, as every command of ours carries it, the same host answers.
      const ok = await ctx.scliRun(tb, "MdmCluster", ctx.scli.queryCluster());
      expect(ok.failure).not.toBe("certificate");
    } finally {
      ctx.close();
    }
    await lab.down();
  });
});
