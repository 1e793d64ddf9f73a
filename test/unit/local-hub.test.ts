// The private network's hub, run for real on loopback: it forwards Ethernet frames between member
// ports only, learns where MACs live, and stops cleanly with the stack's directory removed.
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HubState, hubAlive, startHub, stopHub } from "../../src/providers/local/index";

const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-hub-"));
const sockets: dgram.Socket[] = [];
let hub: HubState | undefined;

afterAll(async () => {
  for (const s of sockets) s.close();
  if (hub) await stopHub(hub);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

async function member(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  const sock = dgram.createSocket("udp4");
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return { sock, port: sock.address().port, got };
}

/** An Ethernet frame: dst MAC, src MAC, EtherType, payload. */
const frame = (dst: string, src: string, payload: string) =>
  Buffer.concat([
    Buffer.from(dst.replace(/:/g, ""), "hex"),
    Buffer.from(src.replace(/:/g, ""), "hex"),
    Buffer.from([0x08, 0x00]),
    Buffer.from(payload),
  ]);

const settle = () => new Promise((r) => setTimeout(r, 300));
const BCAST = "ff:ff:ff:ff:ff:ff";
const A = "52:54:01:00:00:0a";
const B = "52:54:01:00:00:0b";

describe("hub", () => {
  it("floods broadcasts, learns MACs, sends unicast only where it belongs, drops strangers", async () => {
    const log: string[] = [];
    hub = await startHub(stateDir, "unit", (m) => log.push(m));
    expect(hubAlive(hub)).toBe(true);
    expect(log.join("\n")).toMatch(/listening on 127\.0\.0\.1:\d+\/udp/);
    const [a, b, c, stranger] = await Promise.all([member(), member(), member(), member()]);
    for (const m of [a, b, c]) {
      fs.writeFileSync(path.join(hub.dir, "members", String(m.port)), "x\n");
    }
    const send = (m: { sock: dgram.Socket }, f: Buffer) => m.sock.send(f, hub!.port, "127.0.0.1");

    send(a, frame(BCAST, A, "who-has"));
    await settle();
    expect(b.got.map((f) => f.subarray(14).toString())).toEqual(["who-has"]);
    expect(c.got).toHaveLength(1);
    expect(a.got).toHaveLength(0);

    send(b, frame(A, B, "reply")); // A was learned on a's port: only a gets it
    await settle();
    expect(a.got.map((f) => f.subarray(14).toString())).toEqual(["reply"]);
    expect(c.got).toHaveLength(1);

    send(stranger, frame(BCAST, "52:54:01:00:00:ee", "intruder"));
    await settle();
    expect([a, b, c].map((m) => m.got.length)).toEqual([1, 1, 1]);

    await stopHub(hub);
    expect(hubAlive(hub)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, "unit"))).toBe(false);
    hub = undefined;
  });
});
