// Key families of the secrets: `mdmPassword` and `gatewayPassword` (required, held to the rules
// in names.ts, never quoted back) and the SSH key pair `sshPublicKey` + `sshPrivateKey`.
import {
  GATEWAY_PASSWORD_RULE,
  gatewayPasswordProblem,
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
} from "../install/names";
import { key, type Collector } from "./collector";
import type { CommonSpec } from "./types";
import { SSH_PUBLIC_KEY } from "./values";

/**
 * `mdmPassword` and `gatewayPassword`: required secrets, each held to its rule (names.ts) when
 * its value is readable. Only why a password is refused is named, never the value.
 */
export function readPasswords(c: Collector): void {
  const rules = [
    { k: "mdmPassword", rule: MDM_PASSWORD_RULE, check: mdmPasswordProblem, whose: "the MDM's" },
    {
      k: "gatewayPassword",
      rule: GATEWAY_PASSWORD_RULE,
      check: gatewayPasswordProblem,
      whose: "the gateway's",
    },
  ];
  for (const { k, rule, check, whose } of rules) {
    if (!c.cfg.has(k)) {
      c.report(
        k,
        "is required and has no default; set it as a secret",
        `pulumi config set --secret ${key(k)} 'Str0ng!Passw0rd'`,
      );
      continue;
    }
    const value = c.cfg.get(k);
    const why = value === undefined ? undefined : check(value);
    if (why) {
      c.report(
        k,
        `does not meet ${whose} password rule (${rule}): ${why}`,
        `pulumi config set --secret ${key(k)} (it asks for the value; nothing lands in your shell history)`,
      );
    }
  }
}

const KEY_PAIR_EXAMPLE = `pulumi config set ${key("sshPublicKey")} "$(cat ~/.ssh/id_ed25519.pub)" && pulumi config set --secret ${key("sshPrivateKey")} < ~/.ssh/id_ed25519`;

/** The user's SSH key pair: both keys or neither (existing hosts: both). */
export function readSshKey(
  c: Collector,
  existing: boolean,
): Pick<CommonSpec, "sshPublicKey" | "hasSshPrivateKey"> {
  const sshPublicKey = c.cfg.get("sshPublicKey");
  const hasSshPrivateKey = c.cfg.has("sshPrivateKey");
  if (Boolean(sshPublicKey) !== hasSshPrivateKey) {
    c.report(
      sshPublicKey ? "sshPrivateKey" : "sshPublicKey",
      "set both sshPublicKey and sshPrivateKey (secret), or neither to let the stack generate a key",
      KEY_PAIR_EXAMPLE,
    );
  } else if (!sshPublicKey && existing) {
    c.report(
      "sshPrivateKey",
      "existing hosts need the key they already accept (a key the stack generates is on no existing host); set sshPublicKey and sshPrivateKey (secret)",
      KEY_PAIR_EXAMPLE,
    );
  } else if (sshPublicKey && !SSH_PUBLIC_KEY.test(sshPublicKey.trim())) {
    c.report(
      "sshPublicKey",
      "is not an OpenSSH public key line (type, key, and an optional comment without quotes, $, ` or \\)",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... you@laptop",
    );
  }
  return { sshPublicKey, hasSshPrivateKey };
}
