// Key families of the ScaleIO layout: the object names (`clusterName`, `protectionDomain`,
// `storagePool`, held to names.ts) and the sizes (`sdsDisks`, `dockerVolumeSizeGb`).
import { OBJECT_NAME, OBJECT_NAME_RULE, objectName } from "../install/names";
import { key, type Collector } from "./collector";
import { DEFAULTS } from "./defaults";
import type { CommonSpec } from "./types";
import { wholeNumber } from "./values";

/** ScaleIO object names: the system, the protection domain and the pool (see names.ts). */
export function readNames(
  c: Collector,
  stack: string,
): Pick<CommonSpec, "clusterName" | "protectionDomain" | "storagePool"> {
  const scaleioName = (k: string, dflt: string): string => {
    const v = c.cfg.get(k) ?? dflt;
    if (OBJECT_NAME.test(v)) return v;
    // Suggest the name Arrowhead would derive (readable prefix + hash when cut or cleaned).
    let suggestion = dflt;
    try {
      suggestion = objectName(v);
    } catch {
      // no letter or digit in it: the default is the example
    }
    c.report(
      k,
      `${JSON.stringify(v)} is not a valid ScaleIO name: ScaleIO names allow ${OBJECT_NAME_RULE}`,
      `${key(k)}: ${suggestion}`,
    );
    return v;
  };
  return {
    protectionDomain: scaleioName("protectionDomain", DEFAULTS.protectionDomain),
    storagePool: scaleioName("storagePool", DEFAULTS.storagePool),
    clusterName: scaleioName("clusterName", DEFAULTS.clusterName(stack)),
  };
}

/** Largest SDS device and Docker volume Arrowhead creates (64 TiB): a bound, not a vendor limit. */
const MAX_SIZE_GB = 65536;

/** `sdsDisks` (1-8 devices of 100 GB or more per SDS node) and `dockerVolumeSizeGb`. */
export function readSizes(c: Collector): Pick<CommonSpec, "sdsDisks" | "dockerVolumeSizeGb"> {
  const disks = c.cfg.getObject<{ count?: unknown; sizeGb?: unknown }>("sdsDisks") ?? {};
  const count = wholeNumber(disks.count ?? DEFAULTS.sdsDisks.count, 1, 8);
  if ("problem" in count) {
    c.report(
      "sdsDisks.count",
      `${JSON.stringify(disks.count)} must be a whole number from 1 to 8`,
      "sdsDisks: {count: 2, sizeGb: 100}",
    );
  }
  const size = wholeNumber(disks.sizeGb ?? DEFAULTS.sdsDisks.sizeGb, 100, MAX_SIZE_GB);
  if ("problem" in size) {
    const n = Number(disks.sizeGb);
    c.report(
      "sdsDisks.sizeGb",
      Number.isSafeInteger(n) && n < 100 && typeof disks.sizeGb === "number"
        ? `${n} is too small: an SDS device must be at least 100 GB (ScaleIO rejects smaller devices)`
        : `${size.problem}: an SDS device is a whole number of GB from 100 to ${MAX_SIZE_GB}`,
      "sdsDisks: {count: 1, sizeGb: 100}",
    );
  }
  return {
    sdsDisks: {
      count: "value" in count ? count.value : DEFAULTS.sdsDisks.count,
      sizeGb: "value" in size ? size.value : DEFAULTS.sdsDisks.sizeGb,
    },
    dockerVolumeSizeGb: readDockerVolumeSize(c),
  };
}

function readDockerVolumeSize(c: Collector): number {
  const raw = c.cfg.get("dockerVolumeSizeGb");
  if (raw === undefined) return DEFAULTS.dockerVolumeSizeGb;
  const example = `${key("dockerVolumeSizeGb")}: ${DEFAULTS.dockerVolumeSizeGb}`;
  const r = wholeNumber(raw, 8, MAX_SIZE_GB);
  if ("problem" in r) {
    c.report(
      "dockerVolumeSizeGb",
      `"${raw}" must be a whole number of GB, at least 8 and at most ${MAX_SIZE_GB}`,
      example,
    );
    return DEFAULTS.dockerVolumeSizeGb;
  }
  if (r.value % 8 !== 0) {
    // Rejected, not rounded: ScaleIO would silently round up and the user would pay for
    // (and see) a size they did not ask for.
    const up = Math.ceil(r.value / 8) * 8;
    c.report(
      "dockerVolumeSizeGb",
      `${r.value} is not a multiple of 8 GB; ScaleIO allocates volumes in 8 GB units and would round it up to ${up}, so Arrowhead rejects it instead of rounding silently`,
      `${key("dockerVolumeSizeGb")}: ${up}`,
    );
    return DEFAULTS.dockerVolumeSizeGb;
  }
  return r.value;
}
