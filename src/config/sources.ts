// Key families of what the installer takes and does: `rpmDir`, `centos7VaultUrl`,
// `deleteVolumes` and `volumePlugin`.
import { key, type Collector } from "./collector";
import { DEFAULTS } from "./defaults";
import type { CommonSpec } from "./types";
import { httpUrlProblem } from "./values";

/**
 * Where the installer's inputs come from: `rpmDir` (absolute, relative paths taken from the
 * project directory, see project-dir.ts) and `centos7VaultUrl` (a plain http(s) URL: it is
 * written into repo files by root, see cloud-init.ts).
 */
export function readSources(c: Collector): Pick<CommonSpec, "rpmDir" | "centos7VaultUrl"> {
  const rpmDir = c.path(
    c.cfg.get("rpmDir") ?? DEFAULTS.rpmDir,
    "rpmDir",
    `${key("rpmDir")}: ${DEFAULTS.rpmDir}`,
  );
  const centos7VaultUrl = c.cfg.get("centos7VaultUrl") ?? DEFAULTS.centos7VaultUrl;
  const bad = httpUrlProblem(centos7VaultUrl);
  if (bad)
    c.report("centos7VaultUrl", bad, `${key("centos7VaultUrl")}: ${DEFAULTS.centos7VaultUrl}`);
  return { rpmDir: rpmDir ?? "", centos7VaultUrl };
}

/** `deleteVolumes` and `volumePlugin`: true or false. */
export function readInstallSwitches(
  c: Collector,
): Pick<CommonSpec, "deleteVolumes" | "volumePlugin"> {
  return {
    deleteVolumes: c.boolean(
      "deleteVolumes",
      DEFAULTS.deleteVolumes,
      "only on existing hosts: also delete the ScaleIO volumes and packages on destroy",
    ),
    volumePlugin: c.boolean(
      "volumePlugin",
      DEFAULTS.volumePlugin,
      `true, the default, installs the Docker volume plugin "scaleio" on every Docker host`,
    ),
  };
}
