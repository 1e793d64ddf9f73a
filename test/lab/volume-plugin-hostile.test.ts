// Issue 17, finding 4: hostile inputs sent as root straight to the volume plugin's socket
// (/run/docker/plugins/scaleio.sock, Docker's plugin protocol over HTTP, without Docker in
// between) on installed lab hosts with the emulator's packages. Each is refused with an error
// that names the option or the name rule, no ScaleIO volume is created, and the plugin's
// state.json and the host's file system stay as they were (no /tmp/evil).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import {
  importBusybox,
  labSh,
  requireRoot,
  startInstallLab,
  stopInstallLab,
  waitOn,
  PLUGIN_STATE as STATE,
  PLUGIN_MOUNTS as MOUNTS,
  PLUGIN_SOCKET as SOCKET,
  BUSYBOX_IMAGE as IMAGE,
} from "./fixtures";
import { runInstall } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";

const MDM_PASSWORD = "Hst-Mdm-Pw1";
const GATEWAY_PASSWORD = "Hst-Gw-Pw2";
const HOST = "node1";

requireRoot();

/** Names that must be refused by every handler before anything happens. */
const HOSTILE_NAMES = [
  "x/../../../../../../tmp/evil",
  "../../../../tmp/evil",
  "/tmp/evil",
  "..",
  "",
  "-rf",
  "a b",
  "a\nb",
  "$(touch /tmp/evil)",
  "a".repeat(256),
];

/** [options, the error each must produce (option, value, range, example)]. */
const HOSTILE_OPTIONS: [Record<string, string>, RegExp[]][] = [
  [
    { size: "17592186044424" },
    [
      /option size="17592186044424" is not valid: allowed values are .*from 1 to 1048576 .*e\.g\. size=16/,
    ],
  ],
  [
    { size: "9223372036854775807" },
    [/option size="9223372036854775807" is not valid: .*from 1 to 1048576/],
  ],
  [{ size: "1048577" }, [/option size="1048577" is not valid/]],
  [{ size: "-8" }, [/option size="-8" is not valid/]],
  [
    { iops: "2147483648" },
    [/option iops="2147483648" is not valid: .*>= 11 and <= 2147483647, e\.g\. iops=500/],
  ],
  [
    { bandwidthKBps: "2147483648" },
    [
      /option bandwidthKBps="2147483648" is not valid: .*multiple of 1024 from 1024 to 2147482624 KB\/s, e\.g\. bandwidthKBps=10240/,
    ],
  ],
  [
    { uid: "4294967296", gid: "4294967297" },
    [
      /option gid="4294967297" is not valid: allowed values are a numeric group id from 0 to 4294967294, e\.g\. gid=1000/,
      /option uid="4294967296" is not valid: allowed values are a numeric user id from 0 to 4294967294, e\.g\. uid=1000/,
    ],
  ],
  [{ uid: "4294967295" }, [/option uid="4294967295" is not valid/]],
  [{ mode: "010000" }, [/option mode="010000" is not valid: .*from 0 to 7777/]],
];

describe("volume plugin refuses hostile inputs on its socket", () => {
  let lab: Lab;
  let tmp: string;
  let gatewayIp: string;

  const exec = (host: string, cmd: string) => lab.exec(host, cmd);
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  /** POSTs body to the plugin's endpoint as root on HOST; returns the decoded reply. */
  const plugin = async (endpoint: string, body: unknown): Promise<Record<string, unknown>> => {
    const b64 = Buffer.from(JSON.stringify(body)).toString("base64");
    const out = await sh(
      HOST,
      `echo ${b64} | base64 -d | curl -s --max-time 90 --unix-socket ${SOCKET} -X POST ` +
        `-H 'Content-Type: application/vnd.docker.plugins.v1+json' --data-binary @- http://plugin${endpoint}`,
    );
    return JSON.parse(out) as Record<string, unknown>;
  };
  /** The ScaleIO volumes' names, as the gateway lists them. */
  const gatewayVolumes = async (): Promise<string[]> => {
    const base = `https://${gatewayIp}:443`;
    const token = JSON.parse(
      await sh(HOST, `curl -skf -u admin:${MDM_PASSWORD} ${base}/api/login`),
    ) as string;
    const vols = JSON.parse(
      await sh(HOST, `curl -skf -u :${token} ${base}/api/types/Volume/instances`),
    ) as { name: string }[];
    return vols.map((v) => v.name).sort();
  };
  /** What a refused request must leave unchanged on the host and in the cluster. */
  const snapshot = async () => ({
    state: await sh(HOST, `sha256sum ${STATE}`),
    mounts: await sh(HOST, `ls -A ${MOUNTS} 2>/dev/null; findmnt -rn -o TARGET | sort`),
    evil: (await exec(HOST, "ls -d /tmp/evil* 2>/dev/null")).stdout.trim(),
    volumes: await gatewayVolumes(),
  });

  beforeAll(async () => {
    let spec: InstallSpec;
    ({ lab, spec, tmp } = await startInstallLab({
      name: "hst",
      tmpPrefix: "ah-hst-",
      clusterName: "hst",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
    }));
    gatewayIp = lab.hosts[0].privateAddress;
    const res = await runInstall(spec, { log: () => {} });
    expect(res.timings.VolumePlugin).toBeGreaterThan(0);
    await importBusybox(lab, HOST);
    await waitOn(lab, HOST, `test -S ${SOCKET} -a -f ${STATE}`, 60);
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
  });

  it("refuses numbers out of range at Create, naming option, value, range and example", async () => {
    const before = await snapshot();
    for (const [opts, errors] of HOSTILE_OPTIONS) {
      const r = await plugin("/VolumeDriver.Create", { Name: "hstvol", Opts: opts });
      const label = JSON.stringify(opts);
      expect(r.Err, label).toEqual(expect.any(String));
      for (const re of errors) expect(r.Err, label).toMatch(re);
    }
    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.volumes).not.toContain("dv-hstvol");
  });

  it("every handler refuses hostile names; state.json and the host are unchanged", async () => {
    const before = await snapshot();
    const calls: [string, (name: string) => unknown][] = [
      ["/VolumeDriver.Create", (n) => ({ Name: n, Opts: { size: "8" } })],
      ["/VolumeDriver.Mount", (n) => ({ Name: n, ID: "0123456789abcdef" })],
      ["/VolumeDriver.Unmount", (n) => ({ Name: n, ID: "0123456789abcdef" })],
      ["/VolumeDriver.Path", (n) => ({ Name: n })],
      ["/VolumeDriver.Get", (n) => ({ Name: n })],
      ["/VolumeDriver.Remove", (n) => ({ Name: n })],
      ["/ScaleIO.RequestTakeover", (n) => ({ Name: n })],
    ];
    let refused = 0;
    for (const [endpoint, body] of calls)
      for (const name of HOSTILE_NAMES) {
        const r = await plugin(endpoint, body(name));
        expect(r.Err, `${endpoint} ${JSON.stringify(name)}`).toMatch(
          /volume name .* is not valid: use 1 to 255 characters of \[a-zA-Z0-9_.-\], starting with a letter or digit, e\.g\. data1/,
        );
        expect(r.Mountpoint ?? "", endpoint).toBe("");
        refused++;
      }
    expect(refused).toBe(calls.length * HOSTILE_NAMES.length);
    // Capabilities takes no name and still answers.
    expect(await plugin("/VolumeDriver.Capabilities", {})).toMatchObject({
      Capabilities: { Scope: "global" },
    });
    expect(await snapshot()).toEqual(before);
    expect(await sh(HOST, `cat ${STATE}`)).not.toContain("evil");
  });

  it("hostile mount IDs are refused; a failed mount leaves state.json as it was", async () => {
    const before = await snapshot();
    const id = await plugin("/VolumeDriver.Mount", { Name: "hstvol", ID: "../../../tmp/evil" });
    expect(id.Err).toMatch(/volume hstvol: mount ID "\.\.\/\.\.\/\.\.\/tmp\/evil" is not valid/);
    // A valid name with no ScaleIO volume behind it: the mount fails after asking the gateway,
    // and the plugin records nothing for it.
    const ghost = await plugin("/VolumeDriver.Mount", { Name: "hstghost", ID: "0123abcd" });
    expect(ghost.Err).toMatch(/volume hstghost: no ScaleIO volume dv-hstghost/);
    expect(await snapshot()).toEqual(before);
    expect(await sh(HOST, `cat ${STATE}`)).not.toContain("hstghost");
  });

  it("the bounds themselves work: uid/gid 4294967294 own the data folder, inspect agrees", async () => {
    await sh(
      HOST,
      "docker volume create -d scaleio -o size=1 -o uid=4294967294 -o gid=4294967294 hstok",
    );
    const owner = await sh(
      HOST,
      // nocopy: without it Docker's copy-up chowns the volume to the image directory's owner
      // (moby copyExistingContents -> copyOwnership), whatever the plugin set.
      `docker run --rm --volume-driver scaleio -v hstok:/data:nocopy ${IMAGE} stat -c '%u:%g %a' /data`,
    );
    expect(owner).toBe("4294967294:4294967294 755");
    const st = JSON.parse(
      await sh(HOST, "docker volume inspect hstok --format '{{json .Status}}'"),
    ) as Record<string, string>;
    expect(st).toMatchObject({ size: "8 GB", mode: "0755 uid=4294967294 gid=4294967294" });
    await sh(HOST, "docker volume rm hstok");
    expect(await gatewayVolumes()).not.toContain("dv-hstok");
  });
});
