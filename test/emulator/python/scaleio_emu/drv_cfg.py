"""drv_cfg: the SDC driver's command line (asks the scini daemon over its control socket)."""

import json
import socket
import sys

from . import sdc


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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
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
        reply = ask({"op": "query_mdms"})
        if not reply["system_id"]:
            print("Retrieved 0 mdm(s)")
            if reply["error"]:
                print("drv_cfg: %s" % reply["error"], file=sys.stderr)
            return 0
        ips = [ip for m in reply["mdms"] for ip in m["ips"]] or reply["configured"]
        print("Retrieved 1 mdm(s)")
        print("MDM-ID %s SDC ID %s INSTALLATION ID %s IPs %s" % (
            reply["system_id"], reply["sdc_id"], reply["system_id"],
            " ".join("[%d]-%s" % (i, ip) for i, ip in enumerate(ips))))
        return 0
    print("Usage: drv_cfg --query_vols | --rescan | --query_guid | --query_mdms", file=sys.stderr)
    return 1
