// The host lock's commands: what they say, how they quote, and what they do when run by a real
// POSIX shell with util-linux flock against a lock file in a temporary folder (two holders, one
// waits with the first one's name, and gets the lock when the first one's stdin ends).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CLUSTER_LOCK,
  HOST_LOCK,
  holdLockCommand,
  ownerText,
  parseLockLine,
  waitingText,
} from "../../src/install/host-lock";
import { q } from "../../src/install/shell";

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** Runs the holder command with sh; `lines` collects its stdout lines as they come. */
function holder(file: string, owner: string) {
  const c = spawn("sh", ["-c", holdLockCommand(file, owner)]);
  children.push(c);
  const lines: string[] = [];
  let buf = "";
  c.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  const until = async (pred: (l: string[]) => boolean, ms = 8000) => {
    const end = Date.now() + ms;
    while (!pred(lines)) {
      if (Date.now() > end) throw new Error(`holder said only: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child: c, lines, until };
}

describe("host lock commands", () => {
  it("name the lock files under one root-only folder", () => {
    expect(HOST_LOCK).toBe("/run/arrowhead/host.lock");
    expect(CLUSTER_LOCK).toBe("/run/arrowhead/cluster.lock");
  });

  it("say who holds a lock: run id, pid, machine, user and since when", () => {
    const text = ownerText({
      runId: "1a2b3c4d",
      pid: 4242,
      host: "laptop",
      user: "alice",
      since: new Date("2026-12-06T10:00:00Z"),
    });
    expect(text).toBe("run 1a2b3c4d: pid 4242 on laptop (alice) since 2026-12-06T10:00:00.000Z");
    expect(waitingText(HOST_LOCK, text, 0)).toBe(
      `waiting for another Arrowhead run holding /run/arrowhead/host.lock (${text})`,
    );
    expect(waitingText(HOST_LOCK, "", 10)).toBe(
      "waiting for another Arrowhead run holding /run/arrowhead/host.lock (holder unknown) 10 s...",
    );
  });

  it("quote the file and the owner text in the remote command", () => {
    const owner = `run x: pid 1 on it's-me $(reboot) \`id\``;
    const cmd = holdLockCommand("/run/a dir/host.lock", owner);
    expect(cmd).toContain(`printf '%s\\n' ${q(owner)} > ${q("/run/a dir/host.lock")}`);
    expect(cmd).toContain(`mkdir -p ${q("/run/a dir")}`);
    expect(cmd).toContain(`exec 9<>${q("/run/a dir/host.lock")}`);
    // Nothing of the owner text outside quotes.
    expect(cmd.replace(q(owner), "")).not.toContain("reboot");
  });

  it("parse the holder's lines", () => {
    expect(parseLockLine("arrowhead-lock held")).toEqual({ held: true });
    expect(parseLockLine("arrowhead-lock busy run ab: pid 7 on h (root) since t")).toEqual({
      held: false,
      owner: "run ab: pid 7 on h (root) since t",
    });
    expect(parseLockLine("arrowhead-lock busy")).toEqual({ held: false, owner: "" });
    expect(parseLockLine("something else")).toBeUndefined();
  });

  it("run: the second holder waits naming the first, and gets the lock when the first one's stdin ends", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-lock-"));
    const file = path.join(dir, "sub", "host.lock");
    try {
      const a = holder(file, "run aaaa: pid 1 on one (root) since t0");
      await a.until((l) => l.includes("arrowhead-lock held"));
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, "utf8")).toBe("run aaaa: pid 1 on one (root) since t0\n");

      const b = holder(file, "run bbbb: pid 2 on two (root) since t1");
      await b.until((l) => l.length > 0);
      expect(parseLockLine(b.lines[0])).toEqual({
        held: false,
        owner: "run aaaa: pid 1 on one (root) since t0",
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(b.lines).not.toContain("arrowhead-lock held");

      const t0 = Date.now();
      a.child.stdin.end(); // what a closed SSH channel does to the holder
      await b.until((l) => l.includes("arrowhead-lock held"));
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(fs.readFileSync(file, "utf8")).toBe("run bbbb: pid 2 on two (root) since t1\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
