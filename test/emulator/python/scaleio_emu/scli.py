"""scli: the ScaleIO command line, 2.x/3.x dialect (the 1.3x primary/secondary commands are mapped).

Each user keeps a login session and a certificate truststore in ~/.scaleio (per $HOME, like the
real client). Commands go to port 6611 of the master; --mdm_ip ip1,ip2 tries each address.
Exit status: 0 success, 7 when the MDM refused (exists, not ready, wrong password, ...),
1 for usage, connection and certificate errors.
"""

import os
import sys

from . import common

# Flags that never take a value (everything else that is followed by a value takes it).
COMMANDS = [
    "create_mdm_cluster", "login", "logout", "set_password", "add_standby_mdm",
    "remove_standby_mdm", "switch_cluster_mode", "rename_system", "add_protection_domain",
    "add_storage_pool", "add_sds", "remove_sds", "add_volume", "remove_volume",
    "map_volume_to_sdc", "unmap_volume_from_sdc", "query_cluster", "query_all",
    "query_all_volumes", "query_all_sds", "query_all_sdc", "query_volume", "query_sds",
    # 1.3x dialect
    "add_primary_mdm", "add_secondary_mdm", "add_tb", "switch_to_cluster_mode",
]
QUERIES = {"query_cluster", "query_all", "query_all_volumes", "query_all_sds", "query_all_sdc",
           "query_volume", "query_sds"}


class Failure(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def parse(argv):
    args = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if not word.startswith("--"):
            raise Failure("Error: unexpected argument %r (options start with --)" % word, 1)
        key = word[2:]
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            args[key] = argv[i + 1]
            i += 2
        else:
            args[key] = True
            i += 1
    return args


def home_file(name):
    return os.path.join(os.path.expanduser("~"), ".scaleio", name)


def check_certificate(fpr, approve):
    path = home_file("emu-truststore.json")
    trusted = common.load_json(path, [])
    if fpr in trusted:
        return
    if not approve:
        raise Failure("Error: The MDM certificate (SHA-256 %s) is not trusted. Approve it by "
                      "running the command with --approve_certificate" % fpr, 1)
    trusted.append(fpr)
    common.save_json(path, trusted)


def mdm_ips(args):
    return [ip.strip() for ip in str(args.get("mdm_ip") or "127.0.0.1").split(",") if ip.strip()]


def send(ip, port, message, args):
    reply, fpr = common.call(ip, port, message, timeout=30.0, tls=True)
    check_certificate(fpr, bool(args.get("approve_certificate")))
    return reply


def run_create(args):
    ip = mdm_ips(args)[0]
    try:
        reply = send(ip, common.MDM_PORT, {"op": "create", "args": args}, args)
    except common.RpcError as e:
        raise Failure("Error: Failed to connect to MDM %s (%s)" % (ip, e), 1)
    if not reply.get("ok"):
        raise Failure("Error: MDM failed command.  Status: %s" % reply["error"], reply["code"])
    return "Successfully created the MDM Cluster. System ID %s" % reply["system_id"]


def run_command(cmd, args, token):
    """Send cmd to whichever listed MDM is the master; explain why none could be used."""
    ips = mdm_ips(args)
    reasons = []
    for ip in ips:
        try:
            reply = send(ip, common.MDM_MGMT_PORT,
                         {"op": "cmd", "cmd": cmd, "args": args, "token": token}, args)
        except common.RpcError as e:
            reasons.append(diagnose(ip, e, args))
            continue
        if not reply.get("ok") and reply.get("error") == "This MDM is not the master":
            reasons.append((1, "%s is not the master MDM" % ip))
            continue
        return reply
    code = max(c for c, _ in reasons)
    raise Failure("Error: Failed to connect to MDM %s: %s"
                  % (",".join(ips), "; ".join(r for _, r in reasons)), code)


def diagnose(ip, error, args):
    """The management port is closed: say whether the cluster is missing, not ready, or the MDM is gone."""
    try:
        probe = send(ip, common.MDM_PORT, {"op": "probe"}, args)
    except common.RpcError:
        return (1, "no MDM answers at %s (%s)" % (ip, error))
    if not probe.get("in_cluster"):
        return (7, "the MDM cluster has not been created yet on %s (scli --create_mdm_cluster)"
                % ip)
    if probe.get("role") == "master":
        return (7, "the master MDM at %s is not ready yet; retry" % ip)
    return (1, "%s is not the master MDM (it is %s)" % (ip, probe.get("role") or "standby"))


def map_13x(cmd, args):
    """The 1.3x dialect, translated to the 2.x commands the MDM understands."""
    if cmd == "add_primary_mdm":
        args["master_mdm_ip"] = args.get("primary_mdm_ip")
        args["master_mdm_management_ip"] = args.get("mdm_management_ip")
        args.setdefault("mdm_ip", args.get("primary_mdm_ip"))
        return "create_mdm_cluster"
    if cmd == "add_secondary_mdm":
        args.update(new_mdm_ip=args.get("secondary_mdm_ip"), mdm_role="manager",
                    new_mdm_name=args.get("secondary_mdm_name") or "secondary")
        return "add_standby_mdm"
    if cmd == "add_tb":
        args.update(new_mdm_ip=args.get("tb_ip"), mdm_role="tb",
                    new_mdm_name=args.get("tb_name") or "tb")
        return "add_standby_mdm"
    return cmd


def gb(size_gb):
    return "%.1f GB (%d MB)" % (size_gb, size_gb * 1024)


def fmt_cluster(s):
    up = s["up"]
    voters = [m for m in s["members"] if m["role"] in ("master", "slave", "tb")]
    managers = [m for m in voters if m["role"] != "tb"]
    active = sum(1 for m in voters if up[m["id"]])
    replicas = sum(1 for m in managers if up[m["id"]])
    state = "Normal" if active == len(voters) and replicas == len(managers) else "Degraded"
    version = common.short_version(s["system"]["version"])
    out = ["Cluster:",
           "    Mode: %s, State: %s, Active: %d/%d, Replicas: %d/%d"
           % (s["mode"], state, active, len(voters), replicas, len(managers)),
           "    Virtual IPs: N/A"]

    def block(title, role, manager_ips=True, status=True, kind=False):
        members = [m for m in s["members"] if m["role"] == role]
        if not members:
            return
        out.append(title)
        for m in members:
            suffix = (", Manager" if m["manager"] else ", Tie Breaker") if kind else ""
            out.append("    Name: %s, ID: %s%s" % (m["name"], m["id"], suffix))
            line = "        IPs: %s" % ", ".join(m["ips"])
            if manager_ips and m["manager"]:
                line += ", Management IPs: %s" % ", ".join(m["mgmt_ips"])
            line += ", Port: %d" % common.MDM_PORT
            if m["manager"]:
                line += ", Virtual IP interfaces: N/A"
            out.append(line)
            if status:
                out.append("        Status: %s, Version: %s"
                           % ("Normal" if up[m["id"]] else "Disconnected", version))
            else:
                out.append("        Version: %s" % version)

    block("Master MDM:", "master", status=False)
    block("Slave MDMs:", "slave")
    block("Tie-Breakers:", "tb")
    block("Standby MDMs:", "standby", kind=True)
    return "\n".join(out)


def name_of(items, obj_id):
    return next((o.get("name") or "N/A" for o in items if o["id"] == obj_id), "N/A")


def fmt_volume_line(s, v):
    mapped = "Mapped to %d SDC" % len(v["mapped"]) if v["mapped"] else "Unmapped"
    return " Volume ID: %s Name: %s Size: %s %s %s" % (
        v["id"], v["name"] or "N/A", gb(v["size_gb"]), mapped,
        "Thin-provisioned" if v["thin"] else "Thick-provisioned")


def fmt_all_volumes(s):
    out = ["Query-all-volumes returned %d volumes" % len(s["volumes"])]
    for pd in s["pds"]:
        for pool in [p for p in s["pools"] if p["pd"] == pd["id"]]:
            vols = [v for v in s["volumes"] if v["pool"] == pool["id"]]
            if not vols:
                continue
            out.append("Protection Domain %s Name: %s" % (pd["id"], pd["name"] or "N/A"))
            out.append("Storage Pool %s Name: %s" % (pool["id"], pool["name"] or "N/A"))
            out += [fmt_volume_line(s, v) for v in vols]
    return "\n".join(out)


def fmt_sds_line(s, d):
    return "SDS ID: %s Name: %s State: %s, Joined IP: %s Port: %d Version: %s" % (
        d["id"], d["name"], "Connected" if s["up"][d["id"]] else "Disconnected", d["ips"][0],
        common.SDS_PORT, common.short_version(d.get("version") or s["system"]["version"]))


def fmt_all_sds(s):
    out = ["Query-all-SDS returned %d SDS nodes." % len(s["sds"])]
    for pd in s["pds"]:
        members = [d for d in s["sds"] if d["pd"] == pd["id"]]
        if members:
            out.append("Protection Domain %s Name: %s" % (pd["id"], pd["name"] or "N/A"))
            out += [fmt_sds_line(s, d) for d in members]
    return "\n".join(out)


def fmt_all_sdc(s):
    out = ["MDM restricted SDC mode: Disabled",
           "Query all SDC returned %d SDC nodes." % len(s["sdcs"])]
    for c in s["sdcs"]:
        version = common.short_version(c.get("version") or s["system"]["version"])
        out.append("SDC ID: %s Name: %s IP: %s State: %s GUID: %s OS Type: LINUX "
                   "Loaded Version: %s Installed Version: %s"
                   % (c["id"], c.get("name") or "N/A", c["ip"],
                      "Connected" if s["up"][c["id"]] else "Disconnected", c["guid"], version,
                      version))
    return "\n".join(out)


def fmt_all(s):
    sysinfo = s["system"]
    out = ["System Info:",
           "\tProduct:  EMC ScaleIO Version: R%s" % sysinfo["version"].replace(".", "_", 1)
           .replace("-", "."),
           "\tID:      %s" % sysinfo["id"],
           "\tName:    %s" % (sysinfo["name"] or "N/A"),
           "\tCluster mode: %s" % s["mode"], ""]
    out.append("Protection Domains: %d, Storage Pools: %d, SDS: %d, SDC: %d, Volumes: %d"
               % (len(s["pds"]), len(s["pools"]), len(s["sds"]), len(s["sdcs"]),
                  len(s["volumes"])))
    for pd in s["pds"]:
        out.append("Protection Domain %s (Name: %s)" % (pd["id"], pd["name"] or "N/A"))
        for pool in [p for p in s["pools"] if p["pd"] == pd["id"]]:
            used = sum(v["size_gb"] for v in s["volumes"] if v["pool"] == pool["id"]
                       and not v["thin"])
            out.append("\tStorage Pool %s (Name: %s), Media type: %s, Usable capacity: %d GB, "
                       "Thick volumes: %d GB" % (pool["id"], pool["name"] or "N/A",
                                                 pool["media_type"], s["capacity_gb"][pool["id"]],
                                                 used))
            for d in [d for d in s["sds"] if d["pool"] == pool["id"]]:
                out.append("\t\t" + fmt_sds_line(s, d))
            for v in [v for v in s["volumes"] if v["pool"] == pool["id"]]:
                out.append("\t\t" + fmt_volume_line(s, v).strip())
    return "\n".join(out)


def fmt_volume(s, args):
    vol = next((v for v in s["volumes"] if (args.get("volume_id") and v["id"] == args["volume_id"])
                or (args.get("volume_name") and v["name"] == args["volume_name"])), None)
    if vol is None:
        raise Failure("Error: MDM failed command.  Status: Could not find the volume", 7)
    pool = next(p for p in s["pools"] if p["id"] == vol["pool"])
    out = [">> Volume ID: %s Name: %s" % (vol["id"], vol["name"] or "N/A"),
           "\tProvisioning: %s" % ("Thin" if vol["thin"] else "Thick"),
           "\tSize: %s" % gb(vol["size_gb"]),
           "\tStorage Pool %s Name: %s" % (pool["id"], pool["name"] or "N/A"),
           "\tProtection Domain %s Name: %s" % (pool["pd"], name_of(s["pds"], pool["pd"]))]
    if vol["mapped"]:
        out.append("\tMapped SDCs:")
        for sdc in [c for c in s["sdcs"] if c["id"] in vol["mapped"]]:
            out.append("\t\tSDC ID: %s IP: %s Name: %s" % (sdc["id"], sdc["ip"],
                                                         sdc.get("name") or "N/A"))
    else:
        out.append("\tVolume is not mapped to any SDC")
    return "\n".join(out)


def fmt_sds(s, args):
    sds = next((d for d in s["sds"] if args.get("sds_name") == d["name"]
                or args.get("sds_id") == d["id"] or args.get("sds_ip") in d["ips"]), None)
    if sds is None:
        raise Failure("Error: MDM failed command.  Status: Could not find the SDS", 7)
    out = [fmt_sds_line(s, sds)]
    for dev in sds["devices"]:
        out.append("\tDevice ID: %s Path: %s Size: %d GB" % (dev["id"], dev["path"],
                                                            dev["size"] // 1024**3))
    return "\n".join(out)


def read_secret(args, key, prompt_index):
    """Passwords may come on stdin (one per line) so they never show in a process list."""
    if args.get(key) not in (None, True):
        return args[key]
    lines = read_secret.lines
    if lines is None:
        lines = read_secret.lines = sys.stdin.read().splitlines()
    if prompt_index < len(lines):
        return lines[prompt_index]
    raise Failure("Error: --%s is required (or give it on stdin)" % key, 1)


read_secret.lines = None


def main(argv=None):
    try:
        print(run(parse(sys.argv[1:] if argv is None else argv)))
        return 0
    except Failure as f:
        sys.stdout.flush()
        print(str(f), file=sys.stderr)
        return f.code


def run(args):
    cmd = next((c for c in COMMANDS if c in args), None)
    if cmd is None:
        raise Failure("Error: no command given. Commands: --%s" % ", --".join(COMMANDS[:23]), 1)
    cmd = map_13x(cmd, args)
    if cmd == "create_mdm_cluster":
        return run_create(args)
    session_path = home_file("emu-session.json")
    session = common.load_json(session_path, {})
    if cmd == "switch_to_cluster_mode":
        cmd = "switch_cluster_mode"
        args["cluster_mode"] = "3_node"
        state = run_command("query", args, session.get("token"))
        if state.get("ok"):
            args["add_slave_mdm_name"] = ",".join(
                m["name"] for m in state["state"]["members"] if m["role"] == "standby"
                and m["manager"])
            args["add_tb_name"] = ",".join(m["name"] for m in state["state"]["members"]
                                           if m["role"] == "standby" and not m["manager"])
    if cmd == "login":
        args["username"] = args.get("username") or "admin"
        args["password"] = read_secret(args, "password", 0)
    if cmd == "set_password":
        args["old_password"] = read_secret(args, "old_password", 0)
        args["new_password"] = read_secret(args, "new_password", 1)
    if cmd == "add_storage_pool" and not args.get("media_type"):
        version = common.installed_version("mdm")
        if common.major_of(version) >= 3:
            raise Failure("Error: --media_type is required from ScaleIO 3.0 on "
                          "(--media_type HDD|SSD|Transitional)", 1)
    if cmd == "remove_volume" and not args.get("i_am_sure"):
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise Failure("Error: Removing a volume destroys its data. Add --i_am_sure to "
                          "confirm", 1)
    wire = "query" if cmd in QUERIES else cmd
    reply = run_command(wire, args, session.get("token"))
    if not reply.get("ok"):
        raise Failure("Error: MDM failed command.  Status: %s" % reply["error"], reply["code"])
    if cmd == "login":
        common.save_json(session_path, {"token": reply["token"], "system_id": reply["system_id"]})
        return "Logged in. User role is %s. System ID is %s" % (reply["role"], reply["system_id"])
    if cmd == "logout":
        try:
            os.remove(session_path)
        except FileNotFoundError:
            pass
    if cmd in QUERIES:
        s = reply["state"]
        return {
            "query_cluster": lambda: fmt_cluster(s),
            "query_all": lambda: fmt_all(s),
            "query_all_volumes": lambda: fmt_all_volumes(s),
            "query_all_sds": lambda: fmt_all_sds(s),
            "query_all_sdc": lambda: fmt_all_sdc(s),
            "query_volume": lambda: fmt_volume(s, args),
            "query_sds": lambda: fmt_sds(s, args),
        }[cmd]()
    return reply.get("message", "")


if __name__ == "__main__":
    sys.exit(main())
