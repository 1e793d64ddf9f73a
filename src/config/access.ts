// Key family of network access: `allowedCidr` and `exposeToInternet` (who may reach SSH and the
// gateway; the whole internet only when confirmed, and then with a warning every run).
import { key, type Collector } from "./collector";
import { DEFAULTS } from "./defaults";
import type { CloudName, CommonSpec } from "./types";
import { isCidr, isWholeInternet } from "./values";

/**
 * `allowedCidr` and `exposeToInternet` (cloud: undefined while the cloud is unknown): the CIDR
 * is required on clouds, and the whole internet only when exposeToInternet confirms it.
 */
export function readAccess(
  c: Collector,
  cloud: CloudName | undefined,
): Pick<CommonSpec, "allowedCidr" | "exposeToInternet" | "warnings"> {
  const isCloud =
    cloud === "aws" || cloud === "gcp" || cloud === "azure" || cloud === "digitalocean";
  const allowedCidr = c.cfg.get("allowedCidr") ?? "";
  const exposeToInternet = c.boolean(
    "exposeToInternet",
    DEFAULTS.exposeToInternet,
    `only together with ${key("allowedCidr")}: 0.0.0.0/0`,
  );
  const warnings: string[] = [];
  const whole = isCloud && isWholeInternet(allowedCidr);
  const example = `${key("allowedCidr")}: 203.0.113.7/32 (your public IP)`;
  if (cloud === undefined) {
    // Nothing more to say about allowedCidr until the cloud is known.
  } else if (isCloud && !allowedCidr) {
    c.report(
      "allowedCidr",
      `is required on ${cloud}: it is the only source allowed to reach SSH and the gateway (never defaulted to 0.0.0.0/0)`,
      example,
    );
  } else if (allowedCidr && !isCidr(allowedCidr)) {
    c.report(
      "allowedCidr",
      `"${allowedCidr}" is not an IPv4 CIDR`,
      `${key("allowedCidr")}: 203.0.113.7/32`,
    );
  } else if (whole && !exposeToInternet) {
    c.report(
      "allowedCidr",
      `${allowedCidr} opens SSH and the gateway's admin API (443) to the whole internet. Name the address(es) ` +
        `you connect from, or, if that is really meant, say so with ${key("exposeToInternet")}: true`,
      example,
    );
  } else if (whole) {
    warnings.push(
      `${key("allowedCidr")}: ${allowedCidr} with ${key("exposeToInternet")}: true: SSH and the gateway's admin API (443) ` +
        `of every node are reachable from the whole internet; only the passwords and the SSH key protect them.`,
    );
  }
  if (exposeToInternet && cloud !== undefined && !whole) {
    warnings.push(
      `${key("exposeToInternet")}: true has no effect: it only confirms ${key("allowedCidr")}: 0.0.0.0/0 on a cloud stack; remove it.`,
    );
  }
  return { allowedCidr, exposeToInternet, warnings };
}
