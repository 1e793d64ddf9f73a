// Issue 17, finding 1, replayed on lab hosts: a local user prepares the installer's staging
// folders before an install. As `nobody` on node2 (installed through sudo as `centos`) and
// node3 (root login): the old staging folders /var/tmp/arrowhead/{rpms,bin} with a fake
// `scaleio-volume-plugin` (a script writing `id` to a file) and a `.sha256` stamp carrying the
// real build's hash, and fake RPMs with stamps. The installer must ignore them: the fake script
// never runs, nothing the attacker placed is installed, and everything it stages is root-only
// all the way up. A staging folder that is not root-only (here: owned by `nobody`) is refused
// with the path named and nothing installed from it; a staged copy changed behind the
// installer's back is replaced, not installed. A second install uploads and changes nothing.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import { labSh, requireRoot, startInstallLab, stopInstallLab } from "./fixtures";
import type { LogLine } from "../../src/install/log";
import { ensurePluginBinary, type PluginBinary } from "../../src/install/plugin-build";
import { runInstall, type InstallResult } from "../../src/install/runner";
import { q } from "../../src/install/shell";
import type { InstallSpec } from "../../src/install/spec";
import { ARROWHEAD_HOST_DIR, STAGING_ROOT } from "../../src/install/upload";

const PLUGIN = "scaleio-volume-plugin";
const BIN = `/usr/local/bin/${PLUGIN}`;
const OLD = "/var/tmp/arrowhead";
/** Where the fake plugin writes `id` when anything runs it (a folder the attacker owns). */
const PWNED = `${OLD}/pwned`;
const NOBODY = 65534;
const MDM_PASSWORD = "Stg-Mdm-Pw1";
const SCLI_ARGV_LOG = "/var/log/scli-argv.log";

requireRoot();

describe("staging folder attack (issue 17, finding 1)", () => {
  let lab: Lab;
  let tmp: string;
  let rpmDir: string;
  let spec: InstallSpec;
  let plugin: PluginBinary;
  const logs: LogLine[] = [];
  const attacked = ["node2", "node3"];

  const install = (): Promise<InstallResult> => runInstall(spec, { log: (l) => logs.push(l) });
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  /** Run as `nobody` (uid and gid 65534, no other groups). */
  const asNobody = (host: string, cmd: string) =>
    lab.exec(host, `setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups sh -c ${q(cmd)}`);
  const rpmFiles = () => fs.readdirSync(rpmDir).filter((f) => f.endsWith(".rpm"));
  const sha256Of = async (host: string, file: string) =>
    (await sh(host, `sha256sum ${q(file)} | cut -c1-64`)).trim();

  /** What `nobody` plants: the old staging tree, a fake plugin + stamp, fake RPMs + stamps. */
  const plant = async (host: string) => {
    const fake = `#!/bin/sh\nid >> ${PWNED}\nexec sleep 100000\n`;
    const stampOf = (sha: string, f: string) =>
      `printf '%s\\n' ${sha} "$(stat -c '%s %Y %i' ${f})"`;
    const lines = [
      `mkdir -p ${OLD}/rpms ${OLD}/bin && chmod 0777 ${OLD} ${OLD}/rpms ${OLD}/bin`,
      `printf %s ${q(fake)} > ${OLD}/bin/${PLUGIN} && chmod 0755 ${OLD}/bin/${PLUGIN}`,
      `${stampOf(plugin.sha256, `${OLD}/bin/${PLUGIN}`)} > ${OLD}/bin/${PLUGIN}.sha256`,
    ];
    for (const f of rpmFiles()) {
      const real = fs.readFileSync(path.join(rpmDir, f));
      const sha = createHash("sha256").update(real).digest("hex");
      lines.push(`printf %s ${q(fake)} > ${OLD}/rpms/${f}`);
      lines.push(`${stampOf(sha, `${OLD}/rpms/${f}`)} > ${OLD}/rpms/${f}.sha256`);
    }
    const r = await asNobody(host, lines.join(" && "));
    expect(r.code, r.stderr).toBe(0);
  };
  /** The attacker's files, with hashes, to show later that nothing touched them. */
  const attackerTree = (host: string) =>
    sh(host, `cd ${OLD} && find . -type f ! -name pwned -exec sha256sum {} + | sort`);

  beforeAll(async () => {
    plugin = ensurePluginBinary();
    ({ lab, spec, tmp, rpmDir } = await startInstallLab({
      name: "stg",
      tmpPrefix: "ah-stg-",
      clusterName: "stg",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Stg-Gw-Pw2",
      machine: (i) => ({ sudo: i === 1 }),
    }));
    spec = { ...spec, volumePluginBinary: plugin };
    // Finding 5: every scli command line on node1 (the master) is recorded by a wrapper first
    // on root's PATH, from the cluster's creation on.
    await sh(
      "node1",
      `printf '%s\\n' '#!/bin/sh' 'printf "%s\\n" "$*" >> ${SCLI_ARGV_LOG}' 'exec /usr/bin/scli "$@"' ` +
        `> /usr/local/bin/scli && chmod 0755 /usr/local/bin/scli`,
    );
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
  });

  it("a local user cannot create the new staging folder, and a planted one is refused", async () => {
    for (const h of attacked) await plant(h);
    // nobody cannot make /var/lib/arrowhead: /var/lib is root's.
    const made = await asNobody("node2", `mkdir ${ARROWHEAD_HOST_DIR}`);
    expect(made.code).not.toBe(0);
    // A staging folder someone else owns (a careless admin, an old tool): refused, not adopted.
    await sh(
      "node3",
      `mkdir -p ${STAGING_ROOT}/bin && chown -R ${NOBODY}:${NOBODY} ${ARROWHEAD_HOST_DIR}`,
    );
    await asNobody(
      "node3",
      `cp ${OLD}/bin/${PLUGIN} ${STAGING_ROOT}/bin/${PLUGIN} && cp -r ${OLD}/rpms ${STAGING_ROOT}/`,
    ).then((r) => expect(r.code, r.stderr).toBe(0));
    const e = await install().catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(
      new RegExp(
        `\\[node3\\] HostPackages: refused to stage or install: unsafe: ${STAGING_ROOT}/rpms is owned by uid ${NOBODY}, not root`,
      ),
    );
    expect((await lab.exec("node3", "rpm -q EMC-ScaleIO-sds")).code).not.toBe(0);
    expect((await lab.exec("node3", `test -e ${BIN}`)).code).not.toBe(0);
    // Still owned by nobody: the installer changed nothing there.
    expect(await sh("node3", `stat -c %u ${ARROWHEAD_HOST_DIR} ${STAGING_ROOT}/rpms`)).toBe(
      `${NOBODY}\n${NOBODY}`,
    );
  });

  it("installs from its own root-only staging only: the planted files never run or get installed", async () => {
    const before = Object.fromEntries(
      await Promise.all(attacked.map(async (h) => [h, await attackerTree(h)] as const)),
    );
    await sh("node3", `rm -rf ${ARROWHEAD_HOST_DIR}`); // the fix the error named
    await install();
    for (const h of lab.hosts) {
      expect(await sha256Of(h.name, BIN)).toBe(plugin.sha256);
      expect(await sh(h.name, `systemctl is-active ${PLUGIN}`)).toBe("active");
      // Every staged folder and file: root's, not writable by group or others, up to /.
      expect(
        await sh(h.name, `find ${ARROWHEAD_HOST_DIR} \\( ! -user root -o -perm /022 \\) -print`),
      ).toBe("");
      expect(
        await sh(
          h.name,
          `stat -c '%a %U' ${ARROWHEAD_HOST_DIR} ${STAGING_ROOT} ${STAGING_ROOT}/bin`,
        ),
      ).toBe("700 root\n700 root\n700 root");
      expect(await sha256Of(h.name, `${STAGING_ROOT}/bin/${PLUGIN}`)).toBe(plugin.sha256);
      // No upload folder left behind.
      expect(await sh(h.name, "ls -d /var/tmp/arrowhead-upload.* 2>/dev/null; true")).toBe("");
    }
    for (const h of attacked) {
      // The fake never ran, as root or otherwise; the attacker's files are as planted.
      expect((await lab.exec(h, `test -e ${PWNED}`)).code).not.toBe(0);
      expect(await attackerTree(h)).toBe(before[h]);
      // The installed packages are the real ones (rpm verifies their files against the header).
      expect(await sh(h, "rpm -V EMC-ScaleIO-sds && echo verified")).toBe("verified");
      for (const f of rpmFiles())
        expect(await sha256Of(h, `${STAGING_ROOT}/rpms/${f}`)).not.toBe(
          await sha256Of(h, `${OLD}/rpms/${f}`),
        );
    }
  });

  it("a second install uploads nothing and changes nothing", async () => {
    const from = logs.length;
    const r = await install();
    expect(r.changes).toEqual([]);
    expect(logs.slice(from).filter((l) => /uploading /.test(l.text))).toEqual([]);
  });

  it("a staged copy changed behind its back is replaced, never installed", async () => {
    // As root (only root can write there now): the staged plugin swapped, the installed one gone.
    await sh(
      "node2",
      `cp ${OLD}/bin/${PLUGIN} ${STAGING_ROOT}/bin/${PLUGIN} && chmod 0600 ${STAGING_ROOT}/bin/${PLUGIN} ` +
        `&& systemctl stop ${PLUGIN} && rm -f ${BIN}`,
    );
    const from = logs.length;
    await install();
    expect(await sha256Of("node2", BIN)).toBe(plugin.sha256);
    expect(await sha256Of("node2", `${STAGING_ROOT}/bin/${PLUGIN}`)).toBe(plugin.sha256);
    expect(
      logs
        .slice(from)
        .some((l) => l.host === "node2" && /uploading scaleio-volume-plugin/.test(l.text)),
    ).toBe(true);
    expect((await lab.exec("node2", `test -e ${PWNED}`)).code).not.toBe(0);
  });

  it("scli gets the MDM passwords on stdin, never in its argv (finding 5)", async () => {
    const argv = await sh("node1", `cat ${SCLI_ARGV_LOG}`);
    expect(argv).toMatch(/^--login --username admin /m);
    expect(argv).toMatch(/^--set_password /m);
    expect(argv).not.toContain(MDM_PASSWORD);
    expect(argv).not.toMatch(/--password|--old_password|--new_password/);
  });
});
