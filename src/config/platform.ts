// Key families of the platform: `cloud`, `os`, `image`, `clusterMode`, and `mediaType`. A cloud or
// OS without a public image (the gaps of providers/images.ts) is refused unless `image` names one.
import type { OsName } from "../machine";
import { missingPublicImage } from "../providers/images";
import { key, type Collector } from "./collector";
import { DEFAULTS } from "./defaults";
import {
  CLOUDS,
  MEDIA_TYPES,
  OSES,
  type CloudName,
  type ClusterMode,
  type MediaType,
} from "./types";
import { imageProblem } from "./values";

export interface Platform {
  /** Undefined when `cloud` is missing or not one of ours (already reported). */
  cloud: CloudName | undefined;
  os: OsName;
  image: string | undefined;
  clusterMode: ClusterMode;
}

/**
 * Reads the platform keys. A cloud that is not one of ours stops the checks that depend on it:
 * its one message is the only one (no errors about another cloud's keys).
 */
export function readPlatform(c: Collector): Platform {
  const cloud = c.oneOf("cloud", CLOUDS, undefined, `${key("cloud")}: aws`);
  const osGiven = c.oneOf("os", OSES, DEFAULTS.os, `${key("os")}: rocky9`);
  const os = osGiven ?? DEFAULTS.os;
  const image = readImage(c);
  if (cloud !== undefined && osGiven !== undefined && !image) checkPublicImage(c, cloud, os);
  const clusterMode =
    c.oneOf<ClusterMode>(
      "clusterMode",
      ["3_node", "5_node"],
      DEFAULTS.clusterMode,
      `${key("clusterMode")}: 5_node`,
    ) ?? DEFAULTS.clusterMode;
  return { cloud, os, image, clusterMode };
}

/** `mediaType`: the single storage pool's media, HDD, SSD or Transitional (MEDIA_TYPES). */
export function readMediaType(c: Collector): MediaType {
  return (
    c.oneOf<MediaType>("mediaType", MEDIA_TYPES, DEFAULTS.mediaType, `${key("mediaType")}: SSD`) ??
    DEFAULTS.mediaType
  );
}

/** `image`: an explicit image reference instead of the lookup table. */
export function readImage(c: Collector): string | undefined {
  const image = c.cfg.get("image");
  const bad = image === undefined || image === "" ? undefined : imageProblem(image);
  if (bad) c.report("image", bad, `${key("image")}: ami-0abcdef1234567890`);
  return image || undefined;
}

/** A cloud that no longer publishes the OS (images.ts): say so unless `image` names one. */
function checkPublicImage(c: Collector, cloud: CloudName, os: OsName): void {
  const why = missingPublicImage(cloud, os);
  if (!why) return;
  c.report(
    "os",
    `${why}; use rocky8 or rocky9, or name your own ${os === "centos7" ? "CentOS 7" : os} image in ${key("image")}`,
    `${key("os")}: ${os === "rocky8" ? "rocky9" : "rocky8"}`,
  );
}
