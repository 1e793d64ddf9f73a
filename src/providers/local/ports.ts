// Loopback port allocation. The OS picks a free port (bind to port 0); we keep a set of ports
// already promised within this process, because a port is only taken once QEMU binds it and two
// machines starting in parallel would otherwise be handed the same one.
import * as dgram from "node:dgram";
import * as net from "node:net";

export type Proto = "tcp" | "udp";

/** Binds 127.0.0.1:port (0 = any) and returns the bound port, or undefined when it is taken. */
export function tryBind(proto: Proto, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (proto === "tcp") {
      const srv = net.createServer();
      srv.once("error", () => resolve(undefined));
      srv.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
        const bound = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(bound));
      });
    } else {
      const sock = dgram.createSocket("udp4");
      sock.once("error", () => resolve(undefined));
      sock.bind({ address: "127.0.0.1", port, exclusive: true }, () => {
        const bound = sock.address().port;
        sock.close(() => resolve(bound));
      });
    }
  });
}

const promised = new Set<string>();

/**
 * A free loopback port. `bind` is injectable for tests. Ports promised earlier in this process
 * are skipped; `release` gives one back (after the consumer has bound it or given up).
 */
export async function allocatePort(
  proto: Proto,
  bind: (proto: Proto, port: number) => Promise<number | undefined> = tryBind,
  attempts = 20,
): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = await bind(proto, 0);
    if (port === undefined) continue;
    const key = `${proto}/${port}`;
    if (promised.has(key)) continue;
    promised.add(key);
    return port;
  }
  throw new Error(
    `could not find a free ${proto.toUpperCase()} port on 127.0.0.1 after ${attempts} tries: ` +
      "is the ephemeral port range exhausted (see /proc/sys/net/ipv4/ip_local_port_range)?",
  );
}

export function releasePort(proto: Proto, port: number): void {
  promised.delete(`${proto}/${port}`);
}
