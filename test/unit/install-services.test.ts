// The ScaleIO services of a node, on the scripted runner: `pulumi refresh` names each service
// stopped or disabled (HostPackages: mdm, sds, scini; Gateway: scaleio-gateway) and each SDS the
// MDM shows disconnected (StorageLayout); `pulumi up` starts and enables exactly those units
// (nothing when all run) and waits for a disconnected SDS to connect, or fails naming the node.
import { createHash } from "crypto";
import { describe, expect, it } from "vitest";
import { InstallContext } from "../../src/install/context";
import { observeStorage } from "../../src/install/observe/cluster";
import { observeHostPackages } from "../../src/install/observe/hosts";
import {
  observeGateway,
  observeVolumePlugin,
  type PluginSettingsOf,
} from "../../src/install/observe/services";
import type { RpmFile, RpmSet } from "../../src/install/rpms";
import { managerIps, type InstallSpec } from "../../src/install/spec";
import { ensureGatewayRunning } from "../../src/install/stages/gateway";
import { installPackages } from "../../src/install/stages/packages";
import {
  parseUnitStates,
  servicesRepairCommand,
  unitFix,
  unitStatesQuery,
} from "../../src/install/stages/services";
import { waitSdsConnected } from "../../src/install/stages/sds-connect";
import { pluginUnitText } from "../../src/install/stages/volume-plugin";
import { testSpec } from "./support/machines";
import { ok, ScriptedHosts, type Answer } from "./support/scripted-hosts";

const SYSTEM = "78221ddb0dcff2f5";

const spec: InstallSpec = testSpec({
  clusterName: "svc",
  mdmPassword: "Svc-Mdm-Pw1",
  gatewayPassword: "Svc-Gw-Pw1",
});

const VR = "2.0-14000.231.el7";
const rpm = (c: string): RpmFile =>
  ({ name: `EMC-ScaleIO-${c}`, versionRelease: VR, path: `/rpms/${c}.rpm` }) as RpmFile;
const rpms = {
  dialect: "2.x",
  dist: "el7",
  dir: "/rpms",
  packages: { mdm: rpm("mdm"), sds: rpm("sds"), sdc: rpm("sdc"), gateway: rpm("gateway") },
} as unknown as RpmSet;

const context = (answer: Answer, readOnly = true) => {
  const hosts = new ScriptedHosts(answer);
  const ctx = new InstallContext(spec, rpms, { log: () => undefined, readOnly }, hosts);
  return { hosts, ctx };
};

/** `systemctl show -p Id,LoadState,UnitFileState,ActiveState` blocks; `over` per unit. */
const show = (units: string[], over: Record<string, [string, string, string?]> = {}) =>
  units
    .map((u) => {
      const [enabled, active, load] = over[u] ?? ["enabled", "active"];
      return `Id=${u}.service\nLoadState=${load ?? "loaded"}\nUnitFileState=${enabled}\nActiveState=${active}\n`;
    })
    .join("\n");

const installed = ["mdm", "sds", "sdc"].map((c) => `EMC-ScaleIO-${c} ${VR}`).join("\n");

/** node2's answers: every package installed as a manager MDM, its units as `units` says. */
const node2 = (units: string) =>
  ((_h: string, c: string) => {
    if (c.startsWith("rpm -q")) return ok(installed);
    if (c.startsWith("sed -n")) return ok("1\n");
    if (c.startsWith("systemctl show")) return ok(units);
    // Its SDC already knows the cluster's managers (stages/sdc-mdms.ts reads, changes nothing).
    const ips = managerIps(spec.machines);
    if (c.includes("--query_mdms"))
      return ok(
        `Retrieved 1 mdm(s)\nMDM-ID 1 SDC ID 2 INSTALLATION ID 1 IPs ${ips.map((ip, i) => `[${i}]-${ip}`).join(" ")}\n`,
      );
    if (c.startsWith("for f in"))
      return ok(`file /etc/emc/scaleio/drv_cfg.txt\nmdm ${ips.join(",")}\n`);
    throw new Error(`unexpected ${c}`);
  }) as Answer;

describe("the units' states (pure)", () => {
  it("parses systemctl show's blocks and says what each unit needs", () => {
    const states = parseUnitStates(
      show(["mdm", "sds", "scini"], {
        sds: ["enabled", "inactive"],
        scini: ["disabled", "active"],
        mdm: ["masked", "inactive", "masked"],
      }),
    );
    expect(unitFix("node2", states.get("sds")!)).toEqual({
      unit: "sds",
      start: true,
      enable: false,
    });
    expect(unitFix("node2", states.get("scini")!)).toEqual({
      unit: "scini",
      start: false,
      enable: true,
    });
    expect(unitFix("node2", states.get("mdm")!)?.refusal).toMatch(/systemctl unmask mdm/);
    // static / generated units start by other means: running is enough.
    expect(
      unitFix("node2", { unit: "lia", load: "loaded", enabled: "static", active: "active" }),
    ).toBeUndefined();
  });

  it("one command for what is needed, none when all run; unit names are checked", () => {
    expect(
      servicesRepairCommand([
        { unit: "sds", start: true, enable: false },
        { unit: "scini", start: true, enable: true },
      ]),
    ).toBe("systemctl enable --now scini.service && systemctl start sds.service");
    expect(servicesRepairCommand([])).toBeUndefined();
    expect(() => unitStatesQuery(["sds; reboot"])).toThrow(/not a unit name/);
  });
});

describe("refresh: HostPackages names each stopped or disabled service", () => {
  it("nothing when all run; one line per service otherwise, in one round trip", async () => {
    const good = context(node2(show(["mdm", "sds", "scini"])));
    expect((await observeHostPackages(good.ctx, "node2")).drift).toEqual([]);
    expect(good.hosts.asked.filter((a) => a.command.startsWith("systemctl show"))).toEqual([
      expect.objectContaining({
        command:
          "systemctl show -p Id,LoadState,UnitFileState,ActiveState mdm.service sds.service scini.service",
      }),
    ]);
    const bad = context(
      node2(
        show(["mdm", "sds", "scini"], {
          mdm: ["enabled", "failed"],
          sds: ["enabled", "inactive"],
          scini: ["disabled", "inactive"],
        }),
      ),
    );
    expect((await observeHostPackages(bad.ctx, "node2")).drift).toEqual([
      "node2: service mdm is failed (stopped); `pulumi up` starts it",
      "node2: service sds is inactive (stopped); `pulumi up` starts it",
      "node2: service scini is inactive (stopped) and disabled (does not start at boot); `pulumi up` starts and enables it",
    ]);
    expect(bad.ctx.changes).toEqual([]);
  });

  it("a package not installed is said once, not as a stopped service too", async () => {
    const { ctx } = context((_h, c) =>
      c.startsWith("rpm -q")
        ? ok(
            `EMC-ScaleIO-mdm ${VR}\npackage EMC-ScaleIO-sds is not installed\nEMC-ScaleIO-sdc ${VR}`,
          )
        : c.startsWith("sed -n")
          ? ok("1\n")
          : ok(show(["mdm", "sds", "scini"], { sds: ["", "inactive", "not-found"] })),
    );
    expect((await observeHostPackages(ctx, "node2")).drift).toEqual([
      "node2: package EMC-ScaleIO-sds is not installed",
    ]);
  });
});

describe("refresh: Gateway names its service not running", () => {
  it("enabled but stopped", async () => {
    const { ctx } = context((_h, c) =>
      c.startsWith("systemctl is-enabled")
        ? ok("enabled\n")
        : c.startsWith("systemctl is-active")
          ? { code: 3, stdout: "inactive\n", stderr: "" }
          : ok("mdm.ip.addresses=10.0.0.1,10.0.0.2\n"),
    );
    expect((await observeGateway(ctx, "node1")).drift).toEqual([
      "node1: the gateway service scaleio-gateway is not running (inactive); `pulumi up` starts it",
    ]);
  });
});

// --- the MDM's answers on node1 (2.x layouts) ---
const sdsList = (state: (i: number) => string) =>
  `Query-all-SDS returned 3 SDS nodes.\n\nProtection Domain 073890cb00000000 Name: pd1\n` +
  [1, 2, 3]
    .map(
      (i) =>
        `SDS ID: cf538d140000000${i} Name: node${i} State: ${state(i)}, Joined IP: 10.0.0.${i} Port: 7072 Version: 2.0.14000\n`,
    )
    .join("");
const mdmAnswers = (sds: () => string) => (h: string, c: string) => {
  if (h !== "node1") throw new Error(`asked ${h}: ${c}`);
  if (c.includes("--login"))
    return ok(`Logged in. User role is SuperUser. System ID is ${SYSTEM}\n`);
  if (c.includes("--query_all_sds")) return ok(sds());
  if (c.includes("--query_all_sdc") || c.includes("--query_cluster")) return ok("");
  if (c.includes("--query_all_volumes")) return ok("Query-all-volumes returned 0 volumes\n");
  if (c.includes("--query_all"))
    return ok(
      `System Info:\n    ID:      ${SYSTEM}\n    Name: svc\n\n` +
        `Protection Domain pd1 Id: 073890cb00000000 has 1 storage pools, 0 Fault Sets, 3 SDS nodes\n` +
        `Storage Pool sp1 Id: 08cd1e2100000000 has 0 volumes\n`,
    );
  if (c.includes("--query_sds"))
    return ok(
      "Protection Domain: 073890cb00000000, Name: pd1\nDevice information (total 1 devices):\n" +
        "\t1: Name: N/A  Path: /dev/vdb  Original-path: /dev/vdb  ID: ddd00000\n\t\tStorage Pool: sp1, Capacity: 120 GB\n",
    );
  throw new Error(`unexpected ${c}`);
};

describe("an SDS the MDM shows disconnected", () => {
  it("refresh: StorageLayout names the node", async () => {
    const { ctx } = context(
      mdmAnswers(() => sdsList((i) => (i === 2 ? "Disconnected" : "Connected"))),
    );
    expect((await observeStorage(ctx, "node1")).drift).toEqual([
      "node2: the MDM shows SDS node2 (10.0.0.2) Disconnected; `pulumi up` starts its sds service and waits for it to connect",
    ]);
  });

  it("up: waits until it is connected again, asking the MDM afresh", async () => {
    let asked = 0;
    const { ctx } = context(
      mdmAnswers(() => sdsList((i) => (i === 2 && asked++ < 2 ? "Disconnected" : "Connected"))),
      false,
    );
    await ctx.scliMust("node1", "x", ctx.scli.login("admin", "MDM_PASSWORD"));
    await waitSdsConnected(ctx, "node1", "StorageLayout", spec.machines, { pollMs: 1 });
    expect(asked).toBe(3);
    expect(ctx.changes).toEqual([]);
  });

  it("up: fails naming the node and the fix when it stays disconnected", async () => {
    const { ctx } = context(
      mdmAnswers(() => sdsList((i) => (i === 3 ? "Disconnected" : "Connected"))),
      false,
    );
    await expect(
      waitSdsConnected(ctx, "node1", "StorageLayout", spec.machines, {
        timeoutMs: 20,
        pollMs: 5,
      }),
    ).rejects.toThrow(
      /the MDM still shows node3 Disconnected after 0 s\. SDS node3 of node3 \(10\.0\.0\.3\): on node3 check `systemctl status sds`/,
    );
  });
});

describe("up: HostPackages starts and enables exactly the stopped or disabled units", () => {
  const up = (units: string) => {
    const { ctx, hosts } = context(node2(units), false);
    hosts.answer = ((h, c) =>
      c.startsWith("systemctl enable") || c.startsWith("systemctl start")
        ? ok()
        : node2(units)(h, c)) as Answer;
    return { ctx, hosts };
  };

  it("runs nothing when every service runs", async () => {
    const { ctx, hosts } = up(show(["mdm", "sds", "scini"]));
    expect(await installPackages(ctx, "node2")).toEqual({ installed: [] });
    expect(ctx.changes).toEqual([]);
    expect(hosts.uploads).toEqual([]);
  });

  it("starts a stopped sds and enables and starts a disabled, stopped scini, recorded", async () => {
    const { ctx } = up(
      show(["mdm", "sds", "scini"], {
        sds: ["enabled", "inactive"],
        scini: ["disabled", "inactive"],
      }),
    );
    await installPackages(ctx, "node2");
    expect(ctx.changes.map((c) => c.command)).toEqual([
      "systemctl enable --now scini.service && systemctl start sds.service",
    ]);
  });

  it("refuses a masked unit before any change, naming the fix", async () => {
    const { ctx } = up(show(["mdm", "sds", "scini"], { sds: ["masked", "inactive", "masked"] }));
    await expect(installPackages(ctx, "node2")).rejects.toThrow(
      /\[node2\] HostPackages: service sds is masked; run `systemctl unmask sds` on node2/,
    );
    expect(ctx.changes).toEqual([]);
  });
});

describe("up: the Gateway stage starts its service when it is stopped", () => {
  it("starts it (recorded), nothing when it runs", async () => {
    const { ctx, hosts } = context(() => ok(), false);
    await ensureGatewayRunning(ctx, "node1", "active");
    expect(hosts.asked).toEqual([]);
    await ensureGatewayRunning(ctx, "node1", "failed");
    expect(ctx.changes.map((c) => c.command)).toEqual(["systemctl start scaleio-gateway"]);
  });
});

describe("refresh: the volume plugin while the gateway's service is stopped", () => {
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  // A healthy plugin whose config was written by hand: seen only when the gateway answers.
  const plugin = [
    "bin=",
    `config=${"d".repeat(64)}`,
    "ca=",
    `unit=${sha(pluginUnitText())}`,
    "dirMode=700",
    "configMode=600 root",
    "enabled=enabled",
    "active=active",
    "socket=1",
  ].join("\n");
  const noCert: PluginSettingsOf = async () => {
    throw new Error("VolumePlugin: no TLS certificate on 127.0.0.1:443 (is the gateway running?)");
  };
  const hosts = (gateway: string) =>
    context((h, c) =>
      c === "systemctl is-active scaleio-gateway"
        ? { code: gateway === "active" ? 0 : 3, stdout: `${gateway}\n`, stderr: "" }
        : ok(plugin),
    );

  it("checks the rest and leaves the gateway to the Gateway resource", async () => {
    const { ctx, hosts: asked } = hosts("inactive");
    expect((await observeVolumePlugin(ctx, "node2", noCert)).drift).toEqual([]);
    expect(asked.asked.filter((a) => a.host === "node1").map((a) => a.command)).toEqual([
      "systemctl is-active scaleio-gateway",
    ]);
  });

  it("a gateway that runs but gives no certificate is the probe's failure", async () => {
    const { ctx } = hosts("active");
    await expect(observeVolumePlugin(ctx, "node2", noCert)).rejects.toThrow(/no TLS certificate/);
  });
});
