// Stages run on a scripted HostRunner: what a stage sends is what the script sees, a change is
// recorded once (through the journal's one call), a read-only command is counted but recorded
// as no change, and a failing command rejects as it does over SSH unless the stage checks it.
import { describe, expect, it } from "vitest";
import { InstallContext } from "../../src/install/context";
import type { RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import { RemoteCommandError } from "../../src/install/ssh";
import { teardownDocker } from "../../src/install/stages/docker";
import { fail, ok, ScriptedHosts, type Answer } from "./support/scripted-hosts";

const spec = {
  machines: [{ name: "node1", mdm: "master", privateAddress: "10.0.0.1" }],
  mdmPassword: "Lab-Mdm-Pw1",
  gatewayPassword: "Gw-pass1",
  privateKey: "unused",
} as unknown as InstallSpec;

const run = (answer: Answer) => {
  const hosts = new ScriptedHosts(answer);
  const ctx = new InstallContext(
    spec,
    { dialect: "3.x" } as RpmSet,
    { log: () => undefined },
    hosts,
  );
  return { hosts, ctx };
};

describe("a stage on the scripted runner", () => {
  it("teardownDocker on a host without Docker's mount unit: one query, no change", async () => {
    const { hosts, ctx } = run(() => fail(1));
    await teardownDocker(ctx, "node1");
    expect(hosts.asked.map((a) => a.command)).toEqual([
      "test -f /etc/systemd/system/var-lib-docker.mount",
    ]);
    expect(ctx.commands).toBe(1);
    expect(ctx.changes).toEqual([]);
  });

  it("teardownDocker with the unit there: the removal is the one change, recorded once", async () => {
    const { hosts, ctx } = run(() => ok());
    await teardownDocker(ctx, "node1");
    expect(hosts.asked).toHaveLength(2);
    expect(ctx.commands).toBe(2);
    expect(ctx.changes).toEqual([
      { host: "node1", step: "remove", command: hosts.asked[1].command },
    ]);
    expect(ctx.changes[0].command).toMatch(/^systemctl stop docker/);
  });

  it("a failing command rejects with RemoteCommandError unless the stage checks the status", async () => {
    const { ctx } = run((_h, c) => (c.startsWith("test -f") ? ok() : fail(5, "", "busy")));
    await expect(teardownDocker(ctx, "node1")).rejects.toBeInstanceOf(RemoteCommandError);
  });

  it("record() and run({change}) write to the same journal; uploads go to the runner", async () => {
    const { hosts, ctx } = run(() => ok());
    await ctx.run("node2", "prepare", "true", { change: true });
    ctx.record("node2", "gateway", "POST /api/updateConfiguration");
    expect(await ctx.upload("node2", "packages", [{ local: "/x.rpm", name: "rpms/x.rpm" }])).toBe(
      1,
    );
    expect(ctx.changes.map((c) => c.command)).toEqual(["true", "POST /api/updateConfiguration"]);
    expect(hosts.uploads).toEqual([
      { host: "node2", files: [{ local: "/x.rpm", name: "rpms/x.rpm" }] },
    ]);
  });
});
