// The demo's "left over" processes: only Pulumi's own processes with the demo's PULUMI_HOME
// count, never a user's shell command that ran the demo's printed `export` line, nor the npm
// that runs `demo down` itself (a new user's try found both killed).
// The closing screen's `down` line carries the settings that picked the demo.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPulumiCommand, pulumiProcesses } from "../../scripts/demo/procs";
import { downLine } from "../../scripts/demo/next-steps";
import { statePath } from "../../scripts/demo/paths";

describe("isPulumiCommand", () => {
  it.each([
    ["pulumi up --yes", true],
    ["/var/cache/arrowhead-pulumi/v3.248.0/bin/pulumi-language-nodejs 127.0.0.1:41769", true],
    ["/usr/bin/node /r/node_modules/@pulumi/pulumi/cmd/run/index.js --monitor x", true],
    ["node /r/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js 127.0.0.1:1", true],
    ["bash", false],
    ["sleep 15", false],
    ["npm run demo -- down", false],
    ["node /r/node_modules/.bin/tsx scripts/demo/main.ts down", false],
  ])("%s -> %s", (cmd, want) => expect(isPulumiCommand(cmd)).toBe(want));
});

describe("pulumiProcesses", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "demo-procs-"));
  const saved = process.env.ARROWHEAD_DEMO_STATE;
  const children: ChildProcess[] = [];
  const start = (exe: string) => {
    process.env.ARROWHEAD_DEMO_STATE = dir;
    const env = { ...process.env, PULUMI_HOME: statePath("pulumi-home") };
    const c = spawn(exe, ["30"], { env, stdio: "ignore" });
    children.push(c);
    return c.pid!;
  };
  let shellCommand: number;
  let pulumiNamed: number;

  beforeAll(async () => {
    // A process named like a Pulumi plugin (a link to sleep) and a plain sleep, both with the
    // demo's PULUMI_HOME, as the user's shell would start them after the `export` line.
    fs.symlinkSync(fs.realpathSync("/bin/sleep"), path.join(dir, "pulumi-resource-fake"));
    shellCommand = start("sleep");
    pulumiNamed = start(path.join(dir, "pulumi-resource-fake"));
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    if (saved === undefined) delete process.env.ARROWHEAD_DEMO_STATE;
    else process.env.ARROWHEAD_DEMO_STATE = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("finds Pulumi's processes with the demo's PULUMI_HOME and leaves the user's others alone", () => {
    process.env.ARROWHEAD_DEMO_STATE = dir;
    const pids = pulumiProcesses().map((p) => p.pid);
    expect(pids).toContain(pulumiNamed);
    expect(pids).not.toContain(shellCommand);
  });
});

describe("downLine", () => {
  it("repeats the settings that picked this demo, quoted", () => {
    expect(downLine({})).toBe("npm run demo -- down");
    expect(
      downLine({ ARROWHEAD_DEMO_STATE: "/var/lib/my demo", ARROWHEAD_DEMO_PORT: "2501" }),
    ).toBe("ARROWHEAD_DEMO_STATE='/var/lib/my demo' ARROWHEAD_DEMO_PORT=2501 npm run demo -- down");
  });
});
