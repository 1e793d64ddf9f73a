import { describe, expect, it } from "vitest";
import { utils } from "ssh2";
import {
  blobType,
  decideHostKey,
  fingerprint,
  keyLine,
  parsePublicKey,
} from "../../src/install/hostkey";

/** A real ed25519 host key blob in SSH wire format. */
function hostKey(): Buffer {
  const { public: pub } = utils.generateKeyPairSync("ed25519");
  return Buffer.from(pub.split(" ")[1], "base64");
}

describe("host key policy", () => {
  const a = hostKey();
  const b = hostKey();

  it("reads key lines and blobs", () => {
    const line = keyLine(a);
    expect(line).toMatch(/^ssh-ed25519 AAAA/);
    expect(blobType(a)).toBe("ssh-ed25519");
    expect(parsePublicKey(line + " root@host").blob.equals(a)).toBe(true);
    expect(fingerprint(a)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(() => parsePublicKey("ssh-rsa " + a.toString("base64"))).toThrow(/says type "ssh-rsa"/);
    expect(() => parsePublicKey("nonsense")).toThrow(/not an OpenSSH public key/);
  });

  it("pins on first contact for machines the stack created, and returns the key", () => {
    const d = decideHostKey(a, { name: "node1", address: "1.2.3.4:22", mayPin: true });
    expect(d).toEqual({ accept: true, key: keyLine(a), pinned: true });
  });

  it("accepts the known key", () => {
    const d = decideHostKey(a, {
      name: "node1",
      address: "h:22",
      knownKey: keyLine(a),
      knownFrom: "state",
      mayPin: true,
    });
    expect(d).toEqual({ accept: true, key: keyLine(a), pinned: false });
  });

  it("refuses a changed pinned key, saying how to accept it deliberately", () => {
    const d = decideHostKey(b, {
      name: "node1",
      address: "h:22",
      knownKey: keyLine(a),
      knownFrom: "state",
      mayPin: true,
    });
    expect(d.accept).toBe(false);
    if (d.accept) return;
    expect(d.error).toContain("REFUSING");
    expect(d.error).toContain(fingerprint(a));
    expect(d.error).toContain(fingerprint(b));
    expect(d.error).toMatch(/pulumi up --replace|pulumi state delete/);
    expect(d.error).toContain(keyLine(b));
  });

  it("refuses a changed configured key, pointing at the config", () => {
    const d = decideHostKey(b, {
      name: "n",
      address: "h:22",
      knownKey: keyLine(a),
      knownFrom: "config",
      mayPin: false,
    });
    expect(d.accept).toBe(false);
    if (!d.accept) expect(d.error).toMatch(/stack config \(hostKey\)/);
  });

  it("never pins an existing (adopted) host: asks for the key to be configured", () => {
    const d = decideHostKey(a, { name: "old", address: "h:22", mayPin: false });
    expect(d.accept).toBe(false);
    if (!d.accept) {
      expect(d.error).toContain("no host key is configured");
      expect(d.error).toContain(fingerprint(a));
    }
  });
});
