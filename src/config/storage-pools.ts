// Key family `storagePools` (storage tiers), with `dockerVolumePool` and `volumePluginPool`: the
// stack's storage pools, each with its media type, protection domain and devices, and which pool
// the Docker hosts' volumes and the volume plugin's volumes go to by default. Without
// `storagePools` the stack has one pool, `storagePool` (`mediaType`) in `protectionDomain`, as
// before. Which devices exist is known here only on existing hosts (their dataDisks); elsewhere
// the installer checks disk numbers and paths against the machines (install/pools.ts).
import type { StoragePoolSpec } from "../install/pools";
import { OBJECT_NAME, OBJECT_NAME_RULE } from "../install/names";
import { key, type Collector } from "./collector";
import { DEFAULTS } from "./defaults";
import {
  MEDIA_TYPES,
  type CommonSpec,
  type ExistingHostSpec,
  type MediaType,
  type NodeSpec,
} from "./types";
import { devicePathProblem, wholeNumber } from "./values";

const EXAMPLE = `${key("storagePools")}: [{name: fast, mediaType: SSD, disks: [1]}, {name: capacity, mediaType: HDD, disks: [2]}]`;

type PoolKeys = Pick<
  CommonSpec,
  "storagePools" | "dockerVolumePool" | "volumePluginPool" | "storagePool" | "mediaType"
>;

/** What the reader needs besides the raw config: the names and sizes read before it. */
export interface PoolContext {
  protectionDomain: string;
  storagePool: string;
  mediaType: MediaType;
  /** Data disks per SDS node (sdsDisks.count); undefined on existing hosts (each has its own). */
  diskCount?: number;
  nodes: NodeSpec[];
}

/**
 * `storagePools`, `dockerVolumePool`, `volumePluginPool`. Returns the pools (undefined without
 * `storagePools`), the first pool's name and media as `storagePool`/`mediaType`, and the two
 * pool choices (undefined: the first pool). Every problem names its key and a right example.
 */
export function readStoragePools(c: Collector, x: PoolContext): PoolKeys {
  const raw = c.cfg.getObject<unknown>("storagePools");
  let pools: StoragePoolSpec[] | undefined;
  if (raw !== undefined) {
    for (const k of ["storagePool", "mediaType"])
      if (c.cfg.get(k) !== undefined)
        c.report(
          k,
          `is set together with storagePools; with storagePools each pool has its own name and mediaType`,
          `remove ${key(k)} and write ${EXAMPLE}`,
        );
    pools = readPools(c, raw, x);
  }
  const names = pools?.map((p) => p.name) ?? [x.storagePool];
  const choice = (k: string): string | undefined => {
    const v = c.cfg.get(k);
    if (v === undefined || names.includes(v)) return v;
    c.report(
      k,
      `"${v}" is not one of the stack's storage pools (${names.join(", ")})`,
      `${key(k)}: ${names[names.length - 1]}`,
    );
    return undefined;
  };
  return {
    storagePools: pools,
    storagePool: pools?.[0]?.name ?? x.storagePool,
    mediaType: pools?.[0]?.mediaType ?? x.mediaType,
    dockerVolumePool: choice("dockerVolumePool"),
    volumePluginPool: choice("volumePluginPool"),
  };
}

/** The list itself: 1-16 pools, unique names, at most one without disks or devices. */
function readPools(c: Collector, raw: unknown, x: PoolContext): StoragePoolSpec[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 16) {
    c.report("storagePools", "must be a list of 1 to 16 pools", EXAMPLE);
    return undefined;
  }
  const before = c.count;
  const pools = raw.map((entry, i) => readPool(c, entry, i, x));
  const seen = new Set<string>();
  pools.forEach((p, i) => {
    if (seen.has(p.name))
      c.report(
        `storagePools[${i}].name`,
        `"${p.name}" is used twice; pool names are unique`,
        EXAMPLE,
      );
    seen.add(p.name);
  });
  const catchAll = pools.filter((p) => !p.disks && !p.devices);
  if (catchAll.length > 1)
    c.report(
      "storagePools",
      `${catchAll.map((p) => p.name).join(" and ")} name no disks or devices; only one pool may take the disks no other pool names`,
      EXAMPLE,
    );
  checkDiskNumbers(c, pools);
  return c.count === before ? pools : undefined;
}

/** A disk number in two pools is refused; so is, without a catch-all pool, a disk in none. */
function checkDiskNumbers(c: Collector, pools: StoragePoolSpec[]): void {
  const owner = new Map<number, string>();
  for (const p of pools)
    for (const n of p.disks ?? []) {
      const was = owner.get(n);
      if (was && was !== p.name)
        c.report(
          "storagePools",
          `data disk ${n} is in two pools (${was} and ${p.name}); a disk belongs to one pool`,
          EXAMPLE,
        );
      owner.set(n, p.name);
    }
}

function readPool(c: Collector, entry: unknown, i: number, x: PoolContext): StoragePoolSpec {
  const at = (k: string) => `storagePools[${i}].${k}`;
  const e = (
    entry !== null && typeof entry === "object" && !Array.isArray(entry) ? entry : {}
  ) as Record<string, unknown>;
  const unknown = Object.keys(e).filter(
    (k) => !["name", "mediaType", "protectionDomain", "disks", "devices"].includes(k),
  );
  if (unknown.length > 0)
    c.report(
      `storagePools[${i}]`,
      `unknown field(s) ${unknown.join(", ")} (a pool has name, mediaType, protectionDomain, disks, devices)`,
      EXAMPLE,
    );
  const name = objectNameOf(c, e.name, at("name"), `pool${i + 1}`);
  const pd =
    e.protectionDomain === undefined
      ? x.protectionDomain
      : objectNameOf(c, e.protectionDomain, at("protectionDomain"), DEFAULTS.protectionDomain);
  return {
    name,
    mediaType: mediaTypeOf(c, e.mediaType, at("mediaType")),
    protectionDomain: pd,
    ...(e.disks === undefined ? {} : { disks: diskNumbers(c, e.disks, at("disks"), x.diskCount) }),
    ...(e.devices === undefined
      ? {}
      : { devices: devicesOf(c, e.devices, at("devices"), x.nodes) }),
  };
}

function objectNameOf(c: Collector, v: unknown, k: string, example: string): string {
  if (typeof v === "string" && OBJECT_NAME.test(v)) return v;
  c.report(
    k,
    `${v === undefined ? "is required" : `${JSON.stringify(v)} is not a valid ScaleIO name`}: ScaleIO names allow ${OBJECT_NAME_RULE}`,
    `${k.split(".").pop()}: ${example}`,
  );
  return typeof v === "string" ? v : example;
}

function mediaTypeOf(c: Collector, v: unknown, k: string): MediaType {
  if (v === undefined) return DEFAULTS.mediaType;
  if ((MEDIA_TYPES as readonly unknown[]).includes(v)) return v as MediaType;
  const same = MEDIA_TYPES.find(
    (m) => typeof v === "string" && m.toLowerCase() === v.toLowerCase(),
  );
  c.report(
    k,
    `${JSON.stringify(v)} is not one of ${MEDIA_TYPES.join(", ")} (the media types ScaleIO 3.x takes)${same ? ` (did you mean "${same}"?)` : ""}`,
    `mediaType: ${same ?? "SSD"}`,
  );
  return DEFAULTS.mediaType;
}

/** Whole numbers from 1 to the node's disk count (8 at most), each once. */
function diskNumbers(c: Collector, v: unknown, k: string, count: number | undefined): number[] {
  const max = count ?? 8;
  const list = Array.isArray(v) ? v : [];
  const nums = list.map((n) => wholeNumber(n, 1, max));
  if (list.length === 0 || nums.some((n) => "problem" in n)) {
    c.report(
      k,
      `${JSON.stringify(v)} must list data disk numbers from 1 to ${max} (1 is each SDS node's first data disk${count ? `; sdsDisks.count is ${count}` : ""})`,
      "disks: [1]",
    );
    return [];
  }
  const values = nums.map((n) => (n as { value: number }).value);
  if (new Set(values).size !== values.length)
    c.report(k, `${JSON.stringify(v)} lists a disk twice`, "disks: [1, 2]");
  return values;
}

/** `{node: [/dev/...]}` over SDS nodes only. */
function devicesOf(
  c: Collector,
  v: unknown,
  k: string,
  nodes: NodeSpec[],
): Record<string, string[]> {
  const example = "devices: {node1: [/dev/sdc]}";
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    c.report(k, "must map node names to lists of device paths", example);
    return {};
  }
  const sds = nodes.filter((n) => n.roles.includes("sds")).map((n) => n.name);
  const out: Record<string, string[]> = {};
  for (const [node, list] of Object.entries(v as Record<string, unknown>)) {
    if (nodes.length > 0 && !sds.includes(node)) {
      c.report(
        `${k}.${node}`,
        `"${node}" is not an SDS node (SDS nodes: ${sds.join(", ")})`,
        example,
      );
      continue;
    }
    const paths = Array.isArray(list) ? list : [];
    const bad = paths.map(devicePathProblem).find((p) => p !== undefined);
    if (paths.length === 0 || bad) {
      c.report(`${k}.${node}`, bad ?? "must list at least one device", example);
      continue;
    }
    out[node] = paths as string[];
  }
  return out;
}

/** On existing hosts the devices are known: each pool device must be one of the host's dataDisks. */
export function checkPoolDevicesAgainstHosts(
  c: Collector,
  pools: StoragePoolSpec[] | undefined,
  hosts: ExistingHostSpec[],
): void {
  (pools ?? []).forEach((p, i) => {
    for (const [node, devices] of Object.entries(p.devices ?? {})) {
      const host = hosts.find((h) => h.name === node);
      if (!host) continue;
      for (const d of devices.filter((d) => !host.dataDisks.includes(d)))
        c.report(
          `storagePools[${i}].devices.${node}`,
          `${d} is not one of ${node}'s dataDisks (${host.dataDisks.join(", ") || "none"})`,
          `devices: {${node}: [${host.dataDisks[0] ?? "/dev/sdb"}]}`,
        );
    }
    for (const n of p.disks ?? [])
      for (const h of hosts.filter((h) => h.dataDisks.length < n))
        c.report(
          `storagePools[${i}].disks`,
          `${h.name} has ${h.dataDisks.length} dataDisks, so it has no data disk ${n}`,
          `add a disk to ${h.name}'s dataDisks, or use devices: {${h.name}: [${h.dataDisks[0] ?? "/dev/sdb"}]}`,
        );
  });
}
