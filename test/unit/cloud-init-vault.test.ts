// The first-boot script's CentOS 7 repo rewrite with a hostile centos7VaultUrl that bypassed
// config validation (issue 17 finding 2): run for real with bash and sed on fake repo files, it
// writes the URL into them as text and runs nothing else.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { userData, vaultRewriteLines } from "../../src/providers/cloud-init";

const REPO = [
  "[base]",
  "name=CentOS-$releasever - Base",
  "mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os",
  "#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/",
  "gpgcheck=1",
  "",
].join("\n");

/** Payloads that would each create the file INJECTED (in the working folder) if they ran. */
const HOSTILE = [
  `https://vault.centos.org/7.9.2009|' "$f"; touch INJECTED; : '`,
  "https://vault.centos.org/$(touch INJECTED)",
  "https://vault.centos.org/`touch INJECTED`",
  `https://vault.centos.org/'$(touch INJECTED)'`,
  `https://vault.centos.org/"; touch INJECTED; "`,
  "https://vault.centos.org/x|e touch INJECTED|",
  "https://vault.centos.org/x|;e touch INJECTED;|",
  "https://vault.centos.org/a&b\\1\\\\c|d",
  "https://vault.centos.org/x' -e 'e touch INJECTED' -e '",
];

describe("user data: the vault rewrite with a hostile URL", () => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-vault-"));
    fs.mkdirSync(path.join(dir, "repos"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the rewrite lines with bash (as root's first boot would, on a copy of the repo dir). */
  function rewrite(url: string): string {
    fs.writeFileSync(path.join(dir, "repos", "CentOS-Base.repo"), REPO);
    const script = ["set -euo pipefail", ...vaultRewriteLines(url)]
      .join("\n")
      .replace("/etc/yum.repos.d/", `${dir}/repos/`);
    expect(script).toContain(`${dir}/repos/CentOS-*.repo`);
    execFileSync("bash", ["-c", script], { cwd: dir, stdio: "pipe" });
    return fs.readFileSync(path.join(dir, "repos", "CentOS-Base.repo"), "utf8");
  }

  it("points the repo at a normal vault URL", () => {
    const text = rewrite("https://vault.centos.org/7.9.2009");
    expect(text).toContain("#mirrorlist=http://mirrorlist.centos.org/");
    expect(text).toContain("\nbaseurl=https://vault.centos.org/7.9.2009/os/$basearch/\n");
  });

  it.each(HOSTILE)("%s: written as text, nothing run", (url) => {
    const text = rewrite(url);
    expect(fs.existsSync(path.join(dir, "INJECTED"))).toBe(false);
    expect(text.split("\n")).toContain(`baseurl=${url}/os/$basearch/`);
    expect(text).toContain("#mirrorlist=");
  });

  it("the whole script stays valid shell with each payload; a line break is refused", () => {
    for (const url of HOSTILE) {
      const script = userData({ os: "centos7", hostname: "node1", centos7VaultUrl: url });
      execFileSync("bash", ["-n", "-c", script], { stdio: "pipe" });
    }
    for (const url of ["https://v/x\nid", "https://v/x\r\nid"]) {
      expect(() => userData({ os: "centos7", hostname: "node1", centos7VaultUrl: url })).toThrow(
        /centos7VaultUrl contains a line break/,
      );
    }
  });
});
