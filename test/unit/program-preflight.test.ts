// Bad input fails before anything is created: no resource may be registered.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PASSWORDS, runProgram } from "./support/program";

describe("program preflight", () => {
  it("rejects a missing RPM set before registering any resource", async () => {
    const emptyRpmDir = mkdtempSync(join(tmpdir(), "arrowhead-no-rpms-"));
    const registered: string[] = [];
    await expect(
      runProgram(
        {
          cloud: "aws",
          allowedCidr: "203.0.113.7/32",
          aws: { region: "eu-west-1" },
          rpmDir: emptyRpmDir,
        },
        PASSWORDS,
        "dev",
        (type) => registered.push(type),
      ),
    ).rejects.toThrow(
      /no ScaleIO packages \(EMC-ScaleIO-\*\.rpm\) in .*arrowhead-no-rpms-.*assets\/rpms\/README\.md/,
    );
    expect(registered).toEqual([]);
  });
});
