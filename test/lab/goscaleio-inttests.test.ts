// Dell's goscaleio integration tests (inttests/ of the goscaleio version driver/go.mod requires),
// built unchanged, run one test per process against the emulator's gateway on three installed
// lab hosts. Every test of what this project uses (MUST_PASS in
// test/emulator/goscaleio-inttests.ts) must pass without any call hitting a missing endpoint
// (an HTTP 404 in the gateway's log during that test); the others are printed with the reason
// they are out of scope, and what they did.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import {
  buildInttests,
  BASE_VOLUME_PY,
  CLEANUP_PY,
  IDS_PY,
  MUST_PASS,
  outOfScope,
  testFiles,
} from "../emulator/goscaleio-inttests";
import { type Lab, startLab } from "./hosts";
import { netnsOf } from "./hosts/paths";
import { labSh, requireRoot } from "./fixtures";
import { labInstallSpec } from "./spec";
import { runInstall } from "../../src/install/runner";

requireRoot();

const run = promisify(execFile);
const LAB = "gsint";
// goscaleio's NewGateway (run by the inttests' init) skips the 4.x login only for a "3.5"
// gateway: any other version needs POST /rest/auth/login, which 2.x/3.x gateways do not have.
const VERSION = "3.5-1100.104";
const MDM_PASSWORD = "Gs-Mdm-Pw1";
const GATEWAY_PASSWORD = "Gs-Gw-Pw2";
const CLUSTER = "gsint";
const TEST_TIMEOUT_S = 60;

type Outcome = "PASS" | "FAIL" | "SKIP" | "PANIC" | "TIMEOUT" | "NOT RUN";
interface Result {
  test: string;
  file: string;
  outcome: Outcome;
  missing: string[]; // gateway log lines of calls answered 404 (no such endpoint)
  firstError: string;
}

describe("goscaleio's integration tests against the emulator's gateway", () => {
  let lab: Lab;
  let tmp: string;
  let binary: string;
  let sourceDir: string;
  let env: NodeJS.ProcessEnv;
  const results: Result[] = [];
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  /** Runs a Python program on node1 with the MDM password in $GS_PASSWORD; its stdout. */
  const py = (code: string, ...args: string[]) =>
    sh(
      "node1",
      `echo ${Buffer.from(code).toString("base64")} | base64 -d > /tmp/gs.py && ` +
        `GS_PASSWORD='${MDM_PASSWORD}' python3 /tmp/gs.py ${args.join(" ")}`,
    );

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ah-gsint-"));
    ({ binary, sourceDir } = buildInttests(tmp));
    const rpmDir = path.join(tmp, "rpms");
    await buildEmulatorRpms({ version: VERSION, dist: "el7", outDir: rpmDir });
    lab = await startLab({
      name: LAB,
      hosts: 3,
      os: "centos7",
      dataDisks: { count: 2, sizeGb: 120 },
    });
    const spec = labInstallSpec(lab, {
      rpmDir,
      clusterName: CLUSTER,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      machine: (i) => ({
        roles: {
          mdm: (["master", "slave", "tiebreaker"] as const)[i],
          services: i === 0 ? ["sds", "sdc", "lia", "gateway"] : ["sds", "sdc"],
        },
      }),
    });
    // node1's second disk stays free, at the path the device tests add (/dev/sdc).
    spec.machines[0].dataDisks = spec.machines[0].dataDisks.slice(0, 1);
    await runInstall({ ...spec, volumePlugin: false }, { log: () => {} });
    const free = lab.hosts[0].dataDisks[1];
    await sh("node1", `mknod /dev/sdc b $(stat -c '0x%t 0x%T' ${free}) && chmod 600 /dev/sdc`);
    const node1 = lab.hosts[0].privateAddress;
    // The VTree tests read the first VTree there is: a system in use has volumes.
    await py(BASE_VOLUME_PY);
    const ids = JSON.parse(await py(IDS_PY, node1)) as {
      system: string;
      sds: string;
      installId: string;
    };
    env = {
      PATH: process.env.PATH,
      GOSCALEIO_ENDPOINT: `https://${node1}:443`,
      GOSCALEIO_USERNAME: "admin",
      GOSCALEIO_PASSWORD: MDM_PASSWORD,
      GOSCALEIO_INSECURE: "true",
      GOSCALEIO_HTTP_TIMEOUT: "60",
      GOSCALEIO_PROTECTIONDOMAIN: "pd1",
      GOSCALEIO_STORAGEPOOL: "sp1",
      GOSCALEIO_SYSTEMNAME: CLUSTER,
      GOSCALEIO_INSTALLATIONID: ids.installId,
      GOSCALEIO_SYSTEMID: ids.system,
      GOSCALEIO_SDSID: ids.sds,
      GOSCALEIO_MDMIP: node1,
      GOSCALEIO_MDMPASSWORD: MDM_PASSWORD,
      GATEWAY_ENDPOINT: `https://${node1}:443`,
      GATEWAY_USERNAME: "admin",
      GATEWAY_PASSWORD: GATEWAY_PASSWORD,
      GATEWAY_INSECURE: "true",
    };
  });

  afterAll(async () => {
    await lab?.down();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Gateway log lines so far (journald), to cut out what one test caused. */
  const gatewayLog = async () =>
    (await sh("node1", "journalctl -u scaleio-gateway --no-pager -o cat")).split("\n");

  /** Runs one test in its own process in the lab's network; its outcome and its 404s. */
  async function runOne(test: string, file: string, clean: boolean): Promise<Result> {
    if (clean) await py(CLEANUP_PY);
    const before = (await gatewayLog()).length;
    const args = ["netns", "exec", netnsOf(LAB), binary, "-test.v", "-test.run", `^${test}$`];
    args.push("-test.timeout", `${TEST_TIMEOUT_S}s`);
    const out = await run("ip", args, { cwd: tmp, env, maxBuffer: 1 << 26 }).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ""}${e.stderr ?? ""}`,
    );
    // A 404 under /api/types or /api/instances is an endpoint the emulator lacks (README,
    // "Other types"); tests also ask for made-up URLs on purpose (/api/badurl/willnotwork).
    const missing = (await gatewayLog())
      .slice(before)
      .filter((l) => /"[A-Z]+ \/api\/(types|instances)\/\S* HTTP\/[\d.]+" 404 /.test(l));
    const outcome = outcomeOf(test, out);
    const firstError =
      /Error:\s+(.*)/.exec(out)?.[1] ??
      /panic: (.*)/.exec(out)?.[1] ??
      (outcome === "PASS" ? "" : out.slice(-300));
    return { test, file, outcome, missing, firstError };
  }

  it("every test of what this project uses passes for the right reason", async () => {
    const list = ["netns", "exec", netnsOf(LAB), binary, "-test.list", ".*"];
    const listed = (await run("ip", list, { cwd: tmp, env })).stdout
      .split("\n")
      .filter((t) => t.startsWith("Test"));
    const files = testFiles(sourceDir);
    let clean = true; // a test that fails may leave objects behind: clean up after it
    for (const test of listed) {
      const file = files[test] ?? "?";
      if (outOfScope(test, file) && !(test in MUST_PASS)) {
        results.push({ test, file, outcome: "NOT RUN", missing: [], firstError: "" });
        continue;
      }
      const r = await runOne(test, file, clean);
      clean = r.outcome !== "PASS";
      results.push(r);
    }
    report(results);
    const bad = results.filter(
      (r) => r.test in MUST_PASS && (r.outcome !== "PASS" || r.missing.length > 0),
    );
    expect(bad.map((r) => `${r.test}: ${r.outcome} ${r.missing[0] ?? r.firstError}`)).toEqual([]);
    expect(Object.keys(MUST_PASS).filter((t) => !listed.includes(t))).toEqual([]);
  }, 900_000);
});

/** A test's outcome from its `go test -v` output. */
function outcomeOf(test: string, out: string): Outcome {
  if (out.includes(`--- PASS: ${test} `)) return "PASS";
  if (out.includes(`--- SKIP: ${test} `)) return "SKIP";
  if (out.includes("panic: test timed out")) return "TIMEOUT";
  return out.includes("\npanic: ") ? "PANIC" : "FAIL";
}

function report(results: Result[]): void {
  const lines = results.map((r) => {
    const why =
      r.test in MUST_PASS
        ? `must pass (${MUST_PASS[r.test]})`
        : (outOfScope(r.test, r.file) ?? "not classified");
    const extra = r.missing.length
      ? ` [404: ${r.missing.length}, first: ${r.missing[0].replace(/^.*gateway: /, "")}]`
      : "";
    const err = r.firstError ? ` -- ${r.firstError.slice(0, 160)}` : "";
    return `${r.outcome.padEnd(7)} ${r.file}/${r.test}: ${why}${extra}${err}`;
  });
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  const summary = (["PASS", "FAIL", "PANIC", "TIMEOUT", "SKIP", "NOT RUN"] as const)
    .map((o) => `${o} ${count(o)}`)
    .join(", ");
  console.log(`goscaleio inttests: ${results.length} tests: ${summary}\n${lines.join("\n")}`);
}
