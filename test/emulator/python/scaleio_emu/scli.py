"""scli: the ScaleIO command line, 2.x/3.x dialect (the 1.3x primary/secondary commands are mapped).

Each user keeps a login session and a certificate truststore in ~/.scaleio (per $HOME, like the
real client). Commands go to port 6611 of the master; --mdm_ip ip1,ip2 tries each address.

The command line is checked against SURFACE before anything is sent: one command, only the
options that command takes, values where values belong, one selector out of each group
(`--sds_id | --sds_name | --sds_ip`). Anything else is a usage error (exit USAGE_EXIT), never
silently ignored and never printed as an MDM refusal. Where each command and option was seen in
public automation is listed in test/emulator/README.md ("The scli surface").

Exit status: 0 success, 7 when the MDM refused (exists, not ready, wrong password, ...),
USAGE_EXIT for usage errors, 1 for connection and certificate errors.
"""

import os
import select
import sys
import time

from . import common, data_moves

USAGE_EXIT = 2
# How long the certificate prompt waits for an answer on an open, silent stdin.
PROMPT_TIMEOUT_S = 120.0

V, F = "value", "flag"


def _sel(prefix, kinds=("id", "name")):
    return {"%s_%s" % (prefix, k): V for k in kinds}


def _cmd(opts=None, needs=(), one_of=(), at_most_one=(), local=False, dialect="2"):
    return {"opts": dict(opts or {}), "needs": list(needs), "one_of": list(one_of),
            "at_most_one": list(at_most_one), "local": local, "dialect": dialect}


def _group(prefix, kinds=("id", "name")):
    return tuple("%s_%s" % (prefix, k) for k in kinds)


PD = _group("protection_domain")
SP = _group("storage_pool")
SDS = _group("sds", ("id", "name", "ip"))
SDC = _group("sdc", ("id", "name", "ip", "guid"))
VOL = _group("volume")
FS = _group("fault_set")


def _opts(*groups, **extra):
    out = {}
    for g in groups:
        out.update({k: V for k in g})
    out.update(extra)
    return out


# Every command and option this scli takes (sources per command: README, "The scli surface").
SURFACE = {
    "version": _cmd(local=True),
    "help": _cmd(local=True),
    "create_mdm_cluster": _cmd(
        {"master_mdm_ip": V, "master_mdm_management_ip": V, "master_mdm_name": V,
         "master_mdm_virtual_ip_interface": V, "cluster_virtual_ip": V, "accept_license": F,
         "use_nonsecure_communication": F},
        needs=["master_mdm_ip"]),
    "login": _cmd({"username": V, "password": V, "use_nonsecure_communication": F}),
    "logout": _cmd(),
    "set_password": _cmd({"old_password": V, "new_password": V}),
    "add_standby_mdm": _cmd(
        {"new_mdm_ip": V, "mdm_role": V, "new_mdm_management_ip": V, "new_mdm_name": V,
         "new_mdm_virtual_ip_interface": V, "force_clean": F, "allow_asymmetric_ips": F},
        needs=["new_mdm_ip", "mdm_role"]),
    "remove_standby_mdm": _cmd(_opts(_group("remove_mdm", ("id", "name", "ip"))),
                               one_of=[_group("remove_mdm", ("id", "name", "ip"))]),
    "switch_cluster_mode": _cmd(
        _opts(*[_group(p, ("id", "name", "ip")) for p in
                ("add_slave_mdm", "add_tb", "remove_slave_mdm", "remove_tb")],
              cluster_mode=V, i_am_sure=F),
        needs=["cluster_mode"],
        at_most_one=[_group(p, ("id", "name", "ip")) for p in
                     ("add_slave_mdm", "add_tb", "remove_slave_mdm", "remove_tb")]),
    "switch_mdm_ownership": _cmd(_opts(_group("new_master_mdm", ("id", "name", "ip"))),
                                 one_of=[_group("new_master_mdm", ("id", "name", "ip"))]),
    "rename_system": _cmd({"new_name": V}, needs=["new_name"]),
    "add_protection_domain": _cmd({"protection_domain_name": V}),
    "add_fault_set": _cmd(_opts(PD, fault_set_name=V), one_of=[PD]),
    "query_all_fault_sets": _cmd(_opts(PD), one_of=[PD]),
    "add_storage_pool": _cmd(
        _opts(PD, storage_pool_name=V, media_type=V, use_rmcache=F, dont_use_rmcache=F,
              rmcache_write_handling_mode=V),
        one_of=[PD], at_most_one=[("use_rmcache", "dont_use_rmcache")]),
    "add_sds": _cmd(
        _opts(PD, SP, FS, sds_ip=V, sds_ip_role=V, sds_name=V, sds_port=V, device_path=V,
              device_name=V, rmcache_size_mb=V, no_test=F, force_clean=F,
              force_device_takeover=F),
        needs=["sds_ip"], one_of=[PD], at_most_one=[SP, FS]),
    "add_sds_device": _cmd(
        _opts(SDS, SP, PD, device_path=V, device_name=V, no_test=F, force_device_takeover=F),
        needs=["device_path"], one_of=[SDS, SP], at_most_one=[PD]),
    "remove_sds": _cmd(_opts(SDS), one_of=[SDS]),
    "remove_sdc": _cmd(_opts(SDC, i_am_sure=F), one_of=[SDC]),
    "remove_sds_device": _cmd(_opts(SDS, device_path=V, device_id=V),
                              one_of=[SDS, ("device_path", "device_id")]),
    "remove_storage_pool": _cmd(_opts(PD, SP), one_of=[SP], at_most_one=[PD]),
    "add_volume": _cmd(
        _opts(PD, SP, size_gb=V, volume_name=V, thin_provisioned=F, thick_provisioned=F),
        needs=["size_gb"], one_of=[SP],
        at_most_one=[PD, ("thin_provisioned", "thick_provisioned")]),
    "remove_volume": _cmd(_opts(VOL, i_am_sure=F, remove_with_descendant_snapshots=F,
                                remove_descendant_snapshots_only=F,
                                remove_entire_snapshot_tree=F), one_of=[VOL],
                          at_most_one=[("remove_with_descendant_snapshots",
                                        "remove_descendant_snapshots_only",
                                        "remove_entire_snapshot_tree")]),
    "snapshot_volume": _cmd(_opts(VOL, snapshot_name=V), one_of=[VOL]),
    "modify_volume_capacity": _cmd(_opts(VOL, size_gb=V), needs=["size_gb"], one_of=[VOL]),
    "map_volume_to_sdc": _cmd(_opts(VOL, SDC, allow_multi_map=F, access_mode=V),
                              one_of=[VOL, SDC]),
    "unmap_volume_from_sdc": _cmd(
        _opts(VOL, SDC, all_sdcs=F, i_am_sure=F, ignore_scsi_initiators=F),
        one_of=[VOL, SDC + ("all_sdcs",)]),
    "query_cluster": _cmd(),
    "query_all": _cmd(),
    "query_all_volumes": _cmd(),
    "query_all_sds": _cmd(),
    "query_all_sdc": _cmd(),
    "query_volume": _cmd(_opts(VOL), one_of=[VOL]),
    "query_sds": _cmd(_opts(SDS), one_of=[SDS]),
    "query_storage_pool": _cmd(_opts(PD, SP), one_of=[SP], at_most_one=[PD]),
    # 1.3x dialect, mapped onto the 2.x commands (`--mdm` is the 1.3x component selector).
    "add_primary_mdm": _cmd({"primary_mdm_ip": V, "mdm_management_ip": V, "accept_license": F,
                             "mdm": F}, needs=["primary_mdm_ip"], dialect="1.3x"),
    "add_secondary_mdm": _cmd({"secondary_mdm_ip": V, "secondary_mdm_name": V, "mdm": F},
                              needs=["secondary_mdm_ip"], dialect="1.3x"),
    "add_tb": _cmd({"tb_ip": V, "tb_name": V, "mdm": F}, needs=["tb_ip"], dialect="1.3x"),
    "switch_to_cluster_mode": _cmd({"mdm": F}, dialect="1.3x"),
}
# Options every MDM command takes.
COMMON = {"mdm_ip": V, "mdm_port": V, "approve_certificate": F}
QUERIES = {"query_cluster", "query_all", "query_all_volumes", "query_all_sds", "query_all_sdc",
           "query_volume", "query_sds", "query_all_fault_sets", "query_storage_pool"}


class Failure(Exception):
    """A failed command: the text to print (stderr) and the exit status."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def usage(problem, cmd=None):
    hint = ("scli --%s takes: %s" % (cmd, " ".join(
        "--" + o + (" <value>" if kind == V else "")
        for o, kind in sorted(dict(SURFACE[cmd]["opts"], **COMMON).items())))
        if cmd and not SURFACE[cmd]["local"] else "scli --help lists the commands")
    return Failure("Error: %s\n%s" % (problem, hint), USAGE_EXIT)


def parse_command(argv):
    """Check argv against SURFACE; return (command, args). Raises a usage Failure otherwise.

    The test suite calls this directly on every command line the installer can build.
    """
    words = list(argv)
    names = [w[2:] for w in words if w.startswith("--")]
    commands = [n for n in names if n in SURFACE]
    if not commands:
        unknown = [n for n in names if not any(n in c["opts"] for c in SURFACE.values())
                   and n not in COMMON]
        if unknown:
            raise usage("Unknown command --%s" % unknown[0])
        raise usage("No command given")
    if len(commands) > 1:
        raise usage("Only one command at a time: --%s" % " and --".join(commands))
    cmd = commands[0]
    spec = SURFACE[cmd]
    allowed = dict(spec["opts"])
    if not spec["local"]:
        allowed.update(COMMON)
    args = {cmd: True}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--") or word == "--":
            raise usage("Unexpected argument %r (options start with --)" % word, cmd)
        key = word[2:]
        i += 1
        if key == cmd:
            continue
        if key not in allowed:
            raise usage("Unknown option --%s for --%s" % (key, cmd), cmd)
        if key in args:
            raise usage("--%s is given twice" % key, cmd)
        has_value = i < len(words) and not words[i].startswith("--")
        if allowed[key] == V:
            if not has_value:
                raise usage("--%s needs a value" % key, cmd)
            args[key] = words[i]
            i += 1
        else:
            if has_value:
                raise usage("--%s takes no value (got %r)" % (key, words[i]), cmd)
            args[key] = True
    for key in spec["needs"]:
        if key not in args:
            raise usage("--%s is required with --%s" % (key, cmd), cmd)
    for group in spec["one_of"]:
        given = [k for k in group if k in args]
        if len(given) != 1:
            raise usage("--%s needs exactly one of --%s%s" % (
                cmd, " | --".join(group), " (got --%s)" % " --".join(given) if given else ""),
                cmd)
    for group in spec["at_most_one"]:
        given = [k for k in group if k in args]
        if len(given) > 1:
            raise usage("Use only one of --%s" % " | --".join(given), cmd)
    if cmd == "add_sds" and "device_path" in args and not any(k in args for k in SP):
        raise usage("--device_path at --add_sds needs --storage_pool_name or --storage_pool_id",
                    cmd)
    if cmd == "add_volume" and "storage_pool_name" in args and not any(k in args for k in PD):
        raise usage("--storage_pool_name at --add_volume needs --protection_domain_name or "
                    "--protection_domain_id (or give --storage_pool_id alone)", cmd)
    if cmd == "add_standby_mdm" and args["mdm_role"] not in ("manager", "tb"):
        raise usage("--mdm_role must be manager or tb, not %r" % args["mdm_role"], cmd)
    if cmd == "switch_cluster_mode" and args["cluster_mode"] not in ("1_node", "3_node",
                                                                    "5_node"):
        raise usage("--cluster_mode must be 1_node, 3_node or 5_node, not %r"
                    % args["cluster_mode"], cmd)
    return cmd, args


def parse(argv):
    """Backwards-compatible entry: the args dict of a valid command line."""
    return parse_command(argv)[1]


def home_file(name):
    return os.path.join(os.path.expanduser("~"), ".scaleio", name)


class Stdin:
    """Lines from stdin, read lazily and shared by password reading and the certificate prompt."""

    buffer = b""
    eof = False

    @classmethod
    def line(cls, timeout):
        """The next line (without newline); None at end of input; raises TimeoutError."""
        end = time.time() + timeout
        while b"\n" not in cls.buffer and not cls.eof:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError()
            try:
                ready, _, _ = select.select([0], [], [], left)
                if not ready:
                    continue
                chunk = os.read(0, 4096)
            except (OSError, ValueError):
                chunk = b""  # no stdin at all (`<&-`): nobody can answer
            if not chunk:
                cls.eof = True
            cls.buffer += chunk
        if not cls.buffer:
            return None
        line, _, cls.buffer = cls.buffer.partition(b"\n")
        return line.decode(errors="replace")


def check_certificate(fpr, ip, approve):
    """Trust the MDM certificate: known, approved with --approve_certificate, or by answering y."""
    path = home_file("emu-truststore.json")
    trusted = common.load_json(path, [])
    if fpr in trusted:
        return
    if not approve:
        not_trusted = ("Error: The MDM certificate (SHA-256 %s) is not trusted. Approve it by "
                       "running the command with --approve_certificate" % fpr)
        # The layout of the real prompt (test/fixtures/scli/messages/login-certificate-prompt.txt).
        cert = common.describe_certificate(common.PEER_CERTS[fpr]) if fpr in common.PEER_CERTS \
            else {"subject": "?", "issuer": "?", "not_before": "?", "not_after": "?",
                  "thumbprint": fpr}
        sys.stdout.write("Certificate info:\nsubject: %s\nissuer:  %s\nValid-From: %s\n"
                         "Valid-To:   %s\nThumbprint: %s\n"
                         "Press 'y' to approve this certificate and add it to the truststore\n"
                         % (cert["subject"], cert["issuer"], cert["not_before"],
                            cert["not_after"], cert["thumbprint"]))
        sys.stdout.flush()
        try:
            answer = Stdin.line(PROMPT_TIMEOUT_S)
        except TimeoutError:
            raise Failure("%s (no answer to the prompt within %d s)"
                          % (not_trusted, PROMPT_TIMEOUT_S), 1) from None
        if answer is None:
            raise Failure("%s (stdin is closed: nobody can answer the prompt)" % not_trusted, 1)
        if answer.strip().lower() not in ("y", "yes"):
            raise Failure("%s (the answer was %r, not y)" % (not_trusted, answer.strip()), 1)
    trusted.append(fpr)
    common.save_json(path, trusted)


def mdm_ips(args):
    return [ip.strip() for ip in str(args.get("mdm_ip") or "127.0.0.1").split(",") if ip.strip()]


def mgmt_port(args):
    """--mdm_port: the management port to reach the master on (6611 unless given)."""
    try:
        return int(args.get("mdm_port") or common.MDM_MGMT_PORT)
    except ValueError:
        raise usage("--mdm_port must be a port number, not %r" % args["mdm_port"]) from None


def send(ip, port, message, args):
    reply, fpr = common.call(ip, port, message, timeout=30.0, tls=True)
    check_certificate(fpr, ip, bool(args.get("approve_certificate")))
    return reply


def mdm_failed(status, code=7):
    return Failure("Error: MDM failed command.  Status: %s" % status, code)


def unattached_status(version):
    """What a real MDM that belongs to no system answers (README, "Messages")."""
    if common.layout_of(version or "") == "2.0":
        return "The MDM cluster state is incorrect"
    return "This MDM is not attached to a system."


def run_create(args):
    ip = mdm_ips(args)[0]
    try:
        reply = send(ip, common.MDM_PORT, {"op": "create", "args": args}, args)
    except common.RpcError as e:
        raise Failure("Error: Failed to connect to MDM %s (%s)" % (ip, e), 1)
    if not reply.get("ok"):
        raise mdm_failed(reply["error"], reply["code"])
    return "Successfully created the MDM Cluster. System ID %s" % reply["system_id"]


def run_command(cmd, args, token):
    """Send cmd to whichever listed MDM is the master; explain why none could be used."""
    ips = mdm_ips(args)
    reasons = []
    for ip in ips:
        try:
            reply = send(ip, mgmt_port(args),
                         {"op": "cmd", "cmd": cmd, "args": args, "token": token}, args)
        except common.RpcError as e:
            reasons.append(diagnose(ip, e, args))
            continue
        if not reply.get("ok") and reply.get("error") == "This MDM is not the master":
            reasons.append((1, "%s is not the master MDM" % ip, False))
            continue
        return reply
    # Every listed MDM answered that it belongs to no system: that is the MDM's own answer.
    statuses = [r for r in reasons if r[2]]
    if statuses and len(statuses) == len(reasons):
        raise mdm_failed(statuses[0][1], statuses[0][0])
    code = max(c for c, _, _ in reasons)
    raise Failure("Error: Failed to connect to MDM %s: %s"
                  % (",".join(ips), "; ".join(r for _, r, _ in reasons)), code)


def diagnose(ip, error, args):
    """The management port is closed: no system yet, not ready, or not the master (or gone)."""
    try:
        probe = send(ip, common.MDM_PORT, {"op": "probe"}, args)
    except common.RpcError:
        return (1, "no MDM answers at %s (%s)" % (ip, error), False)
    if not probe.get("in_cluster"):
        return (7, unattached_status(probe.get("version")), True)
    if probe.get("role") == "master":
        return (7, "the master MDM at %s is not ready yet; retry" % ip, False)
    return (1, "%s is not the master MDM (it is %s)" % (ip, probe.get("role") or "standby"), False)


def map_13x(cmd, args):
    """The 1.3x dialect, translated to the 2.x commands the MDM understands."""
    if cmd == "add_primary_mdm":
        args["master_mdm_ip"] = args.get("primary_mdm_ip")
        args["master_mdm_management_ip"] = args.get("mdm_management_ip")
        args.setdefault("mdm_ip", args.get("primary_mdm_ip"))
        return "create_mdm_cluster"
    if cmd == "add_secondary_mdm":
        args.update(new_mdm_ip=args.get("secondary_mdm_ip"), mdm_role="manager",
                    new_mdm_name=args.get("secondary_mdm_name"))
        return "add_standby_mdm"
    if cmd == "add_tb":
        args.update(new_mdm_ip=args.get("tb_ip"), mdm_role="tb", new_mdm_name=args.get("tb_name"))
        return "add_standby_mdm"
    return cmd


def gb(size_gb):
    return "%.1f GB (%d MB)" % (size_gb, size_gb * 1024)


def na(name):
    return name or "N/A"


def fmt_cluster(s):
    """--query_cluster in the layout of the cluster's version (README, "Layouts").

    2.0 (2.0.5014 sample): no virtual IP parts. 2.0.1+/2.5 (2.5.0 sample): `Name:` on the cluster
    line once renamed, `Virtual IPs:` line, `Virtual IP interfaces:` on managers. 3.x (3.6.2000
    sample): `SDC refresh ...` and `Virtual IP Addresses:` lines, `IP Addresses:` keys, and a
    Status line on the master. Unnamed MDMs show only their ID, as in the 3.6 sample.
    """
    layout = common.layout_of(s["system"]["version"])
    up = s["up"]
    voters = [m for m in s["members"] if m["role"] in ("master", "slave", "tb")]
    managers = [m for m in voters if m["role"] != "tb"]
    active = sum(1 for m in voters if up[m["id"]])
    replicas = sum(1 for m in managers if up[m["id"]])
    state = "Normal" if active == len(voters) and replicas == len(managers) else "Degraded"
    version = common.short_version(s["system"]["version"])
    head = []
    if s["system"].get("name"):
        head.append("Name: %s" % s["system"]["name"])
    head.append("Mode: %s, State: %s, Active: %d/%d, Replicas: %d/%d"
                % (s["mode"], state, active, len(voters), replicas, len(managers)))
    out = ["Cluster:", "    " + ", ".join(head)]
    vips = ", ".join(s["system"].get("virtual_ips") or []) or "N/A"
    if layout == "3":
        out.append("    SDC refresh with MDM IP addresses: disabled")
        out.append("    Virtual IP Addresses: %s" % vips)
    elif layout == "2.0.1":
        out.append("    Virtual IPs: %s" % vips)
    ips_key, mgmt_key = (("IP Addresses", "Management IP Addresses") if layout == "3"
                         else ("IPs", "Management IPs"))

    def block(title, role, status=True, kind=False):
        members = [m for m in s["members"] if m["role"] == role]
        if not members:
            return
        out.append(title)
        for m in members:
            suffix = (", Manager" if m["manager"] else ", Tie Breaker") if kind else ""
            ident = ("Name: %s, ID: %s" % (m["name"], m["id"]) if m.get("name")
                     else "ID: %s" % m["id"])
            out.append("    %s%s" % (ident, suffix))
            line = "        %s: %s" % (ips_key, ", ".join(m["ips"]))
            if m["manager"]:
                line += ", %s: %s" % (mgmt_key, ", ".join(m["mgmt_ips"] or m["ips"]))
            line += ", Port: %d" % common.MDM_PORT
            if m["manager"] and layout != "2.0":
                line += ", Virtual IP interfaces: %s" % (", ".join(m.get("vip_interfaces") or [])
                                                          or "N/A")
            out.append(line)
            if role == "standby":
                continue
            if status:
                out.append("        Status: %s, Version: %s"
                           % ("Normal" if up[m["id"]] else "Disconnected", version))
            else:
                out.append("        Version: %s" % version)

    block("Master MDM:", "master", status=layout == "3")
    block("Slave MDMs:", "slave")
    block("Tie-Breakers:", "tb")
    block("Standby MDMs:", "standby", kind=True)
    return "\n".join(out)


def fmt_volume_line(s, v, layout="2.0"):
    mapped = "Mapped to %d SDC" % len(v["mapped"]) if v["mapped"] else "Unmapped"
    line = " Volume ID: %s Name: %s Size: %s %s %s" % (
        v["id"], na(v["name"]), gb(v["size_gb"]), mapped,
        "Thin-provisioned" if v["thin"] else "Thick-provisioned")
    # Later 2.x output ends volume lines with a space and pools with a blank line.
    return line + (" " if layout != "2.0" else "")


def fmt_all_volumes(s):
    """--query_all_volumes: every pool, `<No volumes defined>` for an empty one (2.0 sample)."""
    layout = common.layout_of(s["system"]["version"])
    out = ["Query-all-volumes returned %d volumes" % len(s["volumes"])]
    for pd in s["pds"]:
        pools = [p for p in s["pools"] if p["pd"] == pd["id"]]
        if not pools:
            continue
        out.append("Protection Domain %s Name: %s" % (pd["id"], na(pd["name"])))
        for pool in pools:
            vols = [v for v in s["volumes"] if v["pool"] == pool["id"]]
            out.append("Storage Pool %s Name: %s" % (pool["id"], na(pool["name"])))
            out += [fmt_volume_line(s, v, layout) for v in vols] or [" <No volumes defined>"]
            if layout != "2.0":
                out.append("")
    return "\n".join(out)


def fmt_sds_line(s, d, layout="2.0.1"):
    joined = ("Joined IP    %s" if layout == "2.0" else "Joined IP: %s") % d["ips"][0]
    return "SDS ID: %s Name: %s State: %s, %s Port: %d Version: %s" % (
        d["id"], d["name"], "Connected" if s["up"][d["id"]] else "Disconnected", joined,
        d.get("port", common.SDS_PORT),
        common.short_version(d.get("version") or s["system"]["version"]))


def fmt_all_sds(s):
    """--query_all_sds; 2.0.5014 printed `Joined IP    <ip>` without a colon (sample)."""
    layout = common.layout_of(s["system"]["version"])
    out = ["Query-all-SDS returned %d SDS nodes." % len(s["sds"])]
    for pd in s["pds"]:
        members = [d for d in s["sds"] if d["pd"] == pd["id"]]
        if members:
            out += ["", "Protection Domain %s Name: %s" % (pd["id"], na(pd["name"]))]
            out += [fmt_sds_line(s, d, layout) for d in members]
    return "\n".join(out)


def fmt_all_sdc(s):
    """--query_all_sdc: short SDC lines (2.x sample) for 2.0; the restricted-mode header and
    OS type / versions (2.0.12000 sample) from 2.0.1 on; bandwidth lines under each SDC."""
    layout = common.layout_of(s["system"]["version"])
    out = [] if layout == "2.0" else ["MDM restricted SDC mode: Disabled"]
    out.append("Query all SDC returned %d SDC nodes." % len(s["sdcs"]))
    for c in s["sdcs"]:
        version = common.short_version(c.get("version") or s["system"]["version"])
        line = "SDC ID: %s Name: %s IP: %s State: %s GUID: %s" % (
            c["id"], na(c.get("name")), c["ip"],
            "Connected" if s["up"][c["id"]] else "Disconnected", c["guid"])
        if layout != "2.0":
            line += " OS Type: LINUX Loaded Version: %s Installed Version: %s" % (version,
                                                                                  version)
        out.append(line)
        out.append("    Read bandwidth:  0 IOPS 0 Bytes per-second")
        out.append("    Write bandwidth:  0 IOPS 0 Bytes per-second")
    return "\n".join(out)


def pool_free_gb(s, pool):
    used = sum(v["size_gb"] for v in s["volumes"] if v["pool"] == pool["id"] and not v["thin"])
    return max(s["capacity_gb"][pool["id"]] - used, 0)


def size_text(size_gb):
    """`0 Bytes` for nothing (as real scli prints it), else `16.0 GB (16384 MB)`."""
    return gb(size_gb) if round(size_gb * 1024) else "0 Bytes"


def fmt_all(s):
    """--query_all: System Info, license, settings, then each protection domain and its pools
    as `Protection Domain <name> (Id: <id>) has ...` (1.30 and 2.0.12000 samples)."""
    sysinfo = s["system"]
    out = ["System Info:",
           "    Product:  EMC ScaleIO Version: %s" % common.release_string(sysinfo["version"]),
           "    ID:      %s" % sysinfo["id"]]
    if sysinfo.get("name"):
        out.append("    Name:     %s" % sysinfo["name"])
    out += ["    Manager ID:      0000000000000000", "",
            "License info:",
            "    Installation ID: %s" % sysinfo["id"][::-1],
            "    SWID:",
            "    Maximum capacity: Unlimited",
            "    Usage time left: Unlimited *** Non-Production License ***",
            "    Enterprise features: Enabled", "",
            "System settings:",
            "    Capacity alert thresholds: High: 80, Critical: 90",
            "    MDM restricted SDC mode: disabled", "",
            "Query all returned %d Protection Domain%s:" % (len(s["pds"]),
                                                             "" if len(s["pds"]) == 1 else "s")]
    fault_sets = s.get("fault_sets", [])
    for pd in s["pds"]:
        pools = [p for p in s["pools"] if p["pd"] == pd["id"]]
        free = sum(pool_free_gb(s, p) for p in pools)
        out.append("Protection Domain %s (Id: %s) has %d storage pools, %d Fault Sets, %d SDS "
                   "nodes, %d volumes and %s available for volume allocation"
                   % (na(pd["name"]), pd["id"], len(pools),
                      sum(1 for f in fault_sets if f["pd"] == pd["id"]),
                      sum(1 for d in s["sds"] if d["pd"] == pd["id"]),
                      sum(1 for v in s["volumes"] if v["pool"] in [p["id"] for p in pools]),
                      size_text(free)))
        out += ["Operational state is Active", ""]
        for pool in pools:
            out.append("Storage Pool %s (Id: %s) has %d volumes and %s available for volume "
                       "allocation" % (na(pool["name"]), pool["id"],
                                       sum(1 for v in s["volumes"] if v["pool"] == pool["id"]),
                                       size_text(pool_free_gb(s, pool))))
            out.append("    Zero padding is disabled")
            out.append("    Spare policy: 10% out of total")
            out.append("")
        out.append("")
    out += sds_summary(s)
    return "\n".join(out).rstrip("\n")


def sds_summary(s):
    """`SDS Summary:` of --query_all (1.31 and 2.0.12000 samples): node counts by membership
    and connection state, then the capacity lines; moving and rebuild lines show Day 2 moves."""
    pools = list((s.get("pool_status") or {}).values())
    if not pools:
        return []
    total = lambda key: sum(p[key] for p in pools)  # noqa: E731 - one-line sum
    up = [d for d in s["sds"] if s["up"].get(d["id"])]
    used = total("in_use_gb") * data_moves.COPIES
    out = ["SDS Summary:", "    Total %d SDS Nodes" % len(s["sds"]),
           "    %d SDS nodes have membership state 'Joined'" % len(s["sds"]),
           "    %d SDS nodes have connection state 'Connected'" % len(up)]
    if len(up) != len(s["sds"]):
        out.append("    %d SDS nodes have connection state 'Disconnected'"
                   % (len(s["sds"]) - len(up)))
    degraded, moving = total("degraded_gb"), total("moving_gb")
    lines = [("total", total("raw_gb")), ("unused", max(total("raw_gb") - used, 0)),
             ("snapshots", 0), ("in-use", used), ("protected", used - degraded),
             ("failed", 0), ("degraded-failed", 0), ("degraded-healthy", degraded),
             ("unreachable-unused", 0), ("active rebalance", min(moving, 2)),
             ("pending rebalance", max(moving - 2, 0)),
             ("active forward-rebuild", min(degraded, 2)),
             ("pending forward-rebuild", max(degraded - 2, 0)),
             ("rebalance", moving), ("forward-rebuild", degraded),
             ("active moving", min(moving + degraded, 2)),
             ("pending moving", max(moving + degraded - 2, 0)),
             ("total moving", moving + degraded),
             ("spare", total("raw_gb") * data_moves.SPARE_FRACTION)]
    out += ["    %s %s capacity" % (size_text(v), k) for k, v in lines]
    return out + [""]


def fmt_storage_pool(s, args):
    """--query_storage_pool: the pool's --query_all header line (`... available for volume
    allocation`), its protection domain, SDS count, then capacity lines worded as the
    --query_all `SDS Summary:` ones (in-use counts both copies, unused = total - in-use)."""
    pds = [p for p in s["pds"] if args.get("protection_domain_id") in (None, p["id"])
           and args.get("protection_domain_name") in (None, p["name"])]
    pool = next((p for p in s["pools"] if any(p["pd"] == d["id"] for d in pds)
                 and (args.get("storage_pool_id") == p["id"]
                      or (args.get("storage_pool_name") is not None
                          and args.get("storage_pool_name") == p["name"]))), None)
    if pool is None:
        raise mdm_failed("Could not find the Storage Pool")
    st = (s.get("pool_status") or {}).get(pool["id"]) or data_moves.pool_status(s, pool["id"])
    pd = next(p for p in s["pds"] if p["id"] == pool["pd"])
    vols = [v for v in s["volumes"] if v["pool"] == pool["id"]]
    used = st["in_use_gb"] * data_moves.COPIES
    return "\n".join([
        "Storage Pool %s (Id: %s) has %d volumes and %s available for volume allocation"
        % (na(pool["name"]), pool["id"], len(vols), size_text(pool_free_gb(s, pool))),
        "    Protection Domain: %s, Name: %s" % (pd["id"], na(pd["name"])),
        "    %d SDS nodes" % st["sds_count"],
        "    %s total capacity" % size_text(st["raw_gb"]),
        "    %s unused capacity" % size_text(max(st["raw_gb"] - used, 0)),
        "    %s in-use capacity" % size_text(used),
        "    %s degraded-healthy capacity" % size_text(st["degraded_gb"]),
        "    %s rebalance capacity" % size_text(st["moving_gb"]),
        "    %s forward-rebuild capacity" % size_text(st["degraded_gb"]),
        "    Spare policy: %d%% out of total" % int(data_moves.SPARE_FRACTION * 100),
    ])


def fmt_storage_pool_tiers(s, args):
    """fmt_storage_pool, then from 3.x `    Media type: <type>` (the values --add_storage_pool
    takes; the line's wording is ours, the 3.x one was not found), `Volumes summary:` and
    `N Volumes.` (swisscom/puppet-scaleio spec/fixtures/cli/pool_query_myPDomain_myPool.cli, a
    2.x sample), and one ` Volume ID: <id> Name: <name>` line per volume (ours: where a volume
    landed, for tests of storage tiers)."""
    out = [fmt_storage_pool(s, args)]
    pool = next(p for p in s["pools"] if out[0].startswith(
        "Storage Pool %s (Id: %s) " % (na(p["name"]), p["id"])))
    if common.major_of(s["system"]["version"]) >= 3:
        out.append("    Media type: %s" % pool.get("media_type", "HDD"))
    vols = [v for v in s["volumes"] if v["pool"] == pool["id"]]
    out += ["", "Volumes summary:", "\t%d Volumes." % len(vols)]
    out += ["\t Volume ID: %s Name: %s" % (v["id"], na(v["name"])) for v in vols]
    return "\n".join(out)


def find_volume(s, args):
    return next((v for v in s["volumes"] if (args.get("volume_id") and v["id"] == args["volume_id"])
                 or (args.get("volume_name") and v["name"] == args["volume_name"])), None)


def fmt_volume(s, args):
    vol = find_volume(s, args)
    if vol is None:
        raise mdm_failed("Could not find the volume")
    pool = next(p for p in s["pools"] if p["id"] == vol["pool"])
    pd = next(p for p in s["pds"] if p["id"] == pool["pd"])
    out = [">> Volume ID: %s Name: %s" % (vol["id"], na(vol["name"])),
           "\tProvisioning: %s" % ("Thin" if vol["thin"] else "Thick"),
           "\tSize: %s" % gb(vol["size_gb"]),
           "\tStorage Pool %s Name: %s" % (pool["id"], na(pool["name"])),
           "\tProtection Domain %s Name: %s" % (pd["id"], na(pd["name"]))]
    if vol["mapped"]:
        out.append("\tMapped SDCs:")
        for sdc in [c for c in s["sdcs"] if c["id"] in vol["mapped"]]:
            out.append("\t\tSDC ID: %s IP: %s Name: %s" % (sdc["id"], sdc["ip"],
                                                         na(sdc.get("name"))))
    else:
        out.append("\tVolume is not mapped to any SDC")
    return "\n".join(out)


def find_sds(s, args):
    return next((d for d in s["sds"] if args.get("sds_name") == d["name"]
                 or args.get("sds_id") == d["id"] or args.get("sds_ip") in d["ips"]), None)


def fmt_sds(s, args):
    """--query_sds in the 2.0.x layout (README, "Layouts"), without performance counters."""
    sds = find_sds(s, args)
    if sds is None:
        raise mdm_failed("Could not find the SDS")
    pd = next(p for p in s["pds"] if p["id"] == sds["pd"])
    pools = {p["id"]: p for p in s["pools"]}
    version = common.short_version(sds.get("version") or s["system"]["version"])
    out = ["SDS %s Name: %s Version: %s" % (sds["id"], sds["name"], version),
           "Protection Domain: %s, Name: %s" % (pd["id"], na(pd["name"]))]
    fs = next((f for f in s.get("fault_sets", []) if f["id"] == sds.get("fault_set")), None)
    if fs:
        out.append("Fault Set: %s, Name: %s" % (fs["id"], na(fs["name"])))
    out.append("IP information total %d IPs:" % len(sds["ips"]))
    roles = sds.get("ip_roles") or []
    for i, ip in enumerate(sds["ips"], 1):
        role = roles[i - 1] if i <= len(roles) else "all"
        out.append("     %d: %s     Role: %s" % (i, ip, SDS_ROLE_TEXT.get(role, role)))
    out.append("    Port: %d" % sds.get("port", common.SDS_PORT))
    out.append("Device information total %d devices:" % len(sds["devices"]))
    for i, dev in enumerate(sds["devices"], 1):
        out.append("     %d: Name: %s  Path: %s  Original-path: %s  ID: %s"
                   % (i, dev.get("name") or "N/A", dev["path"], dev["path"], dev["id"]))
        pool = pools.get(dev.get("pool") or sds.get("pool"))
        out.append("        Storage Pool: %s, Capacity: %s State: Normal"
                   % (na(pool["name"]) if pool else "N/A", gb(dev["size"] // 1024**3)))
    status = (s.get("sds_status") or {}).get(sds["id"])
    out.append("Membership-state: Joined; Connection-state: %s; SDS-state: %s"
               % ("Connected" if s["up"][sds["id"]] else "Disconnected",
                  status["state"] if status else "Normal"))
    if status:
        out += sds_capacity_lines(status)
    return "\n".join(out)


def sds_capacity_lines(status):
    """The capacity and job lines under `Membership-state:` (2.0.12000 --query_sds sample):
    what the SDS holds, and the move jobs while its data leaves (removal: rebalance; lost:
    forward rebuild, counted on the SDS like the real moving-out jobs)."""
    held, left = status["held_gb"], status["left_gb"]
    active, pending = data_moves.jobs(left)
    out = ["    %s total capacity" % size_text(status["raw_gb"]),
           "    %s unused capacity" % size_text(max(status["raw_gb"] - held, 0)),
           "    0 Bytes snapshots capacity",
           "    %s in-use capacity" % size_text(held),
           "    0 Bytes unreachable-unused capacity"]
    moving = {"rebuild": "forward-rebuild", "rebalance": "rebalance"}.get(status["kind"])
    for when, count in (("active", active), ("pending", pending)):
        for way in ("in", "out"):
            for kind in ("forward-rebuild", "backward-rebuild", "rebalance"):
                n = count if (way, kind) == ("out", moving) else 0
                out.append("    %d %s moving-%s %s jobs" % (n, when, way, kind))
    out.append("    0 Bytes decreased capacity")
    return out


# How --query_sds names --sds_ip_role values (thecodeteam/puppet-scaleio manifests/sds.pp greps
# for these; `All SDS and SDC` is in the 2.0.12000 --query_sds sample).
SDS_ROLE_TEXT = {"all": "All SDS and SDC", "sdc_only": "SDC Only", "sds_only": "SDS Only"}


def fmt_fault_sets(s, args):
    pd = next((p for p in s["pds"] if p["id"] == args.get("protection_domain_id")
               or (args.get("protection_domain_name") and
                   p["name"] == args.get("protection_domain_name"))), None)
    if pd is None:
        raise mdm_failed("Could not find the Protection Domain")
    sets = [f for f in s.get("fault_sets", []) if f["pd"] == pd["id"]]
    out = ["Query all Fault Sets returned %d Fault Sets" % len(sets)]
    for f in sets:
        out.append("Fault Set ID: %s Name: %s" % (f["id"], na(f["name"])))
    return "\n".join(out)


def read_secret(args, key, prompt_index):
    """Passwords may come on stdin (one per line) so they never show in a process list."""
    if args.get(key) not in (None, True):
        return args[key]
    line = Stdin.line(PROMPT_TIMEOUT_S)
    if line is not None:
        return line
    raise Failure("Error: --%s is required (or give it on stdin)" % key, USAGE_EXIT)


def version_line():
    """`scli --version`: the client's build, last word R<major>_<minor>.<build>."""
    line = "EMC ScaleIO Version: %s" % common.release_string(common.installed_version("mdm"))
    if common.knob("debug_build") == "1":
        line += " (Debug)"
    return line


def help_text():
    return "Usage: scli --<command> [options]\nCommands:\n" + "\n".join(
        "  --%s" % c for c in sorted(SURFACE))


def main(argv=None):
    try:
        print(run(sys.argv[1:] if argv is None else argv))
        return 0
    except Failure as f:
        sys.stdout.flush()
        print(str(f), file=sys.stderr)
        return f.code


def run(argv):
    """Parse, check and execute one scli command line; returns what to print."""
    cmd, args = parse_command(argv)
    if cmd == "version":
        return version_line()
    if cmd == "help":
        return help_text()
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
            standby = [m for m in state["state"]["members"] if m["role"] == "standby"]
            args["add_slave_mdm_id"] = ",".join(m["id"] for m in standby if m["manager"])
            args["add_tb_id"] = ",".join(m["id"] for m in standby if not m["manager"])
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
        sys.stdout.write("Removing a volume destroys its data. Press 'y' to continue\n")
        sys.stdout.flush()
        try:
            answer = (Stdin.line(PROMPT_TIMEOUT_S) or "").strip().lower()
        except TimeoutError:
            answer = ""
        if answer not in ("y", "yes"):
            raise Failure("Error: Removing a volume destroys its data. Add --i_am_sure to "
                          "confirm", 1)
    wire = "query" if cmd in QUERIES else cmd
    reply = run_command(wire, args, session.get("token"))
    if cmd == "logout" and not reply.get("ok") and reply["error"].startswith("Permission denied"):
        # The session had already ended (e.g. by --set_password): logging out is then a no-op.
        # Sources log out right after --set_password (samli008/scaleio cluster.sh).
        reply = {"ok": True, "message": "Logged out"}
    if not reply.get("ok"):
        raise mdm_failed(reply["error"], reply["code"])
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
            "query_all_fault_sets": lambda: fmt_fault_sets(s, args),
            "query_storage_pool": lambda: fmt_storage_pool_tiers(s, args),
        }[cmd]()
    return reply.get("message", "")


if __name__ == "__main__":
    sys.exit(main())
