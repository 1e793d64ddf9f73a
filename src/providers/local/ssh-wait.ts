// Waits until a guest's sshd answers on its forwarded port with the host key we gave it. Only the
// key exchange is done (no login): proving the key is enough to know cloud-init wrote our key and
// sshd started, and a wrong key is reported at once instead of being retried.
import { Client } from "ssh2";

export interface WaitForSsh {
  port: number;
  host?: string;
  /** "ssh-ed25519 AAAA..." */
  hostKey: string;
  timeoutMs: number;
  /** Stop waiting when the machine died. */
  stillRunning?: () => boolean;
}

type Attempt = "match" | "mismatch" | "retry";

function once(host: string, port: number, expected: Buffer): Promise<Attempt> {
  return new Promise((resolve) => {
    const c = new Client();
    let result: Attempt = "retry";
    const finish = () => {
      c.end();
      resolve(result);
    };
    c.on("error", finish);
    c.on("close", finish);
    c.on("ready", finish);
    c.connect({
      host,
      port,
      username: "arrowhead-probe",
      readyTimeout: 15_000,
      // Only our key type: sshd may hold others (CentOS 7 generates them), we know this one.
      algorithms: { serverHostKey: ["ssh-ed25519"] },
      hostVerifier: (key: Buffer) => {
        result = key.equals(expected) ? "match" : "mismatch";
        // Refuse either way: no login is attempted, the handshake was all we wanted.
        return false;
      },
    });
  });
}

export async function waitForSsh(w: WaitForSsh): Promise<void> {
  const expected = Buffer.from(w.hostKey.split(/\s+/)[1] ?? "", "base64");
  const host = w.host ?? "127.0.0.1";
  const deadline = Date.now() + w.timeoutMs;
  for (;;) {
    const r = await once(host, w.port, expected);
    if (r === "match") return;
    if (r === "mismatch") {
      throw new Error(
        `SSH on ${host}:${w.port} serves a different host key than the one generated for it ` +
          "(the image ignored cloud-init's ssh_keys?)",
      );
    }
    if (w.stillRunning && !w.stillRunning()) throw new Error("QEMU exited while the guest booted");
    if (Date.now() > deadline) {
      throw new Error(`SSH did not answer on ${host}:${w.port} within ${w.timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
