// Issue 17 finding 2 replayed on a lab host: the centos7VaultUrl payload that ran `id` as root at
// first boot, put (bypassing config validation) into the user data's repo rewrite, run as root
// on a host dressed as CentOS 7. It must become text in the repo file and run nothing. A control
// run of the old, unquoted rendering shows that this replay does catch an injection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, startLab } from "./hosts";
import { requireRoot } from "./fixtures";
import { vaultRewriteLines } from "../../src/providers/cloud-init";

requireRoot();

const MARK = "/tmp/arrowhead-injected";
const PAYLOAD = `https://vault.centos.org/7.9.2009|' "$f"; id > ${MARK}; : '`;
const REPO = "/etc/yum.repos.d/CentOS-Base.repo";

/** A user-data fragment as cloud-init runs it: a bash script file, executed by root. */
function asUserData(lines: string[]): string {
  const script = ["#!/bin/bash", "set -euo pipefail", ...lines].join("\n");
  return `cat > /root/vault-rewrite.sh <<'ARROWHEAD_END'\n${script}\nARROWHEAD_END\nbash /root/vault-rewrite.sh`;
}

describe("the centos7VaultUrl payload on a lab host (issue 17)", () => {
  let lab: Lab;
  let original = "";

  beforeAll(async () => {
    lab = await startLab({ name: "vlt", hosts: 1, log: (m) => console.log(m) });
    original = (await lab.exec("node1", `cat ${REPO}`)).stdout;
    expect(original).toContain("#baseurl=http://mirror.centos.org/centos/$releasever/");
  });

  afterAll(async () => {
    await lab?.down();
  });

  const reset = async () => {
    const r = await lab.exec(
      "node1",
      `rm -f ${MARK} && cat > ${REPO} <<'ARROWHEAD_END'\n${original.replace(/\n?$/, "\n")}ARROWHEAD_END`,
    );
    expect(r.code, r.stderr).toBe(0);
  };

  it("run as root, the user data writes the payload into the repo file as text and runs nothing", async () => {
    await reset();
    const r = await lab.exec("node1", asUserData(vaultRewriteLines(PAYLOAD)));
    expect(r.code, r.stderr).toBe(0);
    expect((await lab.exec("node1", `test -e ${MARK}`)).code).not.toBe(0);
    const repo = (await lab.exec("node1", `cat ${REPO}`)).stdout;
    expect(repo.split("\n")).toContain(`baseurl=${PAYLOAD}/os/$basearch/`);
    expect(repo).toContain("#mirrorlist=");
  });

  it("control: the old unquoted rendering of the same line does run the payload's command", async () => {
    await reset();
    // The sed line as src/providers/cloud-init.ts wrote it before the fix (1350857).
    const old = [
      "for f in /etc/yum.repos.d/CentOS-*.repo; do",
      '  [ -e "$f" ] || continue',
      `  sed -i -e 's/^mirrorlist=/#mirrorlist=/' -e 's|^#\\?baseurl=http://mirror.centos.org/centos/$releasever|baseurl=${PAYLOAD}|' "$f"`,
      "done",
    ];
    await lab.exec("node1", asUserData(old));
    const mark = await lab.exec("node1", `cat ${MARK}`);
    expect(mark.code).toBe(0);
    expect(mark.stdout).toMatch(/^uid=0\(root\)/);
    await reset();
  });
});
