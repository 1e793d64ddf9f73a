// scli's command lines (reference §4, §5): one builder per command and dialect. Stages never
// spell an scli flag themselves. To add a command: a method on Scli here, a parser for its
// output in parse.ts when it is a query, a case in test/unit/install-scli.test.ts.
import type { Dialect } from "../rpms";
import { isIP } from "node:net";
import { argv, assertEnvName, q } from "../shell";

/** A command word: literal text (quoted when rendered) or a reference to a secret variable. */
export type Word = string | { secret: string };

/** Render words into a shell command; secrets become "$NAME", expanded only on the host. */
export function render(words: Word[]): string {
  return words.map((w) => (typeof w === "string" ? q(w) : `"$${w.secret}"`)).join(" ");
}

export interface ScliCommand {
  /** The command line (secrets as "$NAME" references). */
  line: string;
  /** Names of secret variables the line refers to; ssh.ts feeds them through stdin. */
  secrets: string[];
}

/**
 * scli never gets a terminal: its stdin is /dev/null (or, for passwords, a pipe that ends after
 * them, see `cmd`), so a question it might ask (y/n on an unapproved certificate) meets
 * end-of-file at once instead of waiting.
 */
export const STDIN_CLOSED = "</dev/null";

/**
 * The command for `words`. `answers` are secret variables scli asks for on stdin: the shell's
 * `printf` builtin writes their values, one per line, into a pipe to scli, so no value is in
 * any argv on the host (`ps`); after them stdin ends, so any other question meets end-of-file
 * at once, as with STDIN_CLOSED. Secrets among `words` are still arguments (visible to `ps`).
 */
function cmd(words: Word[], answers: string[] = []): ScliCommand {
  const inline = words
    .filter((w): w is { secret: string } => typeof w !== "string")
    .map((w) => w.secret);
  for (const a of answers) assertEnvName(a);
  const secrets = [...new Set([...inline, ...answers])];
  if (answers.length === 0) return { line: `${render(words)} ${STDIN_CLOSED}`, secrets };
  const feed = answers.map((a) => `"$${a}"`).join(" ");
  return { line: `printf '%s\\n' ${feed} | ${render(words)}`, secrets };
}

/** `--media_type` values on 3.x (see config/types.ts MEDIA_TYPES for the source). */
export type MediaType = "HDD" | "SSD" | "Transitional";

export interface MdmSpec {
  ip: string;
  name: string;
}

/** Builds scli command lines for one cluster. `mdmIps` are the manager IPs (master + slaves). */
export class Scli {
  constructor(
    readonly dialect: Dialect,
    readonly mdmIps: string[],
  ) {
    if (mdmIps.length === 0) throw new Error("scli needs at least one MDM address");
  }

  private base(...words: Word[]): ScliCommand {
    return this.fed([], ...words);
  }

  /** `base`, with the secret variables `answers` on scli's stdin (see `cmd`). */
  private fed(answers: string[], ...words: Word[]): ScliCommand {
    // 2.x+ scli trusts the MDM certificate per user; approving on every call keeps a failover
    // (new master, new certificate) from breaking the next command. Only MDM hosts run scli.
    const approve =
      this.dialect !== "1.3x" && !words.includes("--approve_certificate")
        ? ["--approve_certificate"]
        : [];
    return cmd(["scli", ...words, "--mdm_ip", this.mdmIps.join(","), ...approve], answers);
  }

  createCluster(master: MdmSpec): ScliCommand {
    if (this.dialect === "1.3x") {
      return this.base(
        "--mdm",
        "--add_primary_mdm",
        "--primary_mdm_ip",
        master.ip,
        "--mdm_management_ip",
        master.ip,
        "--accept_license",
      );
    }
    return this.base(
      "--create_mdm_cluster",
      "--master_mdm_ip",
      master.ip,
      "--master_mdm_management_ip",
      master.ip,
      "--master_mdm_name",
      master.name,
      "--accept_license",
      "--approve_certificate",
    );
  }

  /**
   * Log in as `user` with the password in secret variable `passwordVar`. Without `--password`
   * scli asks for it (`scli --login --username <NAME> [--password <PASSWORD>]`, sources in
   * test/emulator/README.md), so it goes to scli's stdin and never into its argv (`ps`).
   */
  login(user: string, passwordVar: string): ScliCommand {
    const extra = this.dialect === "1.3x" ? [] : ["--approve_certificate"];
    return this.fed([passwordVar], "--login", "--username", user, ...extra);
  }

  /**
   * Change the logged-in user's password from secret `oldVar` to secret `newVar`. Without
   * `--old_password`/`--new_password` scli asks for them, old first; the new one is sent twice,
   * for a confirmation question (a second line nobody asks for is never read).
   */
  setPassword(oldVar: string, newVar: string): ScliCommand {
    return this.fed([oldVar, newVar, newVar], "--set_password");
  }

  /** Add a standby MDM (2.x+) or, in 1.3x, the secondary MDM / tie-breaker directly. */
  addStandby(m: MdmSpec, role: "manager" | "tb"): ScliCommand {
    if (this.dialect === "1.3x") {
      return role === "manager"
        ? this.base(
            "--add_secondary_mdm",
            "--secondary_mdm_ip",
            m.ip,
            "--secondary_mdm_name",
            m.name,
          )
        : this.base("--add_tb", "--tb_ip", m.ip, "--tb_name", m.name);
    }
    return role === "manager"
      ? this.base(
          "--add_standby_mdm",
          "--new_mdm_ip",
          m.ip,
          "--mdm_role",
          "manager",
          "--new_mdm_management_ip",
          m.ip,
          "--new_mdm_name",
          m.name,
        )
      : this.base(
          "--add_standby_mdm",
          "--new_mdm_ip",
          m.ip,
          "--mdm_role",
          "tb",
          "--new_mdm_name",
          m.name,
        );
  }

  /**
   * Switch to 3_node/5_node adding the given slaves and tie-breakers by name (the only form
   * public automation uses: EMC's Vagrant labs, puppet-scaleio, scaleio-framework).
   */
  switchClusterMode(mode: "3_node" | "5_node", slaves: string[], tbs: string[]): ScliCommand {
    if (this.dialect === "1.3x") return this.base("--switch_to_cluster_mode");
    // An empty name list is left out: scli takes "" as a name and refuses it.
    return this.base(
      "--switch_cluster_mode",
      "--cluster_mode",
      mode,
      ...(slaves.length > 0 ? ["--add_slave_mdm_name", slaves.join(",")] : []),
      ...(tbs.length > 0 ? ["--add_tb_name", tbs.join(",")] : []),
    );
  }

  /**
   * Switch the cluster mode taking members out: `--remove_slave_mdm_name`/`--remove_tb_name`
   * (and adding others in the same command, as a role moves). Dell's own playbooks shrink a
   * cluster this way (dell/ansible-powerflex roles/powerflex_tb/tasks/uninstall_tb.yml:
   * `--switch_cluster_mode --cluster_mode 1_node --remove_slave_mdm_ip .. --remove_tb_ip ..`).
   */
  switchClusterModeRemoving(
    mode: "3_node" | "5_node",
    change: { addSlaves: string[]; addTbs: string[]; removeSlaves: string[]; removeTbs: string[] },
  ): ScliCommand {
    if (this.dialect === "1.3x") throw new Error("scli 1.3x has no --switch_cluster_mode");
    const list = (flag: string, names: string[]) =>
      names.length > 0 ? [flag, names.join(",")] : [];
    return this.base(
      "--switch_cluster_mode",
      "--cluster_mode",
      mode,
      ...list("--add_slave_mdm_name", change.addSlaves),
      ...list("--add_tb_name", change.addTbs),
      ...list("--remove_slave_mdm_name", change.removeSlaves),
      ...list("--remove_tb_name", change.removeTbs),
    );
  }

  /**
   * Remove a standby MDM by its cluster address (dell/ansible-powerflex
   * roles/powerflex_mdm/tasks/remove_mdm.yml: `scli --remove_standby_mdm --remove_mdm_ip <ip>`).
   * Only a standby can be removed: a slave or tie-breaker leaves the mode first.
   */
  removeStandby(ip: string): ScliCommand {
    return this.base("--remove_standby_mdm", "--remove_mdm_ip", ip);
  }

  /**
   * Hand the master role to another manager (`--switch_mdm_ownership --new_master_mdm_name`,
   * dell/ansible-powerflex mdm_cluster `is_primary`), before the old master leaves.
   */
  switchOwnership(newMaster: string): ScliCommand {
    return this.base("--switch_mdm_ownership", "--new_master_mdm_name", newMaster);
  }

  /**
   * Start removing an SDS (`scli --remove_sds --sds_ip <ip>`: the scli reference's
   * `--remove_sds (--sds_id | --sds_name | --sds_ip)`; thecodeteam/puppet-scaleio's SDS provider).
   * The MDM moves its data to the other SDSs first; it is listed until that is done.
   */
  removeSds(ip: string): ScliCommand {
    return this.base("--remove_sds", "--sds_ip", ip);
  }

  /**
   * Remove an SDC from the MDM by address (dell/ansible-powerflex sdc module `state: absent`,
   * roles/powerflex_sdc/tasks/remove_sdc.yml); refused while volumes are mapped to it.
   */
  removeSdc(ip: string): ScliCommand {
    return this.base("--remove_sdc", "--sdc_ip", ip);
  }

  renameSystem(name: string): ScliCommand {
    return this.base("--rename_system", "--new_name", name);
  }

  addProtectionDomain(pd: string): ScliCommand {
    return this.base("--add_protection_domain", "--protection_domain_name", pd);
  }

  addStoragePool(pd: string, sp: string, media: MediaType): ScliCommand {
    const m = this.dialect === "3.x" ? ["--media_type", media] : [];
    return this.base(
      "--add_storage_pool",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
      ...m,
    );
  }

  /**
   * Add an SDS with its devices. `sp`: one pool for every device, or one per device in the
   * order of `devices` (`--storage_pool_name sp1,sp2`, as EMC's puppet-scaleio writes it).
   */
  addSds(
    ip: string,
    devices: string[],
    name: string,
    pd: string,
    sp: string | string[],
  ): ScliCommand {
    const pools =
      typeof sp === "string" ? sp : [...new Set(sp)].length === 1 ? sp[0] : sp.join(",");
    return this.base(
      "--add_sds",
      "--sds_ip",
      ip,
      "--device_path",
      devices.join(","),
      "--sds_name",
      name,
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      pools,
    );
  }

  /**
   * Add one device to an SDS in a pool of the SDS's protection domain (swisscom/puppet-scaleio
   * `scaleio_sds` provider: `--add_sds_device --sds_name N --storage_pool_name P --device_path D`).
   */
  addSdsDevice(sdsName: string, device: string, sp: string): ScliCommand {
    return this.base(
      "--add_sds_device",
      "--sds_name",
      sdsName,
      "--storage_pool_name",
      sp,
      "--device_path",
      device,
    );
  }

  /** Remove a device from an SDS (its data moves to the pool's other devices; same source). */
  removeSdsDevice(sdsName: string, device: string): ScliCommand {
    return this.base("--remove_sds_device", "--sds_name", sdsName, "--device_path", device);
  }

  /**
   * Remove an empty storage pool (swisscom/puppet-scaleio `scaleio_storage_pool` provider:
   * `--remove_storage_pool --protection_domain_name PD --storage_pool_name SP`).
   */
  removeStoragePool(pd: string, sp: string): ScliCommand {
    return this.base(
      "--remove_storage_pool",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
    );
  }

  addVolume(pd: string, sp: string, sizeGb: number, name: string): ScliCommand {
    return this.base(
      "--add_volume",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
      "--size_gb",
      String(sizeGb),
      "--volume_name",
      name,
    );
  }

  mapVolume(volume: string, sdcIp: string): ScliCommand {
    return this.base("--map_volume_to_sdc", "--volume_name", volume, "--sdc_ip", sdcIp);
  }

  unmapVolume(volume: string, sdcIp: string): ScliCommand {
    return this.base(
      "--unmap_volume_from_sdc",
      "--volume_name",
      volume,
      "--sdc_ip",
      sdcIp,
      "--i_am_sure",
    );
  }

  removeVolume(volume: string): ScliCommand {
    return this.base("--remove_volume", "--volume_name", volume, "--i_am_sure");
  }

  queryCluster(): ScliCommand {
    return this.base("--query_cluster");
  }
  queryAllVolumes(): ScliCommand {
    return this.base("--query_all_volumes");
  }
  queryAllSds(): ScliCommand {
    return this.base("--query_all_sds");
  }
  queryAllSdc(): ScliCommand {
    return this.base("--query_all_sdc");
  }
  queryAll(): ScliCommand {
    return this.base("--query_all");
  }
  /** One SDS with its devices and their pools (`--query_sds --sds_ip`). */
  querySds(ip: string): ScliCommand {
    return this.base("--query_sds", "--sds_ip", ip);
  }
  queryStoragePool(pd: string, sp: string): ScliCommand {
    return this.base(
      "--query_storage_pool",
      "--protection_domain_name",
      pd,
      "--storage_pool_name",
      sp,
    );
  }
  queryVolume(name: string): ScliCommand {
    return this.base("--query_volume", "--volume_name", name);
  }
}

/** Where drv_cfg lives (newer layouts first). */
export const DRV_CFG_PATHS = ["/opt/emc/scaleio/sdc/bin/drv_cfg", "/bin/emc/scaleio/drv_cfg"];

/** Shell snippet that runs drv_cfg from wherever it is installed. */
export function drvCfg(args: string): string {
  return `{ d=; for p in ${DRV_CFG_PATHS.join(" ")}; do [ -x "$p" ] && d="$p" && break; done; [ -n "$d" ] || { echo "drv_cfg not found (is the SDC package installed?)" >&2; exit 127; }; "$d" ${args}; }`;
}

/**
 * Where the SDC's config file lives (newer layouts first; reference §5). The driver loads its
 * MDM list from the file's `mdm ip1,ip2` line when the scini service starts.
 */
export const DRV_CFG_FILES = ["/etc/emc/scaleio/drv_cfg.txt", "/bin/emc/scaleio/drv_cfg.txt"];

/**
 * Shell snippet printing `file <path>` for the first SDC config file of DRV_CFG_FILES that
 * exists, then its `mdm` lines (nothing when there is none). Read-only.
 */
export const DRV_CFG_MDM_LINES = `for f in ${DRV_CFG_FILES.join(" ")}; do if [ -f "$f" ]; then echo "file $f"; grep -E '^mdm[[:space:]]' "$f"; break; fi; done; true`;

/**
 * drv_cfg's `--mod_mdm_ip`: the MDM cluster the SDC knows by `currentIp` gets the addresses
 * `newIps` instead, in the running driver, or with `file` in that config file only (what the
 * driver loads when scini starts). Sources: puppet-scaleio's SDC manifest (swisscom/puppet-scaleio manifests/sdc.pp: `drv_cfg
 * --mod_mdm_ip --ip <first IP of the mdm line> --new_mdm_ip <all> --file drv_cfg.txt`) and
 * dell/terraform-provider-powerflex's SDC expansion (`drv_cfg --mod_mdm_ip --ip=<existing>
 * --new_mdm_ip=<list>`, live). Throws on an address that is not an IP (nothing reaches a shell).
 */
export function modMdmIp(currentIp: string, newIps: string[], file?: string): string {
  for (const ip of [currentIp, ...newIps])
    if (!isIP(ip)) throw new Error(`drv_cfg --mod_mdm_ip: "${ip}" is not an IP address`);
  if (newIps.length === 0) throw new Error("drv_cfg --mod_mdm_ip: no new MDM address");
  if (file !== undefined && !DRV_CFG_FILES.includes(file))
    throw new Error(`drv_cfg --mod_mdm_ip: "${file}" is not an SDC config file`);
  const words = ["--mod_mdm_ip", "--ip", currentIp, "--new_mdm_ip", newIps.join(",")];
  return drvCfg(argv(file === undefined ? words : [...words, "--file", file]));
}

/** The stable device path of a mapped volume (reference §5). */
export function volumeDevicePath(systemId: string, volumeId: string): string {
  return `/dev/disk/by-id/emc-vol-${systemId}-${volumeId}`;
}
