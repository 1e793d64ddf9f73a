// The private network's switch: one per stack, started detached by the local provider.
// QEMU's `-netdev dgram` sends each guest Ethernet frame as one UDP datagram to 127.0.0.1:<port>
// of this process; it forwards frames between the stack's machines like a learning switch
// (unicast to the port a MAC was last seen on, everything else to all members). Nothing of the
// private network exists on the host's network stack.
//
// Usage: node hub.js <port> <members-dir>
// A member is a file named after its UDP port in <members-dir>; frames from other ports are
// dropped, so other local processes cannot join the network by sending to the hub.
"use strict";
const dgram = require("node:dgram");
const fs = require("node:fs");

const port = Number(process.argv[2]);
const membersDir = process.argv[3];
if (!Number.isInteger(port) || port <= 0 || !membersDir) {
  process.stderr.write("usage: node hub.js <port> <members-dir>\n");
  process.exit(2);
}

let members = new Set();
function refreshMembers() {
  try {
    members = new Set(
      fs
        .readdirSync(membersDir)
        .map(Number)
        .filter((p) => Number.isInteger(p) && p > 0),
    );
  } catch {
    members = new Set();
  }
}

/** A sender not yet known: a member if its file exists (then re-read the whole list). */
function admit(port) {
  if (!fs.existsSync(`${membersDir}/${port}`)) return false;
  refreshMembers();
  return true;
}

const macTable = new Map(); // "aa:bb:..." -> port
const sock = dgram.createSocket("udp4");

function mac(buf, offset) {
  return buf.subarray(offset, offset + 6).toString("hex");
}

sock.on("message", (frame, rinfo) => {
  if (rinfo.address !== "127.0.0.1" || frame.length < 14) return;
  if (!members.has(rinfo.port) && !admit(rinfo.port)) return;
  macTable.set(mac(frame, 6), rinfo.port);
  const dst = mac(frame, 0);
  // Multicast/broadcast bit: the low bit of the first octet.
  const known = (frame[0] & 1) === 0 ? macTable.get(dst) : undefined;
  if (known !== undefined && members.has(known)) {
    if (known !== rinfo.port) sock.send(frame, known, "127.0.0.1");
    return;
  }
  for (const p of members) {
    if (p !== rinfo.port) sock.send(frame, p, "127.0.0.1");
  }
});

sock.on("error", (err) => {
  process.stderr.write(`hub: ${err.message}\n`);
  process.exit(1);
});

// Members join and leave while the hub runs; re-read the list now and then.
setInterval(refreshMembers, 2000).unref();
process.on("SIGTERM", () => process.exit(0));
refreshMembers();
sock.bind(port, "127.0.0.1", () => process.stdout.write(`hub listening on 127.0.0.1:${port}\n`));
