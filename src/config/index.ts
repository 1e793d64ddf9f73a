// Typed, validated stack config. `readSpec` turns raw stack config into a Spec with every
// default applied (defaults.ts), or throws one ConfigError listing every problem, each naming the
// key, what was wrong and an example of a right value. It runs before any resource is registered.
//
// The pipeline: a Collector (collector.ts) over the raw config gathers the problems; one reader
// per key family (platform, nodes, scaleio, storage-pools, secrets, access, wipe-devices, sources) checks its
// keys with the value rules of values.ts; the chosen cloud's section is read by its own reader
// beside its provider, registered in clouds.ts. To add a key: its default in defaults.ts, its
// check in its family's reader (with a row in that family's table test), its field in types.ts.
import { readAccess } from "./access";
import { readCloudSection } from "./clouds";
import { Collector, type RawConfig } from "./collector";
import { readNodeLayout } from "./nodes";
import { readMediaType, readPlatform } from "./platform";
import { readNames, readSizes } from "./scaleio";
import { readPasswords, readSshKey } from "./secrets";
import { readInstallSwitches, readSources } from "./sources";
import { checkPoolDevicesAgainstHosts, readStoragePools } from "./storage-pools";
import type { CloudName, CloudSections, CommonSpec, Spec } from "./types";
import { checkWipeDevicesAgainstHosts, readWipeDevices } from "./wipe-devices";

export * from "./types";
export { CONFIG_NAMESPACE, ConfigError, didYouMean, type RawConfig } from "./collector";
export { DEFAULTS } from "./defaults";
export { isCidr, isWholeInternet } from "./values";

/** Reads and validates the whole stack config; throws ConfigError with every problem found. */
export function readSpec(cfg: RawConfig, stack: string): Spec {
  const c = new Collector(cfg);
  const { cloud, os, image, clusterMode } = readPlatform(c);
  const nodes = readNodeLayout(c, cloud ?? "local", clusterMode);
  const mediaType = readMediaType(c);
  const names = readNames(c, stack);
  const sizes = readSizes(c);
  const pools = readStoragePools(c, {
    protectionDomain: names.protectionDomain,
    storagePool: names.storagePool,
    mediaType,
    diskCount: cloud === "existing" ? undefined : sizes.sdsDisks.count,
    nodes,
  });
  readPasswords(c);
  const sshKey = readSshKey(c, cloud === "existing");
  const access = readAccess(c, cloud);
  const common: CommonSpec = {
    stack,
    os,
    image,
    ...names,
    clusterMode,
    nodes,
    ...sizes,
    ...pools,
    ...access,
    wipeDevices: readWipeDevices(c, nodes),
    ...readSources(c),
    ...readInstallSwitches(c),
    ...sshKey,
  };
  // An unknown cloud has been reported: no section to read, and the config is refused below.
  return c.result(cloud === undefined ? undefined : withCloud(c, common, cloud));
}

/** The common spec plus the cloud's own section (existing hosts: wipeDevices checked against them). */
function withCloud(c: Collector, common: CommonSpec, cloud: CloudName): Spec {
  const section = readCloudSection(c, cloud, common.nodes);
  if (cloud === "existing") {
    checkWipeDevicesAgainstHosts(c, common.wipeDevices, section as CloudSections["existing"]);
    checkPoolDevicesAgainstHosts(c, common.storagePools, section as CloudSections["existing"]);
  }
  return { ...common, cloud, [cloud]: section } as Spec;
}
