// A minimal SSH command runner for the e2e checks, verifying the host key it was told.
import { Client } from "ssh2";

export interface Target {
  port: number;
  user: string;
  privateKey: string;
  /** "ssh-ed25519 AAAA..." that the server must present. */
  hostKey: string;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command. Connection failures while a guest is still settling (sshd restarting, reset
 * connections under heavy emulation load) are retried; a wrong host key never is.
 */
export async function sshExec(
  t: Target,
  command: string,
  timeoutMs = 120_000,
  /** Written to the command's stdin (how secrets reach it: never on the command line). */
  input?: string,
): Promise<Result> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sshOnce(t, command, timeoutMs, input);
    } catch (e) {
      const msg = (e as Error).message;
      const transient = /ECONNRESET|ECONNREFUSED|Timed out while waiting for handshake/i.test(msg);
      if (!transient || attempt >= 6) throw e;
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

function sshOnce(
  t: Target,
  command: string,
  timeoutMs: number,
  input: string | undefined,
): Promise<Result> {
  const expected = Buffer.from(t.hostKey.split(/\s+/)[1] ?? "", "base64");
  return new Promise((resolve, reject) => {
    const c = new Client();
    let keyOk = false;
    const timer = setTimeout(() => {
      c.end();
      reject(new Error(`ssh ${t.user}@127.0.0.1:${t.port} '${command}': timed out`));
    }, timeoutMs);
    c.on("error", (e) => {
      clearTimeout(timer);
      reject(
        keyOk ? e : new Error(`ssh 127.0.0.1:${t.port}: ${e.message} (host key verified: no)`),
      );
    });
    c.on("ready", () => {
      c.exec(command, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          c.end();
          reject(err);
          return;
        }
        let stdout = "";
        let stderr = "";
        stream.on("data", (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        stream.on("close", (code: number | null) => {
          clearTimeout(timer);
          c.end();
          resolve({ code: code ?? -1, stdout, stderr });
        });
        stream.end(input ?? "");
      });
    });
    c.connect({
      host: "127.0.0.1",
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      readyTimeout: 60_000,
      algorithms: { serverHostKey: ["ssh-ed25519"] },
      hostVerifier: (key: Buffer) => (keyOk = key.equals(expected)),
    });
  });
}
