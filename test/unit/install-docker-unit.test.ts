import { describe, expect, it } from "vitest";
import {
  deviceUnit,
  dockerDropIn,
  mountUnitText,
  systemdEscapePath,
  waitUnitText,
} from "../../src/install/stages/docker";

describe("docker mount unit", () => {
  const dev = "/dev/disk/by-id/emc-vol-1a2b3c4d5e6f7a8b-6e2b2b3400000000";

  it("escapes paths like systemd-escape --path", () => {
    expect(systemdEscapePath("/var/lib/docker")).toBe("var-lib-docker");
    expect(systemdEscapePath(dev)).toBe(
      "dev-disk-by\\x2did-emc\\x2dvol\\x2d1a2b3c4d5e6f7a8b\\x2d6e2b2b3400000000",
    );
    expect(systemdEscapePath("/")).toBe("-");
    expect(systemdEscapePath("/a/.hidden")).toBe("a-.hidden");
    expect(systemdEscapePath("/.x")).toBe("\\x2ex");
  });

  it("mounts the by-id device at /var/lib/docker after the SDC and the device, before docker", () => {
    const t = mountUnitText(dev, "docker_node1");
    const dunit = deviceUnit(dev);
    expect(t).toContain(`What=${dev}`);
    expect(t).toContain("Where=/var/lib/docker");
    expect(t.split("\n")).toContain(
      `Requires=scini.service arrowhead-docker-volume.service ${dunit}`,
    );
    expect(t.split("\n")).toContain(
      `After=scini.service arrowhead-docker-volume.service ${dunit} network-online.target`,
    );
    expect(t).toMatch(/^Before=docker\.service$/m);
    expect(t).toMatch(/^WantedBy=docker\.service multi-user\.target$/m);
    expect(t).not.toContain("scinia");
  });

  it("leaves the device unit out where udev is absent", () => {
    const t = mountUnitText(dev, "v", false);
    expect(t).toMatch(/^Requires=scini\.service arrowhead-docker-volume\.service$/m);
    expect(t).not.toContain(".device");
  });

  it("a oneshot waits for the device after boot (systemd-escaped $)", () => {
    const w = waitUnitText(dev, "v");
    expect(w).toMatch(/^After=scini\.service$/m);
    expect(w).toMatch(/^Before=var-lib-docker\.mount$/m);
    expect(w).toContain(`until [ -b ${dev} ]`);
    expect(w).toContain("n=$$((n+1))");
    expect(w).toMatch(/^WantedBy=var-lib-docker\.mount$/m);
  });

  it("docker requires the mount", () => {
    expect(dockerDropIn()).toContain("RequiresMountsFor=/var/lib/docker");
  });
});
