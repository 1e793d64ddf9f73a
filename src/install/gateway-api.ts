// A tiny client for the ScaleIO REST gateway (reference §8), reached through an SSH forward to
// the gateway host's own 443, so it works whether or not 443 is open to us. TLS is verified
// against the certificate the gateway presents on the host's loopback, fetched over the
// already host-key-verified SSH connection: we pin exactly that certificate.
import { X509Certificate } from "crypto";
import * as https from "https";
import * as tls from "tls";
import type { SshSession } from "./ssh";
import type { StepLog } from "./log";

export interface ApiResponse {
  status: number;
  body: unknown;
  text: string;
}

/** PEM of the certificate served on 127.0.0.1:port of the host (openssl on the host). */
export async function fetchCertificate(
  session: SshSession,
  port: number,
  log: StepLog,
): Promise<string> {
  const r = await session.exec(
    `echo | openssl s_client -connect 127.0.0.1:${port} 2>/dev/null | openssl x509 2>/dev/null`,
    // Seconds normally; minutes on a loaded host under software emulation (measured: over 30 s
    // with several steps asking one gateway host at once, load 20 on two cores).
    { log, check: false, quiet: true, timeoutMs: 180_000 },
  );
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  if (!pem) {
    throw new Error(
      `[${session.name}] ${log.step}: no TLS certificate on 127.0.0.1:${port} (is the gateway running? is openssl installed on the host?)`,
    );
  }
  return pem + "\n";
}

export class GatewayClient {
  private readonly fingerprint: string;

  constructor(
    private readonly session: SshSession,
    private readonly certPem: string,
    private readonly port = 443,
  ) {
    this.fingerprint = new X509Certificate(certPem).fingerprint256;
  }

  async request(
    method: "GET" | "POST",
    path: string,
    auth: { user: string; password: string },
    body?: unknown,
  ): Promise<ApiResponse> {
    const stream = await this.session.forwardOut("127.0.0.1", this.port);
    const expected = this.fingerprint;
    const socket = tls.connect({
      socket: stream,
      ca: [this.certPem],
      servername: "localhost",
      // The chain is checked against the pinned certificate (ca); the name check is replaced by
      // the exact fingerprint check, since a gateway's self-signed certificate rarely names the host.
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === expected
          ? undefined
          : new Error(`gateway certificate ${cert.fingerprint256} is not the pinned ${expected}`),
    });
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = https.request(
        {
          method,
          path,
          host: "localhost",
          createConnection: () => socket,
          timeout: 60_000,
          headers: {
            Authorization:
              "Basic " + Buffer.from(`${auth.user}:${auth.password}`).toString("base64"),
            Accept: "application/json",
            ...(data
              ? { "Content-Type": "application/json", "Content-Length": String(data.length) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(new Error(`gateway request ${method} ${path} timed out`)),
      );
      req.on("error", reject);
      req.end(data);
    });
  }
}
