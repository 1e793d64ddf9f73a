import { describe, expect, it } from "vitest";
import { Redactor, stepLog, type LogLine } from "../../src/install/log";
import { SshSession, RemoteCommandError } from "../../src/install/ssh";
import { q } from "../../src/install/shell";

describe("secrets", () => {
  it("redacts every occurrence, longest first, and ignores trivial values", () => {
    const r = new Redactor(["s3cret-pw", "s3cret", "", undefined, "ab"]);
    expect(r.redact("pw=s3cret-pw other=s3cret ab")).toBe("pw=*** other=*** ab");
  });

  it("the step logger redacts every stream and tags host and step", () => {
    const lines: LogLine[] = [];
    const log = stepLog((l) => lines.push(l), new Redactor(["hunter22"]), "node1", "cluster");
    log.info("$ scli --login");
    log.stdout("echo hunter22\nsecond line\r\n");
    log.child("verify").stderr("bad hunter22");
    expect(lines).toEqual([
      { host: "node1", step: "cluster", stream: "info", text: "$ scli --login" },
      { host: "node1", step: "cluster", stream: "stdout", text: "echo ***" },
      { host: "node1", step: "cluster", stream: "stdout", text: "second line" },
      { host: "node1", step: "verify", stream: "stderr", text: "bad ***" },
    ]);
  });

  it("secret values go to stdin: the remote command line only names variables", () => {
    const line = SshSession.wrap('scli --login --password "$MDM_PASSWORD"', ["MDM_PASSWORD"], true);
    expect(line).toBe(
      `sudo -n sh -c ${q('IFS= read -r MDM_PASSWORD || exit 90; export MDM_PASSWORD; scli --login --password "$MDM_PASSWORD"')}`,
    );
    expect(SshSession.wrap("id -u", [], false)).toBe("sh -c 'id -u'");
  });

  it("command errors name host, step, command, exit status, and never the secret", () => {
    const e = new RemoteCommandError(
      "node2",
      "packages",
      "yum install -y x.rpm",
      { code: 1, stdout: "", stderr: "line1\nfailed with password topsecret1" },
      (s) => new Redactor(["topsecret1"]).redact(s),
    );
    expect(e.message).toContain(
      "[node2] packages: command failed with exit status 1: yum install -y x.rpm",
    );
    expect(e.message).toContain("failed with password ***");
    expect(e.message).not.toContain("topsecret1");
  });
});
