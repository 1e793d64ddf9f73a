// Dell's goscaleio integration tests (inttests/, github.com/dell/goscaleio at the version
// driver/go.mod requires) as the judge of the emulator's gateway: how to build them unchanged,
// which of them cover what this project uses (they must pass), and why each other one is out of
// scope. test/lab/goscaleio-inttests.test.ts runs them against lab hosts.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const DRIVER_DIR = path.join(__dirname, "..", "..", "driver");

/** The goscaleio version driver/go.mod requires, e.g. "v1.20.0". Throws when it is not there. */
export function goscaleioVersion(goMod = path.join(DRIVER_DIR, "go.mod")): string {
  const m = /^\s*github\.com\/dell\/goscaleio\s+(v\S+)/m.exec(fs.readFileSync(goMod, "utf8"));
  if (!m) throw new Error(`${goMod} does not require github.com/dell/goscaleio`);
  return m[1];
}

/**
 * Builds goscaleio's inttests test binary, unchanged, from the Go module cache into `outDir`
 * (after `go mod download` in driver/, which fetches the module through the Go module proxy).
 * Returns the binary's path and the inttests source folder. Throws when a step fails.
 */
export function buildInttests(outDir: string): { binary: string; sourceDir: string } {
  const version = goscaleioVersion();
  const run = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
    execFileSync("go", args, { cwd, env: { ...process.env, ...env }, stdio: "pipe" })
      .toString()
      .trim();
  run(["mod", "download", `github.com/dell/goscaleio@${version}`], DRIVER_DIR);
  const modDir = run(["list", "-m", "-f", "{{.Dir}}", `github.com/dell/goscaleio`], DRIVER_DIR);
  const out = path.join(outDir, "goscaleio-inttests.test");
  // -mod=mod: the module's own go.sum is in the (read-only) cache; its test-only dependencies
  // (testify, godotenv) are fetched like the rest.
  run(["test", "-c", "-o", out, "./inttests"], modDir, { CGO_ENABLED: "0", GOFLAGS: "-mod=mod" });
  return { binary: out, sourceDir: path.join(modDir, "inttests") };
}

/** Test -> what of this project it covers. Each must pass, without hitting a missing endpoint. */
export const MUST_PASS: Record<string, string> = Object.fromEntries(
  (
    [
      [
        "driver: the system",
        "TestGetSystems TestGetSingleSystemID TestGetSingleSystemByIDInvalid TestGetSingleSystemByIDName",
      ],
      ["driver: capacity (Statistics)", "TestGetSystemStatistics TestGetStoragePoolStatistics"],
      ["driver: volume size limits", "TestGetSystemLimits TestGetMaxVol"],
      [
        "driver and installer: protection domains",
        "TestGetProtectionDomains TestGetProtectionDomainByName TestGetProtectionDomainByID TestGetProtectionDomainByNameInvalid TestGetProtectionDomainByIDInvalid TestCreateDeleteProtectionDomain",
      ],
      [
        "driver and installer: storage pools (tiers)",
        "TestGetStoragePools TestGetAllStoragePoolsApi TestGetStoragePoolByName TestGetStoragePoolByID TestGetStoragePoolByIDApi TestGetStoragePoolByNameInvalid TestGetStoragePoolByIDInvalid TestGetInstanceStoragePool TestCreateDeleteStoragePool TestStoragePoolMediaType TestModifyStoragePoolName TestGetSDSStoragePool",
      ],
      [
        "driver: SDC lookup, its mappings and statistics",
        "TestGetSdcs TestGetSdcByAttribute TestGetSdcByAttributeInvalid TestGetSdcStatistics TestGetSdcVolumes TestFindSdcVolumes TestGetSdcIdByIP",
      ],
      [
        "installer: SDSs",
        "TestGetSDSs TestGetSDSByAttribute TestGetSDSByAttributeInvalid TestFindSds TestCompareSdsAllApi TestCompareSdsIDApi TestCreateSdsInvalid TestCreateSdsParamsInvalid",
      ],
      [
        "driver: volumes (create, find, remove, mappings, QoS, statistics)",
        "TestGetVolumes TestCreateInstanceVolume TestCreateInstanceVolumeInvalidSize TestCreateVolumeExistingName TestDeleteNonExistentVolume TestFindVolumeID TestGetInstanceVolume TestGetStoragePoolVolumes TestCreateDeleteVolume TestGetVolumeStatistics TestMapQueryUnmapVolume TestSetMappedSdcLimitsInvalid",
      ],
      ["driver: online growth (setVolumeSize)", "TestResizeVolume"],
      [
        "driver: snapshots, lineage and removeMode",
        "TestCreateDeleteSnapshot TestMapQueryUnmapSnapshot TestSetVolumeAccessModeLimit TestGetVolumeVtree TestGetVTrees TestGetVTreeByID TestGetVTreeInstances TestGetVTreeByVolumeID",
      ],
      ["installer: the MDM cluster", "TestGetMDMClusterDetails"],
      [
        "installer: fault sets",
        "TestGetAllFaultSets TestGetFaultSetByName TestCreateModifyDeleteFaultSet TestGetSdsFaultSet",
      ],
      [
        "installer: SDS devices",
        "TestGetDevices TestGetDeviceByAttribute TestGetDeviceByAttributeInvalid TestGetDeviceByField TestGetDeviceBySdsAttribute TestGetDeviceBySdsAttributeInvalid TestAddDeviceInvalid TestAddDeviceValid TestDeviceSetName",
      ],
      [
        "driver: an SDC that is not installed is reported as such",
        "TestGetDrvCfgGUIDSDCNotInstalled TestGetDrvCfgSystemsSDCNotInstalled TestGetDrvCfgQueryRescanSDCNotInstalled",
      ],
    ] as const
  ).flatMap(([why, tests]) => tests.split(" ").map((t) => [t, why])),
);

/** Files whose tests need what a 2.x/3.x cluster (and so the emulator) does not have. */
export const OUT_OF_SCOPE_FILES: Record<string, string> = {
  compliance_management: "PowerFlex Manager (4.x PFMP) compliance, not in 2.x/3.x",
  deploy: "4.x installer API (/im/types/...: PFMP deploy), not the 3.x gateway",
  fs: "NFS file systems: 4.x only",
  nfs: "NAS servers: 4.x only",
  nfs_export: "NFS exports: 4.x only",
  tree_quota: "NFS tree quotas: 4.x only",
  node: "PowerFlex Manager nodes: 4.x only",
  nvme_host: "NVMe/TCP hosts: 4.x only",
  sdt: "NVMe/TCP targets (SDT): 4.x only",
  os_repository: "PowerFlex Manager OS repositories: 4.x only",
  replication: "replication (needs a second system and SDRs): not emulated, not used",
  resource_credentials: "PowerFlex Manager credentials: 4.x only",
  service: "PowerFlex Manager services (templates deployed): 4.x only",
  template: "PowerFlex Manager templates: 4.x only",
  snapshot_policy: "snapshot policies: not used by this project, not emulated",
  sso_user: "4.x SSO users",
  upgrade: "PowerFlex Manager upgrades: 4.x only",
};

/** Tests in in-scope files that need what the emulator deliberately lacks, and why. */
export const OUT_OF_SCOPE_TESTS: Record<string, string> = {
  TestGetDrvCfgGUID:
    "the SDC kernel module's ioctl on /dev/scini: the emulated SDC has no kernel module",
  TestGetDrvCfgSystems: "the SDC kernel module's ioctl on /dev/scini (no kernel module)",
  TestGetDrvCfgQueryRescan: "the SDC kernel module's ioctl on /dev/scini (no kernel module)",
  TestGetAllUsers: "users other than admin are not emulated (README, Differences)",
  TestCreateAndDeleteUser: "users other than admin are not emulated",
  TestSdcRestrictedMode: "SDC authentication / restricted mode: not emulated, not used",
  TestChangeSdcPerfProfile: "performance profiles: no effect to emulate, not used",
  TestMDMClusterPerformanceProfileInvalid: "performance profiles: not used",
  TestDeleteSdc: "removing an SDC: not used by this project",
  TestEnableRFCache: "RF cache (3.x flash read cache): no cache emulated, not used",
  TestDisableRFCache: "RF cache: not emulated, not used",
  TestModifyRmCache: "RAM read cache: not emulated (README, Differences), not used",
  TestSetVolumeUseRmCache: "RAM read cache: not emulated, not used",
  TestSetSnapshotSecurity: "secure snapshots (retention locks): not used by this project",
  TestGetDeviceByDeviceID:
    "hard-codes the device ID c7fc68a200000000 of Dell's own lab: fails on every other system",
  TestSetVolumeMappingAccessMode:
    "hard-codes the SDC ID c423b09800000003 of Dell's own lab: fails on every other system " +
    "(the access mode itself is checked in test/unit/emulator-gateway-trees.test.ts)",
  TestLockUnlockAutoSnapshot: "auto snapshots (snapshot policies): not used",
  TestSetCompressionMethod: "compression (fine-granularity pools): not emulated, not used",
  TestSetSdsName: "SDS changes over REST: the installer uses scli",
  TestSetSdsPort: "SDS changes over REST: the installer uses scli",
  TestSetSDSIPRole: "SDS changes over REST: the installer uses scli",
  TestRemoveSDSIP: "SDS changes over REST: the installer uses scli",
  TestDeleteSds: "SDS removal over REST: the installer uses scli",
  TestStoragePoolAdditionalFunctionality:
    "pool tuning (zero padding, rebuild/rebalance, spare, fragmentation...): not emulated",
  TestDeviceMediaType: "changing a device's media type: not used",
  TestDeviceCapacityLimit: "device capacity limits: not used",
  TestDeviceExternalAccelerationType: "external acceleration devices: not used",
  TestDeviceUpdateOriginalPathways: "device path updates: not used",
  TestAddStandByMDMInvalid: "MDM cluster changes over REST: the installer uses scli",
  TestRemoveStandByMDMInvalid: "MDM cluster changes over REST: the installer uses scli",
  TestSwitchClusterModeInvalid: "MDM cluster changes over REST: the installer uses scli",
  TestRenameMdm: "MDM cluster changes over REST: the installer uses scli",
  TestChangeMDMOwnership: "MDM cluster changes over REST: the installer uses scli",
  TestChangeSdcName: "renaming an SDC: not used",
  TestCRUDProtectionDomain: "protection domain tuning (RF cache, SDS network limits...): not used",
  TestCreateDeleteSdsWithInvalidParams: "SDS creation over REST: the installer uses scli",
};

/** Out-of-scope tests not even run, and why (they would only add minutes to the run). */
export const NOT_RUN: Record<string, string> = {
  TestSetSnapshotSecurity: "sleeps 60 s for a retention period to expire",
};

/** The file (without _test.go) each test of the inttests package is in. */
export function testFiles(inttestsDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(inttestsDir).filter((x) => x.endsWith("_test.go"))) {
    const text = fs.readFileSync(path.join(inttestsDir, f), "utf8");
    for (const m of text.matchAll(/^func (Test\w+)\(t \*testing\.T\)/gm))
      out[m[1]] = f.replace(/_test\.go$/, "");
  }
  return out;
}

/** Why a test is not judged: its file's reason, its own, or undefined (it is judged). */
export function outOfScope(test: string, file: string): string | undefined {
  return OUT_OF_SCOPE_FILES[file] ?? OUT_OF_SCOPE_TESTS[test];
}

/**
 * Python run on the gateway host between two tests: removes what a test left behind (volumes,
 * storage pools, protection domains and fault sets named `inttest*`, the device at /dev/sdc),
 * through the gateway on 127.0.0.1 as admin (password in $GS_PASSWORD). goscaleio's tests name
 * their objects `inttest-<n>` with n counting from 0 in each process, so one test's leftovers
 * (after a failure) would make the next one fail for no reason of its own.
 */
export const CLEANUP_PY = String.raw`
import base64, json, os, ssl, urllib.request
ctx = ssl._create_unverified_context()
def call(method, path, body=None, token=None):
    auth = ("admin:" + os.environ["GS_PASSWORD"]) if token is None else (":" + token)
    req = urllib.request.Request("https://127.0.0.1:443" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return {"error": e.code, "body": e.read().decode()}
tok = call("GET", "/api/login")
mine = lambda o: (o.get("name") or "").startswith("inttest")
for v in call("GET", "/api/types/Volume/instances", token=tok):
    if mine(v):
        call("POST", "/api/instances/Volume::%s/action/removeMappedSdc" % v["id"], {"allSdcs": ""}, tok)
for v in call("GET", "/api/types/Volume/instances", token=tok):
    if mine(v):
        call("POST", "/api/instances/Volume::%s/action/removeVolume" % v["id"], {"removeMode": "WHOLE_VTREE"}, tok)
devices = call("GET", "/api/types/Device/instances", token=tok)
for d in devices if isinstance(devices, list) else []:
    if d.get("deviceCurrentPathName") == "/dev/sdc":
        call("POST", "/api/instances/Device::%s/action/removeDevice" % d["id"], {}, tok)
fault_sets = call("GET", "/api/types/FaultSet/instances", token=tok)
for f in fault_sets if isinstance(fault_sets, list) else []:
    if mine(f):
        call("POST", "/api/instances/FaultSet::%s/action/removeFaultSet" % f["id"], {}, tok)
for p in call("GET", "/api/types/StoragePool/instances", token=tok):
    if mine(p):
        call("POST", "/api/instances/StoragePool::%s/action/removeStoragePool" % p["id"], {}, tok)
for p in call("GET", "/api/types/ProtectionDomain/instances", token=tok):
    if mine(p):
        call("POST", "/api/instances/ProtectionDomain::%s/action/removeProtectionDomain" % p["id"], {}, tok)
`;

/** Python printing {"system": id, "sds": node's SDS id, "installId"} for the test's variables. */
export const IDS_PY = String.raw`
import base64, json, os, ssl, sys, urllib.request
ctx = ssl._create_unverified_context()
def get(path, auth):
    req = urllib.request.Request("https://127.0.0.1:443" + path)
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read())
tok = get("/api/login", "admin:" + os.environ["GS_PASSWORD"])
system = get("/api/types/System/instances", ":" + tok)[0]
sds = [s for s in get("/api/types/Sds/instances", ":" + tok) if sys.argv[1] in [i["ip"] for i in s["ipList"]]]
print(json.dumps({"system": system["id"], "installId": system.get("installId"), "sds": sds[0]["id"]}))
`;

/** Python creating the thin 8 GB volume gsbase in the first storage pool (cleanup keeps it). */
export const BASE_VOLUME_PY = String.raw`
import base64, json, os, ssl, urllib.request
ctx = ssl._create_unverified_context()
def call(path, auth, body=None):
    req = urllib.request.Request("https://127.0.0.1:443" + path,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read())
tok = call("/api/login", "admin:" + os.environ["GS_PASSWORD"])
pool = call("/api/types/StoragePool/instances", ":" + tok)[0]
print(call("/api/types/Volume/instances", ":" + tok, {"name": "gsbase", "storagePoolId": pool["id"],
           "volumeSizeInKb": str(8 * 1024 * 1024), "volumeType": "ThinProvisioned"})["id"])
`;
