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
  NOT_RUN,
  OUT_OF_SCOPE_FILES,
  outOfScope,
  testFiles,
} from "../emulator/goscaleio-inttests";
import { type Lab, startLab } from "./hosts";
import { netnsOf } from "./hosts/paths";
import { labSh, requireRoot, waitOn } from "./fixtures";
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
      // Tests of 4.x-only files, and those that sleep a minute, are listed, not run; the
      // others out of scope run, so the report shows what each does against the emulator.
      if (OUT_OF_SCOPE_FILES[file] || test in NOT_RUN) {
        results.push({
          test,
          file,
          outcome: "NOT RUN",
          missing: [],
          firstError: NOT_RUN[test] ?? "",
        });
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

  /** A gateway call made on node1 with curl: HTTP status and parsed body. */
  async function api(method: string, url: string, auth: string, body?: unknown) {
    const data =
      body === undefined ? "" : `-H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
    const out = await sh(
      "node1",
      `curl -sk -o /tmp/gs.out -w '%{http_code}' -X ${method} -u '${auth}' ${data} ` +
        `https://127.0.0.1:443${url}; echo; cat /tmp/gs.out`,
    );
    const [status, ...rest] = out.split("\n");
    const text = rest.join("\n");
    return { status: Number(status), body: text ? (JSON.parse(text) as unknown) : null };
  }
  const login = async () =>
    (await api("GET", "/api/login", `admin:${MDM_PASSWORD}`)).body as string;

  it("expires every token on SIGUSR1 (root only), and on a restart, answering 401 as the real gateway", async () => {
    const token = await login();
    expect((await api("GET", "/api/types/System/instances", `:${token}`)).status).toBe(200);
    const pid = (await sh("node1", "systemctl show -p MainPID scaleio-gateway")).split("=")[1];
    const asNobody = await lab.exec("node1", `su -s /bin/sh nobody -c 'kill -USR1 ${pid}'`);
    expect(asNobody.code).not.toBe(0);
    expect((await api("GET", "/api/types/System/instances", `:${token}`)).status).toBe(200);
    await sh("node1", "systemctl kill -s USR1 scaleio-gateway");
    expect(await api("GET", "/api/types/System/instances", `:${token}`)).toEqual({
      status: 401,
      body: { message: "Unauthorized", httpStatusCode: 401, errorCode: 0 },
    });
    expect(await sh("node1", "systemctl is-active scaleio-gateway")).toBe("active");
    const again = await login();
    expect((await api("GET", "/api/types/System/instances", `:${again}`)).status).toBe(200);
    await sh("node1", "systemctl stop scaleio-gateway");
    const down = await lab.exec("node1", "curl -sk -o /dev/null https://127.0.0.1:443/api/version");
    expect(down.code).toBe(7); // curl: could not connect
    await sh("node1", "systemctl start scaleio-gateway");
    await waitOn(lab, "node1", "curl -skf -o /dev/null https://127.0.0.1:443/api/version", 40);
    expect((await api("GET", "/api/types/System/instances", `:${again}`)).status).toBe(401);
    expect((await api("GET", "/api/types/System/instances", `:${await login()}`)).status).toBe(200);
  });

  it("grows a mapped volume's device in 8 GB steps and gives a snapshot's data to another host", async () => {
    const auth = `:${await login()}`;
    const get = async (url: string) =>
      (await api("GET", url, auth)).body as Record<string, unknown>[];
    const [system] = await get("/api/types/System/instances");
    const [pool] = await get("/api/types/StoragePool/instances");
    const sdcOf = async (host: string) =>
      (await get("/api/types/Sdc/instances")).find(
        (c) => c.sdcIp === lab.hosts.find((h) => h.name === host)!.privateAddress,
      )!.id as string;
    const act = (id: string, action: string, body: unknown) =>
      api("POST", `/api/instances/Volume::${id}/action/${action}`, auth, body);
    const created = await api("POST", "/api/types/Volume/instances", auth, {
      name: "gsgrow",
      storagePoolId: pool.id,
      volumeSizeInKb: String(8 * 1024 * 1024),
      volumeType: "ThinProvisioned",
    });
    const vol = (created.body as { id: string }).id;
    const dev = (id: string) => `/dev/disk/by-id/emc-vol-${String(system.id)}-${id}`;
    const rescan = "/opt/emc/scaleio/sdc/bin/drv_cfg --rescan >/dev/null";
    expect((await act(vol, "addMappedSdc", { sdcId: await sdcOf("node2") })).status).toBe(200);
    await waitOn(lab, "node2", `${rescan}; test -b ${dev(vol)}`, 20);
    await sh("node2", `echo gs-marker | dd of=${dev(vol)} bs=512 conv=sync,fsync status=none`);
    expect(await sh("node2", `blockdev --getsize64 ${dev(vol)}`)).toBe(String(8 * 2 ** 30));
    expect((await act(vol, "setVolumeSize", { sizeInGB: "9" })).status).toBe(200);
    await sh("node2", rescan);
    expect(await sh("node2", `blockdev --getsize64 ${dev(vol)}`)).toBe(String(16 * 2 ** 30));
    expect(await act(vol, "setVolumeSize", { sizeInGB: "8" })).toMatchObject({
      status: 500,
      body: {
        message: "The volume gsgrow is 16 GB: its size can only be increased (asked for 8 GB)",
      },
    });
    const snap = await api(
      "POST",
      `/api/instances/System::${String(system.id)}/action/snapshotVolumes`,
      auth,
      {
        snapshotDefs: [{ volumeId: vol, snapshotName: "gsgrow-snap" }],
      },
    );
    const snapId = (snap.body as { volumeIdList: string[] }).volumeIdList[0];
    expect((await act(snapId, "addMappedSdc", { sdcId: await sdcOf("node3") })).status).toBe(200);
    await waitOn(lab, "node3", `${rescan}; test -b ${dev(snapId)}`, 20);
    expect(await sh("node3", `head -c 9 ${dev(snapId)}`)).toBe("gs-marker");
    // ONLY_ME removes the source and keeps its snapshot (csi-powerflex relies on it).
    await act(vol, "removeMappedSdc", { sdcId: await sdcOf("node2") });
    expect((await act(vol, "removeVolume", { removeMode: "ONLY_ME" })).status).toBe(200);
    const left = (await api("GET", `/api/instances/Volume::${snapId}`, auth)).body as Record<
      string,
      unknown
    >;
    expect(left).toMatchObject({ name: "gsgrow-snap", ancestorVolumeId: null, vtreeId: vol });
    await act(snapId, "removeMappedSdc", { sdcId: await sdcOf("node3") });
    expect((await act(snapId, "removeVolume", { removeMode: "ONLY_ME" })).status).toBe(200);
  });
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
