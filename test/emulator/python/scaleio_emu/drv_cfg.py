"""drv_cfg: the SDC driver's command line (asks the scini daemon over its control socket)."""

import json
import os
import socket
import sys

from . import sdc

NO_ID = "0" * 16
USAGE = ("Usage: drv_cfg --query_vols | --rescan | --query_guid | --query_mdms | "
         "--mod_mdm_ip --ip <IP> --new_mdm_ip <IP1,IP2,...> [--file <PATH>]")


def ask(request):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect(sdc.SOCKET)
            s.sendall((json.dumps(request) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)
    except (OSError, ValueError) as e:
        raise SystemExit("drv_cfg: cannot talk to the scini driver (%s): is the scini service "
                         "running? (systemctl start scini)" % e) from None


def option(argv, name):
    """The value of `name` given as `--name V` (puppet-scaleio) or `--name=V`
    (terraform-provider-powerflex); None when absent."""
    for i, word in enumerate(argv):
        if word == name:
            return argv[i + 1] if i + 1 < len(argv) else ""
        if word.startswith(name + "="):
            return word[len(name) + 1:]
    return None


def query_mdms():
    """One line per MDM cluster the driver knows, with its IPs as the driver holds them; the
    IDs are zeros for a cluster it is not connected to."""
    reply = ask({"op": "query_mdms"})
    systems = reply["systems"]
    print("Retrieved %d mdm(s)" % len(systems))
    for ips in systems:
        connected = reply["system_id"] and (reply["connected_ip"] in ips or len(systems) == 1)
        ids = (reply["system_id"], reply["sdc_id"], reply["system_id"]) if connected else (
            NO_ID, NO_ID, NO_ID)
        print("MDM-ID %s SDC ID %s INSTALLATION ID %s IPs %s" % (
            ids + (" ".join("[%d]-%s" % (i, ip) for i, ip in enumerate(ips)),)))
    if not reply["system_id"] and reply["error"]:
        print("drv_cfg: %s" % reply["error"], file=sys.stderr)
    return 0


def rewrite_file(path, ip, new_ips):
    """`--mod_mdm_ip ... --file`: the config file's `mdm` line holding `ip` rewritten; the
    running driver is not told (it reads the file when the service starts)."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        print("drv_cfg: cannot read %s: %s" % (path, e.strerror), file=sys.stderr)
        return 1
    at, before = [], []
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) >= 2 and words[0] == "mdm":
            at.append(i)
            before.append([x for x in words[1].split(",") if x])
    after, error = sdc.modify_mdm_ips(before, ip, new_ips)
    if error:
        print("drv_cfg: %s" % error, file=sys.stderr)
        return 1
    for i, old, ips in zip(at, before, after):
        if ips != old:
            lines[i] = "mdm " + ",".join(ips)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
    return 0


def mod_mdm_ip(argv):
    ip, new, path = (option(argv, n) for n in ("--ip", "--new_mdm_ip", "--file"))
    if not ip or not new:
        print(USAGE, file=sys.stderr)
        return 1
    new_ips = [x for x in new.split(",") if x]
    if path is not None:
        return rewrite_file(path, ip, new_ips)
    reply = ask({"op": "mod_mdm_ip", "ip": ip, "new": new_ips})
    if not reply["ok"]:
        print("drv_cfg: %s" % reply["error"], file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--mod_mdm_ip" in argv:
        return mod_mdm_ip(argv)
    if "--query_guid" in argv:
        print(ask({"op": "query_guid"})["guid"])
        return 0
    if "--rescan" in argv:
        reply = ask({"op": "rescan"})
        if not reply["ok"]:
            print("drv_cfg: rescan failed: %s" % reply["error"], file=sys.stderr)
            return 1
        return 0
    if "--query_vols" in argv:
        reply = ask({"op": "query_vols"})
        print("Retrieved %d volume(s)" % len(reply["volumes"]))
        for vol_id in reply["volumes"]:
            print("VOL-ID %s MDM-ID %s" % (vol_id, reply["system_id"]))
        return 0
    if "--query_mdms" in argv:
        return query_mdms()
    print(USAGE, file=sys.stderr)
    return 1
