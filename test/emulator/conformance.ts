// Conformance suite: command sequences written the way public automation writes them, replayed
// against the emulator on three lab hosts (test/lab/emulator-conformance.test.ts runs them in
// order on one cluster). Each scenario names its public sources (repository and path); each step
// says what the MDM must answer and what its state must be afterwards. The commands are the
// sources' own forms; where a source relies on an interactive prompt (license, certificate), the
// step adds the non-interactive flag (--accept_license, --approve_certificate) and says so.

/** Placeholders in commands and patterns: {A} {B} {C} (node IPs), {PASSWORD}, {VIP}, {VERSION}. */
export type Vars = Record<string, string>;

export interface ConformanceStep {
  /** What the step does. */
  title: string;
  /** Which host runs it: 0 = node A (the first MDM), 1 = B, 2 = C. */
  on?: 0 | 1 | 2;
  /** Shell command run as root on that host (stdin closed). */
  sh: string;
  /** Exit status the real scli gives (default 0). */
  code?: number;
  /** Patterns (with placeholders) the output (stdout + stderr) must match. */
  out?: string[];
  /** Retry for up to this long until the step passes (e.g. the MDM opens 6611 after create). */
  retryMs?: number;
  /** MDM state afterwards: queries run on node A, each output must match every pattern. */
  state?: { sh: string; match: string[] }[];
}

export interface ConformanceScenario {
  name: string;
  /** Public sources the sequence follows: "owner/repo path: what it shows". */
  sources: string[];
  steps: ConformanceStep[];
}

const SAMLI = "samli008/scaleio";

export const SCENARIOS: ConformanceScenario[] = [
  {
    name: "version probe",
    sources: [
      "issue 13: the community ansible-scaleio roles and Dell's 3.x roles take the last word of `scli --version`, after stripping ` (Debug)` (the roles themselves are not in the searched public index)",
      "an R<major>_<minor>.<build> string: `Product:  EMC ScaleIO Version: R2_0.12000.122` in a monitoring script's sample of `scli --query_all` (README, Sources)",
    ],
    steps: [
      {
        title:
          "scli --version works before any cluster exists and ends in R<major>_<minor>.<build>",
        sh: "scli --version | sed 's/ (Debug)$//' | awk '{print $NF}'",
        out: ["^{VERSION}\\n$"],
      },
    ],
  },
  {
    name: "cluster built by IP with virtual IP interfaces, unnamed standby MDMs",
    sources: [
      `${SAMLI} cluster.sh: create with --cluster_virtual_ip and --master_mdm_virtual_ip_interface, login, interactive --set_password, add_standby_mdm by IP without names, --switch_cluster_mode --add_slave_mdm_ip --add_tb_ip`,
      `${SAMLI} scaleio.txt: the same sequence against 3.0-200.104 el7 packages`,
      "swisscom/puppet-scaleio lib/facter/scaleio_mdm_clustersetup_needed.rb: `scli --query_cluster --approve_certificate 2>&1` matched against the MDM's answer to decide that no cluster exists yet",
    ],
    steps: [
      {
        title: "a fresh MDM answers that it belongs to no system (exit 7, MDM's own words)",
        sh: "scli --query_cluster --approve_certificate 2>&1",
        code: 7,
        out: ["^Error: MDM failed command\\. {2}Status: This MDM is not attached to a system\\.$"],
      },
      {
        title:
          "create the cluster with a virtual IP (source: no --accept_license/--approve_certificate, it answers the prompts)",
        sh: "scli --create_mdm_cluster --master_mdm_ip {A} --cluster_virtual_ip {VIP} --master_mdm_name cluster1 --master_mdm_virtual_ip_interface eth1 --accept_license --approve_certificate",
        out: ["^Successfully created the MDM Cluster"],
      },
      {
        title: "log in with the default password once the new MDM answers",
        sh: "scli --login --username admin --password admin",
        retryMs: 30_000,
        out: ["^Logged in\\. User role is SuperUser\\. System ID is [0-9a-f]{16}$"],
      },
      {
        title: "scli --set_password, old and new password typed at the prompt (stdin)",
        sh: "printf 'admin\\n{PASSWORD}\\n' | scli --set_password",
        out: ["Password changed successfully"],
      },
      {
        title: "log out and in with the new password",
        sh: "scli --logout && scli --login --username admin --password '{PASSWORD}'",
        out: ["Logged in\\. User role is SuperUser"],
        state: [
          {
            sh: "scli --query_cluster",
            match: [
              "Mode: 1_node",
              "Virtual IP Addresses: {VIP}",
              "Master MDM:\\n {4}Name: cluster1, ID: 0x[0-9a-f]+\\n {8}IP Addresses: {A}, Management IP Addresses: {A}, Port: 9011, Virtual IP interfaces: eth1",
            ],
          },
        ],
      },
      {
        title: "add the second manager by IP, no name",
        sh: "scli --add_standby_mdm --new_mdm_ip {B} --mdm_role manager --new_mdm_virtual_ip_interface eth1",
        out: ["Successfully added a standby MDM"],
        state: [
          {
            sh: "scli --query_cluster",
            match: [
              "Standby MDMs:\\n {4}ID: 0x[0-9a-f]+, Manager\\n {8}IP Addresses: {B}, Management IP Addresses: {B}, Port: 9011, Virtual IP interfaces: eth1",
            ],
          },
        ],
      },
      {
        title: "add the tie-breaker by IP, no name",
        sh: "scli --add_standby_mdm --new_mdm_ip {C} --mdm_role tb",
        out: ["Successfully added a standby MDM"],
        state: [
          {
            sh: "scli --query_cluster",
            match: ["ID: 0x[0-9a-f]+, Tie Breaker\\n {8}IP Addresses: {C}, Port: 9011"],
          },
        ],
      },
      {
        title:
          "switch to 3_node naming slave and tie-breaker by IP (options in the source's order)",
        sh: "scli --switch_cluster_mode --add_slave_mdm_ip {B} --add_tb_ip {C} --cluster_mode 3_node",
        out: ["Successfully switched the cluster mode"],
        state: [
          {
            sh: "scli --query_cluster",
            match: [
              "Mode: 3_node, State: Normal, Active: 3/3, Replicas: 2/2",
              "Slave MDMs:\\n {4}ID: 0x[0-9a-f]+\\n {8}IP Addresses: {B},",
              "Tie-Breakers:\\n {4}ID: 0x[0-9a-f]+\\n {8}IP Addresses: {C}, Port: 9011",
            ],
          },
        ],
      },
      {
        title: "protection domain and a 3.x storage pool (media type)",
        sh: "scli --add_protection_domain --protection_domain_name pd1 && scli --add_storage_pool --storage_pool_name sp1 --protection_domain_name pd1 --media_type HDD",
        out: ["Successfully created a storage pool"],
        state: [
          {
            sh: "scli --query_all",
            match: [
              "Product: {2}EMC ScaleIO Version: {VERSION}",
              "Protection Domain pd1 \\(Id: [0-9a-f]+\\) has 1 storage pools, 0 Fault Sets, 0 SDS nodes",
            ],
          },
        ],
      },
    ],
  },
  {
    name: "SDS first, devices later, everything selected by IP",
    sources: [
      `${SAMLI} add_sds.sh: --add_sds --sds_ip --sds_ip_role all --protection_domain_name --sds_name SDS_<ip>, no devices`,
      `${SAMLI} add_device.sh and scaleio.txt: --add_sds_device --sds_ip --protection_domain_name --storage_pool_name --device_path /dev/vdb`,
      `${SAMLI} scaleio.txt: --add_volume, --map_volume_to_sdc --allow_multi_map --sdc_ip, --unmap_volume_from_sdc --sdc_ip; an SDC pointed at the MDM by appending \`mdm <ip>\` to /etc/emc/scaleio/drv_cfg.txt and restarting scini`,
    ],
    steps: [
      ...(["A", "B", "C"] as const).map((n): ConformanceStep => ({
        title: `add the SDS on {${n}} without devices`,
        sh: `scli --add_sds --sds_ip {${n}} --sds_ip_role all --protection_domain_name pd1 --sds_name SDS_{${n}}`,
        out: ["Successfully created SDS SDS_{" + n + "}"],
        state: [
          {
            sh: `scli --query_sds --sds_ip {${n}}`,
            match: ["^SDS [0-9a-f]+ Name: SDS_{" + n + "} ", "Device information total 0 devices:"],
          },
        ],
      })),
      {
        title: "a volume needs devices first",
        sh: "scli --add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 8 --volume_name vol01",
        code: 7,
        out: ["Error: MDM failed command\\. {2}Status: "],
      },
      ...(["A", "B", "C"] as const).map((n): ConformanceStep => ({
        title: `add /dev/vdb to the SDS on {${n}}, selected by IP`,
        sh: `scli --add_sds_device --sds_ip {${n}} --protection_domain_name pd1 --storage_pool_name sp1 --device_path /dev/vdb`,
        state: [
          {
            sh: `scli --query_sds --sds_ip {${n}}`,
            match: [
              "Device information total 1 devices:\\n {5}1: Name: N/A {2}Path: /dev/vdb {2}Original-path: /dev/vdb {2}ID: [0-9a-f]+\\n {8}Storage Pool: sp1, Capacity: 120\\.0 GB",
            ],
          },
        ],
      })),
      {
        title: "an SDS device is added once",
        sh: "scli --add_sds_device --sds_ip {A} --protection_domain_name pd1 --storage_pool_name sp1 --device_path /dev/vdb",
        code: 7,
        out: ["Status: Device /dev/vdb is already in use by the SDS at {A}"],
      },
      {
        title: "the SDC on C learns the MDM from drv_cfg.txt, as the source edits it",
        on: 2,
        sh: "echo 'mdm {A},{B}' >> /etc/emc/scaleio/drv_cfg.txt && systemctl restart scini",
        state: [{ sh: "scli --query_all_sdc", match: ["Query all SDC returned 3 SDC nodes\\."] }],
        retryMs: 30_000,
      },
      {
        title: "a volume, mapped to two SDCs by IP",
        sh: "scli --add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 16 --volume_name vol01 && scli --map_volume_to_sdc --volume_name vol01 --allow_multi_map --sdc_ip {B} && scli --map_volume_to_sdc --volume_name vol01 --allow_multi_map --sdc_ip {C}",
        out: ["Successfully created volume of size 16 GB"],
        state: [
          {
            sh: "scli --query_volume --volume_name vol01",
            match: ["Mapped SDCs:\\n\\t\\tSDC ID: [0-9a-f]+ IP: {B}", "SDC ID: [0-9a-f]+ IP: {C}"],
          },
          {
            sh: "scli --query_all",
            match: ["has 1 storage pools, 0 Fault Sets, 3 SDS nodes, 1 volumes and "],
          },
        ],
      },
      {
        title: "unmap from one SDC by IP",
        sh: "scli --unmap_volume_from_sdc --volume_name vol01 --sdc_ip {B}",
        state: [
          {
            sh: "scli --query_all_volumes",
            match: [
              "Volume ID: [0-9a-f]+ Name: vol01 Size: 16\\.0 GB \\(16384 MB\\) Mapped to 1 SDC",
            ],
          },
        ],
      },
    ],
  },
  {
    name: "devices by SDS name, fault sets",
    sources: [
      "swisscom/puppet-scaleio lib/puppet/provider/scaleio_sds/scli.rb: --add_sds ... --fault_set_name, then --add_sds_device --sds_name --device_path --storage_pool_name (no protection domain)",
      "kidluc/scaleiobasic 6-manage.md: --add_sds_device (--sds_id | --sds_name | --sds_ip) --device_path [--device_name] (--storage_pool_name | --storage_pool_id)",
      "kidluc/scaleiobasic 4-config-system.md: --add_fault_set (--protection_domain_id | --protection_domain_name) [--fault_set_name]; 5-monitoring.md: --query_all_fault_sets",
    ],
    steps: [
      {
        title: "a fault set in pd1",
        sh: "scli --add_fault_set --protection_domain_name pd1 --fault_set_name fs1",
        state: [
          {
            sh: "scli --query_all_fault_sets --protection_domain_name pd1",
            match: ["Fault Set ID: [0-9a-f]+ Name: fs1"],
          },
          { sh: "scli --query_all", match: ["has 1 storage pools, 1 Fault Sets, 3 SDS nodes"] },
        ],
      },
      {
        title: "a second device on C's SDS, selected by name, pool by name, with a device name",
        sh: "scli --add_sds_device --sds_name SDS_{C} --device_path /dev/vdc --device_name data2 --storage_pool_name sp1",
        state: [
          {
            sh: "scli --query_sds --sds_name SDS_{C}",
            match: [
              "Device information total 2 devices:",
              "2: Name: data2 {2}Path: /dev/vdc {2}Original-path: /dev/vdc",
            ],
          },
        ],
      },
      {
        title: "a misspelt option is a usage error (exit 2), not an MDM refusal",
        sh: "scli --add_sds_device --sds_nmae SDS_{C} --device_path /dev/vdc --storage_pool_name sp1",
        code: 2,
        out: ["^Error: Unknown option --sds_nmae for --add_sds_device$"],
      },
    ],
  },
];

/** Appended last: EMC's Puppet module's one-pool-per-device form, on a re-added SDS. */
SCENARIOS.push({
  name: "SDS re-added with one storage pool per device",
  sources: [
    "thecodeteam/puppet-scaleio manifests/sds.pp: --add_sds --sds_ip <ips> --sds_ip_role <roles> --storage_pool_name <sp1,sp2> --device_path <dev1,dev2> [--fault_set_name]",
    `${SAMLI} scaleio.txt: --remove_sds --sds_ip`,
  ],
  steps: [
    {
      title: "a second pool",
      sh: "scli --add_storage_pool --protection_domain_name pd1 --storage_pool_name sp2 --media_type SSD",
      out: ["Successfully created a storage pool"],
    },
    {
      title: "remove C's SDS by IP (the thick volume still fits on A and B)",
      sh: "scli --remove_sds --sds_ip {C}",
    },
    {
      // The MDM first moves the SDS's data to the others (README, Day 2), then drops it.
      title: "C's SDS is gone once its data has moved",
      sh: "scli --query_all_sds",
      out: ["returned 2 SDS nodes"],
      retryMs: 180_000,
    },
    {
      title:
        "an SDS port the SDS does not listen on is refused by the MDM (--sds_port, as swisscom/puppet-scaleio passes it)",
      sh: "scli --add_sds --sds_name SDS_{C} --protection_domain_name pd1 --sds_ip {C} --sds_port 3454",
      code: 7,
      out: ["Status: Could not communicate with the SDS at {C}:3454"],
    },
    {
      title: "add it again with one pool per device, in the fault set",
      sh: "scli --add_sds --sds_name SDS_{C} --protection_domain_name pd1 --sds_ip {C} --sds_ip_role all --storage_pool_name sp1,sp2 --device_path /dev/vdb,/dev/vdc --fault_set_name fs1",
      out: ["Successfully created SDS SDS_{C}"],
      state: [
        {
          sh: "scli --query_sds --sds_name SDS_{C}",
          match: [
            "Fault Set: [0-9a-f]+, Name: fs1",
            "IP information total 1 IPs:\\n {5}1: {C} {5}Role: All SDS and SDC\\n {4}Port: 7072",
            "1: Name: N/A {2}Path: /dev/vdb .*\\n {8}Storage Pool: sp1, Capacity: 120\\.0 GB",
            "2: Name: N/A {2}Path: /dev/vdc .*\\n {8}Storage Pool: sp2, Capacity: 120\\.0 GB",
          ],
        },
        { sh: "scli --query_all", match: ["has 2 storage pools, 1 Fault Sets, 3 SDS nodes"] },
      ],
    },
    {
      title: "as many pools as devices, or one",
      sh: "scli --add_sds --sds_name x --protection_domain_name pd1 --sds_ip 192.0.2.9 --storage_pool_name sp1,sp2 --device_path /dev/vdb",
      code: 1,
      out: ["Status: Give one Storage Pool, or one per device: 2 pools for 1 devices"],
    },
  ],
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replace {NAME} placeholders with the values (escaped for patterns when asRegExp). */
export function fill(text: string, vars: Vars, asRegExp = false): string {
  return text.replace(/\{([A-Z]+)\}/g, (whole, name: string) =>
    name in vars ? (asRegExp ? escapeRegExp(vars[name]) : vars[name]) : whole,
  );
}

/** A pattern of a step, placeholders filled, multi-line. */
export function pattern(text: string, vars: Vars): RegExp {
  return new RegExp(fill(text, vars, true), "m");
}
