// The volume plugin stage (issue 12): where it sits in the plan, when its Pulumi resource
// changes, its config key, the Go prerequisite, the build cache, and the files it writes.
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, readSpec, type RawConfig } from "../../src/config";
import type { Machine } from "../../src/machine";
import { planInstall, planTasks } from "../../src/install/plan";
import {
  DRIVER_DIR,
  driverSourceHash,
  driverSources,
  ensurePluginBinary,
  goMissingMessage,
} from "../../src/install/plugin-build";
import { hostsFor, relevant, type StepInputs } from "../../src/install/provider";
import { preflight } from "../../src/install/resources";
import { withPluginBinary } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import {
  gatewayTrust,
  parsePluginProbe,
  PLUGIN_CONFIG,
  PLUGIN_DIR,
  pluginConfigText,
  pluginUnitText,
  writeConfigScript,
  type PluginSettings,
} from "../../src/install/stages/volume-plugin";

function m(name: string, mdm: Machine["mdm"], services: Machine["services"], i: number): Machine {
  return {
    name,
    mdm,
    services,
    sshHost: "127.0.0.1",
    sshPort: 2200 + i,
    sshUser: "root",
    publicAddress: "198.51.100.1",
    privateAddress: `10.0.0.${i}`,
    dataDisks: ["/dev/vdb"],
    os: "centos7",
  };
}
const nodes = [
  m("node1", "master", ["sds", "sdc", "gateway", "docker"], 1),
  m("node2", "slave", ["sds", "sdc", "docker"], 2),
  m("node3", "tiebreaker", ["sds", "sdc"], 3),
];

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ah-plugin-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the VolumePlugin stage in the plan", () => {
  it("runs on each Docker host after its Docker and the gateway, and before verify", () => {
    const tasks = planTasks(nodes);
    const ids = tasks.map((t) => t.id);
    expect(ids.filter((id) => id.startsWith("VolumePlugin"))).toEqual([
      "VolumePlugin:node1",
      "VolumePlugin:node2",
    ]);
    const after = (id: string) => tasks.find((t) => t.id === id)!.after;
    expect(after("VolumePlugin:node2")).toEqual(["DockerVolume:node2", "Gateway:node1"]);
    expect(after("Verification")).toEqual(expect.arrayContaining(["VolumePlugin:node1"]));
    // Every dependency comes earlier in the list.
    for (const t of tasks)
      for (const d of t.after) expect(ids.indexOf(d)).toBeLessThan(ids.indexOf(t.id));
  });

  it("is absent when turned off, or when no node is a gateway", () => {
    expect(planTasks(nodes, { volumePlugin: false }).some((t) => t.stage === "VolumePlugin")).toBe(
      false,
    );
    const noGateway = nodes.map((n) => ({
      ...n,
      services: n.services.filter((s) => s !== "gateway"),
    }));
    expect(planInstall(noGateway).map((p) => p.stage)).not.toContain("VolumePlugin");
    expect(planInstall(nodes).find((p) => p.stage === "VolumePlugin")).toEqual({
      stage: "VolumePlugin",
      scope: "host",
      parallel: true,
      hosts: ["node1", "node2"],
    });
  });
});

describe("the VolumePlugin resource", () => {
  const spec: InstallSpec = {
    machines: nodes,
    privateKey: "k",
    os: "centos7",
    rpmDir: "/rpms",
    clusterName: "lab",
    protectionDomain: "pd1",
    storagePool: "sp1",
    mediaType: "HDD",
    dockerVolumeGb: 16,
    mdmPassword: "Passw0rd!",
    gatewayPassword: "Gatew4y!",
    volumePluginBinary: { path: "/cache/a/scaleio-volume-plugin", sha256: "a".repeat(64) },
  };
  const inputs = (s: Partial<InstallSpec>, host = "node2"): StepInputs => ({
    kind: "VolumePlugin",
    host,
    spec: { ...spec, ...s },
  });

  it("is unchanged by what it does not use, so a no-op `up` leaves it alone", () => {
    const base = relevant(inputs({}));
    expect(relevant(inputs({ dockerVolumeGb: 64, gatewayPassword: "0ther!pw" }))).toBe(base);
    expect(relevant(inputs({ machines: [...nodes, m("node4", undefined, ["sdc"], 4)] }))).toBe(
      base,
    );
    // The binary's cache path may differ between machines; only its content counts.
    expect(
      relevant(inputs({ volumePluginBinary: { path: "/elsewhere", sha256: "a".repeat(64) } })),
    ).toBe(base);
  });

  it("changes with a new binary, a setting or the password, so the stage runs again", () => {
    const base = relevant(inputs({}));
    const changed = [
      { volumePluginBinary: { path: "/cache/b", sha256: "b".repeat(64) } },
      { storagePool: "sp2" },
      { protectionDomain: "pd2" },
      { clusterName: "other" },
      { mdmPassword: "N3w-Passw0rd" },
      {
        machines: nodes.map((n) => (n.name === "node1" ? { ...n, privateAddress: "10.9.9.9" } : n)),
      },
    ];
    for (const c of changed) expect(relevant(inputs(c)), JSON.stringify(c)).not.toBe(base);
    // The password enters only as a hash.
    expect(base).not.toContain("Passw0rd!");
  });

  it("exists for each Docker host while the plugin is on", () => {
    expect(hostsFor("VolumePlugin", spec)).toEqual(["node1", "node2"]);
    expect(hostsFor("VolumePlugin", { ...spec, volumePlugin: false })).toEqual([]);
  });
});

describe("config key arrowhead:volumePlugin", () => {
  const raw = (values: Record<string, string>): RawConfig => ({
    get: (k) => ({ cloud: "aws", allowedCidr: "203.0.113.7/32", ...values })[k],
    getObject: <T>(k: string) => (k === "aws" ? ({ region: "eu-west-1" } as T) : undefined),
    has: (k) => k === "mdmPassword" || k === "gatewayPassword",
  });

  it("is on by default and turned off by false", () => {
    expect(readSpec(raw({}), "dev").volumePlugin).toBe(true);
    expect(readSpec(raw({ volumePlugin: "true" }), "dev").volumePlugin).toBe(true);
    expect(readSpec(raw({ volumePlugin: "false" }), "dev").volumePlugin).toBe(false);
  });

  it("refuses anything but true or false, naming the key and an example", () => {
    let err: unknown;
    try {
      readSpec(raw({ volumePlugin: "off" }), "dev");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^arrowhead:volumePlugin: "off" must be true or false .*Example: arrowhead:volumePlugin: false$/,
      ),
    ]);
  });
});

describe("Go, a prerequisite of the plugin", () => {
  let rpmDir = "";
  beforeAll(() => {
    rpmDir = path.join(tmp, "rpms");
    fs.mkdirSync(rpmDir);
    for (const c of ["mdm", "sds", "sdc", "lia"])
      fs.writeFileSync(path.join(rpmDir, `EMC-ScaleIO-${c}-3.6-700.103.el7.x86_64.rpm`), "x");
    fs.writeFileSync(path.join(rpmDir, "EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm"), "x");
  });

  it("preflight fails when the plugin is on and no go is on PATH, naming Go and the way out", () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, "empty-bin");
    try {
      expect(() => preflight(nodes, "centos7", rpmDir)).toThrow(goMissingMessage());
      // Off: Go is not needed.
      expect(preflight(nodes, "centos7", rpmDir, { volumePlugin: false })).toBe(rpmDir);
    } finally {
      process.env.PATH = saved;
    }
    expect(goMissingMessage()).toMatch(/Go \(1\.26 or later\) is a prerequisite of the plugin/);
    expect(goMissingMessage()).toContain("pulumi config set arrowhead:volumePlugin false");
  });
});

describe("the runner's binary, before any host is touched", () => {
  const spec = {
    machines: nodes,
    privateKey: "k",
    os: "centos7",
    rpmDir: "/rpms",
    clusterName: "lab",
    protectionDomain: "pd1",
    storagePool: "sp1",
    mediaType: "HDD",
    dockerVolumeGb: 16,
    mdmPassword: "Passw0rd!",
    gatewayPassword: "Gatew4y!",
  } satisfies InstallSpec;

  it("builds nothing when the plugin is off or the given binary is still there", () => {
    const off = { ...spec, volumePlugin: false };
    expect(withPluginBinary(off)).toBe(off);
    const file = path.join(tmp, "given-binary");
    fs.writeFileSync(file, "x");
    const given = { ...spec, volumePluginBinary: { path: file, sha256: "c".repeat(64) } };
    expect(withPluginBinary(given)).toBe(given);
  });

  it("stops a run when the plugin is on and Go is missing", () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, "empty-bin");
    try {
      expect(() => withPluginBinary(spec)).toThrow(/no `go` is on PATH/);
      const gone = {
        ...spec,
        volumePluginBinary: { path: "/nonexistent", sha256: "d".repeat(64) },
      };
      expect(() => withPluginBinary(gone)).toThrow(/no `go` is on PATH/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe("the plugin's build cache", () => {
  const copyDriver = (to: string) => {
    for (const f of driverSources(DRIVER_DIR)) {
      fs.mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
      fs.copyFileSync(path.join(DRIVER_DIR, f), path.join(to, f));
    }
  };

  it("keys on go.mod, go.sum and every .go file, nothing else", () => {
    const d = path.join(tmp, "driver-copy");
    copyDriver(d);
    const sources = driverSources(d);
    expect(sources).toEqual(expect.arrayContaining(["go.mod", "go.sum"]));
    expect(sources.some((f) => f.startsWith("cmd/") && f.endsWith(".go"))).toBe(true);
    const key = driverSourceHash(d);
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    fs.writeFileSync(path.join(d, "README.md"), "docs change");
    fs.mkdirSync(path.join(d, "bin"), { recursive: true });
    fs.writeFileSync(path.join(d, "bin", "old.go"), "package junk");
    expect(driverSourceHash(d)).toBe(key);
    const goFile = path.join(
      d,
      sources.find((f) => f.endsWith(".go"))!,
    );
    fs.appendFileSync(goFile, "\n// changed\n");
    const changed = driverSourceHash(d);
    expect(changed).not.toBe(key);
    fs.appendFileSync(path.join(d, "go.sum"), "\n");
    expect(driverSourceHash(d)).not.toBe(changed);
  });

  it("builds with CGO_ENABLED=0 go build -trimpath once per key, then uses the cache", () => {
    const d = path.join(tmp, "driver-build");
    copyDriver(d);
    // A stand-in `go` that records how it was called and writes the -o file.
    const bin = path.join(tmp, "fake-go-bin");
    fs.mkdirSync(bin);
    const calls = path.join(tmp, "go-calls");
    fs.writeFileSync(
      path.join(bin, "go"),
      `#!/bin/sh\necho "CGO_ENABLED=$CGO_ENABLED GOOS=$GOOS GOARCH=$GOARCH $*" >> ${calls}\n` +
        `while [ "$1" != "-o" ]; do shift; done; echo "binary $(pwd)" > "$2"\n`,
      { mode: 0o755 },
    );
    const env = { PATH: bin, HOME: tmp };
    const cacheRoot = path.join(tmp, "cache");
    const a = ensurePluginBinary({ driverDir: d, cacheRoot, env });
    expect(a.path).toBe(path.join(cacheRoot, driverSourceHash(d), "scaleio-volume-plugin"));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ensurePluginBinary({ driverDir: d, cacheRoot, env })).toEqual(a);
    expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toEqual([
      expect.stringMatching(
        /^CGO_ENABLED=0 GOOS=linux GOARCH=amd64 build -trimpath -o \S+ \.\/cmd\/scaleio-volume-plugin$/,
      ),
    ]);
    fs.appendFileSync(path.join(d, "go.mod"), "\n");
    const b = ensurePluginBinary({ driverDir: d, cacheRoot, env });
    expect(b.path).not.toBe(a.path);
    expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toHaveLength(2);
    // Nothing half-built is left beside the binaries.
    expect(fs.readdirSync(path.dirname(b.path))).toEqual(["scaleio-volume-plugin"]);
  });
});

describe("what the stage writes", () => {
  const settings: PluginSettings = {
    gateway: "https://10.0.0.1:443",
    user: "admin",
    system: "lab",
    protectionDomain: "pd1",
    storagePool: "sp1",
    gatewayCertSha256: "ab".repeat(32),
  };

  it("writes the config root-only with the password from stdin, JSON-escaped on the host", () => {
    const password = `Pa"ss\\w0rd'$x`;
    const dir = path.join(tmp, "etc-plugin");
    // The host's script, pointed at a scratch folder, run by a real shell.
    const script = writeConfigScript(settings).split(PLUGIN_DIR).join(dir);
    expect(script).not.toContain(password);
    execFileSync("sh", ["-c", script], { env: { ...process.env, MDM_PASSWORD: password } });
    const file = path.join(dir, path.basename(PLUGIN_CONFIG));
    const text = fs.readFileSync(file, "utf8");
    expect(text).toBe(pluginConfigText(settings, password));
    expect(JSON.parse(text)).toEqual({ ...settings, password });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("orders the unit before Docker with Wants (never Requires) and runs the binary on the config", () => {
    const unit = pluginUnitText();
    expect(unit).toContain("Before=docker.service");
    expect(unit).toMatch(/^After=.*scini\.service/m);
    expect(unit).toContain(
      "ExecStart=/usr/local/bin/scaleio-volume-plugin -config /etc/scaleio-volume-plugin/config.json",
    );
    expect(unit).toContain("WantedBy=multi-user.target docker.service");
    expect(unit).not.toMatch(/Requires|RequiredBy/);
  });

  it("trusts the gateway's certificate as caFile only when it names the gateway's address", () => {
    const cert = (name: string, san?: string) => {
      const out = path.join(tmp, `${name}.crt`);
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          `/CN=${name}`,
          "-keyout",
          path.join(tmp, `${name}.key`),
          "-out",
          out,
          ...(san ? ["-addext", `subjectAltName=${san}`] : []),
        ],
        { stdio: "ignore" },
      );
      return fs.readFileSync(out, "utf8");
    };
    expect(gatewayTrust(cert("withip", "IP:10.0.0.1"), "10.0.0.1").caFile).toBe(true);
    const pem = cert("node1");
    const plain = gatewayTrust(pem, "10.0.0.1");
    expect(plain.caFile).toBe(false);
    expect(plain.reason).toMatch(/CN=node1.*does not name 10\.0\.0\.1.*pins it by its sha256/);
    // The pin is the certificate's own sha256 (what the plugin compares with the DER it gets).
    const der = new X509Certificate(pem).raw;
    expect(plain.sha256).toBe(createHash("sha256").update(der).digest("hex"));
  });

  it("reads the one-round-trip probe", () => {
    const h = (c: string) => c.repeat(64);
    expect(
      parsePluginProbe(
        [
          `bin=${h("a")}`,
          `config=${h("b")}`,
          "ca=",
          `unit=${h("c")}`,
          "dirMode=700",
          "configMode=600 root",
          "enabled=enabled",
          "active=active",
          "socket=1",
        ].join("\n"),
      ),
    ).toEqual({
      bin: h("a"),
      config: h("b"),
      ca: "",
      unit: h("c"),
      dirMode: "700",
      configMode: "600 root",
      enabled: "enabled",
      active: "active",
      socket: true,
    });
    expect(parsePluginProbe("enabled=\nactive=inactive").socket).toBe(false);
  });
});
