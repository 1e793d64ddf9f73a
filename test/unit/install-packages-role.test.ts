import { describe, expect, it } from "vitest";
import { SshSession } from "../../src/install/ssh";
import {
  installCommand,
  MDM_CONF,
  parseMdmRole,
  wrongMdmRole,
  type PackageJob,
} from "../../src/install/stages/packages";
import type { RpmFile } from "../../src/install/rpms";

describe("tie-breaker role", () => {
  it("reads the role the MDM package recorded, in both spellings", () => {
    expect(parseMdmRole("1\n")).toBe("manager");
    expect(parseMdmRole("true")).toBe("manager");
    expect(parseMdmRole("0")).toBe("tiebreaker");
    expect(parseMdmRole("false\n")).toBe("tiebreaker");
    expect(parseMdmRole("")).toBeUndefined();
  });

  it("finds a node installed in the wrong role and says how to fix it", () => {
    expect(wrongMdmRole("node3", "tiebreaker", "tiebreaker")).toBeUndefined();
    expect(wrongMdmRole("node1", "master", "manager")).toBeUndefined();
    expect(wrongMdmRole("node2", "slave", "manager")).toBeUndefined();
    expect(wrongMdmRole("node3", "tiebreaker", undefined)).toBeUndefined();
    const tb = wrongMdmRole("node3", "tiebreaker", "manager")!;
    expect(tb).toContain("[node3] HostPackages: the MDM on node3 was installed as a manager");
    expect(tb).toContain(`${MDM_CONF}: actor_role_is_manager=1`);
    expect(tb).toContain("I_AM_SURE=1 rpm -e EMC-ScaleIO-mdm");
    expect(tb).toContain("sets MDM_ROLE_IS_MANAGER=0");
    const slave = wrongMdmRole("node2", "slave", "tiebreaker")!;
    expect(slave).toMatch(
      /installed as a tie-breaker .*makes it the slave .*MDM_ROLE_IS_MANAGER=1/,
    );
  });

  it("puts MDM_ROLE_IS_MANAGER inside the same privileged command as yum (sudo resets the environment)", () => {
    const job: PackageJob = {
      component: "mdm",
      rpm: { file: "m.rpm" } as RpmFile,
      env: { MDM_ROLE_IS_MANAGER: "0" },
      secrets: [],
    };
    const line = SshSession.wrap(installCommand(job, "/var/tmp/m.rpm"), [], true);
    expect(line).toBe(`sudo -n sh -c 'env MDM_ROLE_IS_MANAGER=0 yum install -y /var/tmp/m.rpm'`);
    // Never "VAR=x sudo ...": the variable must be set after sudo, inside its command.
    expect(line.indexOf("MDM_ROLE_IS_MANAGER")).toBeGreaterThan(line.indexOf("sudo"));
  });
});
