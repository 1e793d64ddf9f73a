// scripts/pulumi.ts: the arguments it takes in place of `pulumi preview|up|refresh|destroy`.
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../scripts/pulumi";

describe("npm run pulumi -- <command>", () => {
  it.each([
    [["up", "--yes"], { command: "up" }],
    [["preview"], { command: "preview" }],
    [["destroy", "-y", "--stack", "dev"], { command: "destroy", stack: "dev" }],
    [["refresh", "--stack=prod", "--non-interactive"], { command: "refresh", stack: "prod" }],
  ])("takes %j", (argv, want) => {
    expect(parseArgs(argv)).toEqual(want);
  });

  it.each([
    [[], /usage: npm run pulumi -- <preview\|up\|refresh\|destroy>/],
    [["import"], /usage:/],
    [
      ["up", "--target", "x"],
      /unknown option --target; this wrapper takes --stack <name> and --yes/,
    ],
    [["up", "--stack"], /--stack needs a stack name/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
