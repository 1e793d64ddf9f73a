"""The REST gateway on 443: the documented /api subset, answered from the MDM's live state.

It keeps no copy of the cluster: every call asks the master MDM (port 6611) with the caller's
MDM session token. Like the real gateway it has to be told the MDM addresses (mdm.ip.addresses)
and to trust the MDM certificate (security.bypass_certificate_check=true or
POST /api/trustHostCertificate/Mdm) before any MDM call works.
"""

import base64
import json
import os
import secrets
import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import common, gateway_objects, gateway_stats, gateway_volumes, mdm_volumes

NAME = "gateway"
CLASSES = common.root("/opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes")
PROPERTIES = os.path.join(CLASSES, "gatewayUser.properties")
TRUST_FILE = os.path.join(CLASSES, "certificates", "emu-mdm-truststore.json")
CERT = common.root("/opt/emc/scaleio/gateway/conf/certificates/gateway.crt")
KEY = common.root("/opt/emc/scaleio/gateway/conf/certificates/gateway.key")
ADMIN_TOKENS = set()
# Tokens this gateway handed out with /api/login (MDM session tokens). Like the real gateway's
# sessions they live in this process only: a restart, or SIGUSR1 (expire_tokens: root only),
# ends them, and a call with an ended token gets HTTP 401 "Unauthorized".
ISSUED = set()
LOCK = threading.Lock()
# Read once at start, like the real gateway: editing the file needs a service restart.
PROPS = {}


class ApiError(Exception):
    def __init__(self, status, message, code=0):
        super().__init__(message)
        self.status = status
        self.code = code


# Gateway errorCodes the real gateway gives (dvol-reference §2); other refusals carry 0.
CODE_VOLUME_NOT_FOUND = 79
CODE_ALREADY_MAPPED = 81
CODE_NOT_MAPPED = 84
CODE_NAME_TOO_LONG = 226
MAX_NAME = 31
# MDM refusal texts (mdm.py) -> (errorCode, the gateway's message).
MDM_ERRORS = [
    ("Could not find the volume", CODE_VOLUME_NOT_FOUND, "Could not find the volume"),
    ("already mapped to this SDC", CODE_ALREADY_MAPPED, "The volume is already mapped to this SDC"),
    ("not mapped to this SDC", CODE_NOT_MAPPED, "The volume is not mapped to this SDC"),
    ("not mapped to any SDC", CODE_NOT_MAPPED, "The volume is not mapped to any SDC"),
    ("A volume with the name", 0, "Volume name already in use. Please use a different name."),
]


def read_properties():
    props = {}
    try:
        with open(PROPERTIES) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    props[key.strip()] = value.strip()
    except OSError:
        pass
    return props


def write_property(key, value):
    with LOCK:
        PROPS[key] = value
        try:
            with open(PROPERTIES) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        lines = [line for line in lines if not line.strip().startswith(key + "=")]
        lines.append("%s=%s" % (key, value))
        with open(PROPERTIES + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(PROPERTIES + ".tmp", 0o600)
        os.replace(PROPERTIES + ".tmp", PROPERTIES)


def mdm_addresses():
    value = PROPS.get("mdm.ip.addresses", "")
    return [ip.strip() for ip in value.replace(";", ",").split(",") if ip.strip()]


def mdm(cmd, args, token):
    """Run an MDM command on whichever configured MDM is the master."""
    ips = mdm_addresses()
    if not ips:
        raise ApiError(500, "No MDM is configured: set mdm.ip.addresses in %s and restart "
                            "the gateway, or POST /api/updateConfiguration" % PROPERTIES)
    bypass = PROPS.get("security.bypass_certificate_check", "false") == "true"
    trusted = common.load_json(TRUST_FILE, [])
    for ip in ips:
        try:
            reply, fpr = common.call(ip, common.MDM_MGMT_PORT,
                                     {"op": "cmd", "cmd": cmd, "args": args, "token": token},
                                     timeout=30.0, tls=True)
        except common.RpcError:
            continue
        if not bypass and fpr not in trusted:
            raise ApiError(500, "The MDM certificate is not trusted: POST "
                                "/api/trustHostCertificate/Mdm or set "
                                "security.bypass_certificate_check=true")
        if not reply.get("ok") and reply.get("error") == "This MDM is not the master":
            continue
        if not reply.get("ok"):
            status = 401 if "login" in reply["error"].lower() or "password" in reply[
                "error"].lower() else 500
            if status == 401:
                ISSUED.discard(token)  # the MDM session ended (idle expiry, logout)
            for text, code, message in MDM_ERRORS:
                if text in reply["error"]:
                    raise ApiError(status, message, code)
            raise ApiError(status, reply["error"])
        return reply
    raise ApiError(500, "Could not connect to the MDM at %s" % ",".join(ips))


# Relationship links as the real gateway lists them; clients (goscaleio) follow them.
RELATIONSHIPS = {"System": ["ProtectionDomain", "Sdc", "Sds", "Volume", "StoragePool", "Device",
                            "FaultSet", "VTree", "Statistics"],
                 "ProtectionDomain": ["StoragePool", "Sds", "FaultSet", "Statistics"],
                 "StoragePool": ["Volume", "Device", "SpSds", "Statistics"],
                 "Sds": ["Device"], "FaultSet": ["Sds"], "Sdc": ["Volume", "Statistics"],
                 "Volume": ["Statistics"]}


def links(kind, obj_id):
    out = [{"rel": "self", "href": "/api/instances/%s::%s" % (kind, obj_id)}]
    for rel in RELATIONSHIPS.get(kind, []):
        out.append({"rel": "/api/%s/relationship/%s" % (kind, rel),
                    "href": "/api/instances/%s::%s/relationships/%s" % (kind, obj_id, rel)})
    return out


def to_rest(kind, s, o):
    up = s["up"]
    if kind == "System":
        master = next(m for m in s["members"] if m["role"] == "master")
        return {"id": o["id"], "name": o["name"], "systemVersionName": "EMC ScaleIO %s" %
                o["version"], "mdmClusterState": "ClusteredNormal" if s["mode"] != "1_node"
                else "NotClustered", "mdmManagementIpList": master["mgmt_ips"],
                "installId": o["id"], "links": links("System", o["id"])}
    if kind == "ProtectionDomain":
        return {"id": o["id"], "name": o["name"], "systemId": s["system"]["id"],
                "protectionDomainState": "Active", "links": links(kind, o["id"])}
    if kind == "StoragePool":
        return {"id": o["id"], "name": o["name"], "protectionDomainId": o["pd"],
                "mediaType": o["media_type"], "capacityInKb": s["capacity_gb"][o["id"]] * 1024**2,
                "links": links(kind, o["id"])}
    if kind == "Sds":
        return {"id": o["id"], "name": o["name"], "protectionDomainId": o["pd"],
                "ipList": [{"ip": ip, "role": "all"} for ip in o["ips"]], "port": common.SDS_PORT,
                "sdsState": "Normal", "mdmConnectionState": "Connected" if up[o["id"]]
                else "Disconnected", "faultSetId": o.get("fault_set"),
                "links": links(kind, o["id"])}
    if kind == "Sdc":
        return {"id": o["id"], "name": o.get("name"), "sdcIp": o["ip"], "sdcGuid": o["guid"],
                "systemId": s["system"]["id"], "mdmConnectionState": "Connected" if up[o["id"]]
                else "Disconnected", "links": links(kind, o["id"])}
    if kind == "Volume":
        sdcs = {c["id"]: c for c in s["sdcs"]}
        limits = o.get("limits", {})  # per mapping, held by the MDM
        mapped = []
        for i in o["mapped"]:
            if i in sdcs:
                lim = limits.get(i, {})
                # read back: IOPS as set, bandwidth in MB/s (set in KB/s, a multiple of 1024)
                mapped.append({"sdcId": i, "sdcIp": sdcs[i]["ip"], "sdcName": sdcs[i].get("name"),
                               "limitIops": lim.get("iops", 0),
                               "limitBwInMbps": lim.get("bw_kbps", 0) // 1024,
                               "accessMode": mdm_volumes.mapping_access_mode(o, i)})
        return dict(gateway_volumes.volume_fields(s, o), id=o["id"], name=o["name"],
                    sizeInKb=o["size_gb"] * 1024**2, storagePoolId=o["pool"],
                    volumeType="ThinProvisioned" if o["thin"] else "ThickProvisioned",
                    mappedSdcInfo=mapped or None,
                    links=links(kind, o["id"]) + gateway_volumes.parent_links(o))
    raise ApiError(404, "Unknown type %s" % kind)


COLLECTIONS = {"System": None, "ProtectionDomain": "pds", "StoragePool": "pools", "Sds": "sds",
               "Sdc": "sdcs", "Volume": "volumes", "Device": None, "FaultSet": None, "VTree": None}


def instances(kind, s):
    if kind == "System":
        return [to_rest("System", s, s["system"])]
    if kind in gateway_objects.KINDS:
        return [dict(o, links=links(kind, o["id"])) for o in gateway_objects.instances(kind, s)]
    return [to_rest(kind, s, o) for o in s[COLLECTIONS[kind]]]


class Handler(BaseHTTPRequestHandler):
    server_version = "ScaleIO-Gateway-Emulator"

    def log_message(self, fmt, *args):
        common.log(NAME, "%s %s" % (self.address_string(), fmt % args))

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def credentials(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            raise ApiError(401, "Unauthorized: HTTP basic authentication is required")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise ApiError(401, "Unauthorized: malformed Authorization header") from None
        return user, password

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        try:
            status, body = self.handle_api(method, self.path.split("?")[0].rstrip("/"))
            self.reply(status, body)
        except ApiError as e:
            self.reply(e.status, {"message": str(e), "httpStatusCode": e.status,
                                  "errorCode": e.code})

    def handle_api(self, method, path):
        if path == "/api/version":
            return 200, ".".join(common.installed_version("gateway").split("-")[0].split(".")[:2])
        if path == "/api/login":
            user, password = self.credentials()
            reply = mdm("login", {"username": user, "password": password}, None)
            ISSUED.add(reply["token"])
            return 200, reply["token"]
        if path == "/api/gatewayLogin":
            user, password = self.credentials()
            stored = PROPS.get("gateway-admin.password", "")
            if user != "admin" or not common.check_secret(password, stored):
                raise ApiError(401, "Unauthorized: wrong gateway admin user or password")
            token = secrets.token_hex(16)
            ADMIN_TOKENS.add(token)
            return 200, token
        if path in ("/api/updateConfiguration", "/api/trustHostCertificate/Mdm"):
            if self.credentials()[1] not in ADMIN_TOKENS:
                raise ApiError(401, "Unauthorized: log in with /api/gatewayLogin first")
            return self.configure(path)
        _, token = self.credentials()
        if token not in ISSUED:
            raise ApiError(401, "Unauthorized")
        parts = path.split("/")
        if len(parts) >= 5 and parts[2] == "types":
            return self.typed(method, parts, token)
        if len(parts) >= 4 and parts[2] == "instances" and "::" in parts[3]:
            return self.instance(method, parts, token)
        # POST /api/instances/System/queryMdmCluster, .../System/action/querySystemLimits
        if method == "POST" and path == "/api/instances/System/queryMdmCluster":
            return 200, gateway_objects.mdm_cluster(mdm("query", {}, token)["state"])
        if method == "POST" and path == "/api/instances/System/action/querySystemLimits":
            return 200, gateway_objects.system_limits()
        raise ApiError(404, "No such API: %s %s" % (method, path))

    def typed(self, method, parts, token):
        """/api/types/<Type>/instances[/action/<name>]: list, create, queries by key."""
        kind, rest = parts[3], parts[4:]
        if kind not in COLLECTIONS or rest[0] != "instances":
            raise ApiError(404, "Unknown type %s" % kind)
        if rest == ["instances"] and method == "GET":
            return 200, instances(kind, mdm("query", {}, token)["state"])
        if rest == ["instances"] and method == "POST":
            if kind in gateway_objects.KINDS:
                return 200, gateway_objects.create(kind, self.body(), mdm, token, ApiError)
            return 200, self.create(kind, self.body(), token)
        if method != "POST" or len(rest) != 3 or rest[1] != "action":
            raise ApiError(404, "No such API: %s %s" % (method, "/".join(parts)))
        body, s = self.body(), mdm("query", {}, token)["state"]
        if kind == "Volume" and rest[2] == "queryIdByKey":
            # {name} -> quoted id, or 500 / code 79
            if not body.get("name"):
                raise ApiError(400, "name is required")
            found = next((v for v in s["volumes"] if v["name"] == body["name"]), None)
            if found is None:
                raise ApiError(500, "Could not find the volume", CODE_VOLUME_NOT_FOUND)
            return 200, found["id"]
        if kind == "Sdc" and rest[2] == "queryIdByKey":
            return 200, gateway_objects.sdc_id_by_ip(s, body, ApiError)
        if kind == "VTree" and rest[2] == "queryBySelectedIds":
            ids, trees = body.get("ids") or [], instances("VTree", s)
            unknown = [i for i in ids if i not in {t["id"] for t in trees}]
            if unknown:
                raise ApiError(500, "Could not find the VTree %s" % unknown[0])
            return 200, [t for t in trees if t["id"] in ids]
        raise ApiError(404, "No such API: %s %s" % (method, "/".join(parts)))

    def instance(self, method, parts, token):
        """/api/instances/<Type>::<id>[/relationships/<Type> | /action/<name>]."""
        kind, _, obj_id = parts[3].partition("::")
        s = mdm("query", {}, token)["state"]
        if kind not in COLLECTIONS:
            raise ApiError(404, "Unknown type %s" % kind)
        found = [o for o in instances(kind, s) if o["id"] == obj_id]
        if not found:
            if kind == "Volume":
                raise ApiError(500, "Could not find the volume", CODE_VOLUME_NOT_FOUND)
            raise ApiError(500, "Could not find the %s" % kind)
        if len(parts) == 4 and method == "GET":
            return 200, found[0]
        if len(parts) == 6 and parts[4] == "relationships" and method == "GET":
            related = self.related(kind, obj_id, parts[5], s)
            if related is not None:
                return 200, related
        if len(parts) == 6 and parts[4] == "action" and method == "POST":
            body = self.body()
            if kind == "Volume":
                return 200, self.volume_action(parts[5], obj_id, body, token)
            if kind == "System" and parts[5] == "snapshotVolumes":
                return 200, gateway_volumes.snapshot_volumes(body, mdm, token, ApiError)
            done = gateway_objects.action(kind, parts[5], obj_id, body, mdm, token, ApiError)
            if done is not None:
                return 200, done
        raise ApiError(404, "No such API: %s %s" % (method, "/".join(parts)))

    @staticmethod
    def related(kind, obj_id, other, s):
        """GET /api/instances/<kind>::<id>/relationships/<other>, or None if there is none."""
        if other not in RELATIONSHIPS.get(kind, []):
            return None
        if other == "Statistics":
            return gateway_stats.statistics(kind, s, obj_id)
        if kind == "System":
            return instances(other, s)
        if kind == "Sdc":
            return [o for o in instances("Volume", s)
                    if any(m["sdcId"] == obj_id for m in o["mappedSdcInfo"] or [])]
        if other == "SpSds":  # the SDSs with a device in the pool
            sds_ids = {d["sdsId"] for d in instances("Device", s) if d["storagePoolId"] == obj_id}
            return [o for o in instances("Sds", s) if o["id"] in sds_ids]
        field = {"ProtectionDomain": "protectionDomainId", "StoragePool": "storagePoolId",
                 "Sds": "sdsId", "FaultSet": "faultSetId"}[kind]
        return [o for o in instances(other, s) if o.get(field) == obj_id]

    def configure(self, path):
        if path == "/api/updateConfiguration":
            addresses = self.body().get("mdmAddresses") or []
            if not addresses:
                raise ApiError(400, "mdmAddresses is required")
            write_property("mdm.ip.addresses", ",".join(addresses))
            return 200, {}
        for ip in mdm_addresses():
            try:
                _, fpr = common.call(ip, common.MDM_MGMT_PORT, {"op": "probe"}, tls=True)
            except common.RpcError:
                continue
            trusted = common.load_json(TRUST_FILE, [])
            if fpr not in trusted:
                common.save_json(TRUST_FILE, trusted + [fpr])
            return 200, {}
        raise ApiError(500, "Could not reach any MDM to fetch its certificate")

    def create(self, kind, body, token):
        if kind == "Volume":
            s = mdm("query", {}, token)["state"]
            pool = next((p for p in s["pools"] if p["id"] == body.get("storagePoolId")), None)
            if pool is None:
                raise ApiError(500, "Could not find the Storage Pool %s" % body.get("storagePoolId"))
            if body.get("volumeSizeInKb") is None:
                raise ApiError(400, "volumeSizeInKb is required")
            if len(body.get("name") or "") > MAX_NAME:
                raise ApiError(500, "The given name exceeds the allowed length of %d characters"
                               % MAX_NAME, CODE_NAME_TOO_LONG)
            args = {"protection_domain_id": pool["pd"], "storage_pool_id": pool["id"],
                    "size_kb": body["volumeSizeInKb"], "volume_name": body.get("name"),
                    "thin_provisioned": body.get("volumeType") == "ThinProvisioned"}
            return {"id": mdm("add_volume", args, token)["id"]}
        if kind == "ProtectionDomain":
            reply = mdm("add_protection_domain", {"protection_domain_name": body.get("name")},
                        token)
            return {"id": reply["message"].rsplit(" ", 1)[-1]}
        if kind == "StoragePool":
            reply = mdm("add_storage_pool", {"protection_domain_id": body.get("protectionDomainId"),
                                             "storage_pool_name": body.get("name"),
                                             "media_type": body.get("mediaType")}, token)
            return {"id": reply["message"].rsplit(" ", 1)[-1]}
        raise ApiError(405, "Creating %s through this gateway is not supported" % kind)

    def volume_action(self, action, vol_id, body, token):
        if action == "addMappedSdc":
            mdm("map_volume_to_sdc", gateway_volumes.add_mapped_sdc_args(vol_id, body, ApiError),
                token)
            return {}
        if action == "setMappedSdcLimits":
            return self.set_limits(vol_id, body, token)
        if action == "removeMappedSdc":
            args = {"volume_id": vol_id}
            if body.get("allSdcs") in (True, "TRUE", "true"):
                args["all_sdcs"] = True
            else:
                args["sdc_id"] = body.get("sdcId")
            mdm("unmap_volume_from_sdc", args, token)
            return {}
        if action == "removeVolume":
            return gateway_volumes.remove_volume(vol_id, body, mdm, token, ApiError)
        if action == "setVolumeSize":
            return gateway_volumes.set_volume_size(vol_id, body, mdm, token, ApiError)
        if action == "setVolumeAccessModeLimit":
            return gateway_volumes.set_access_mode_limit(vol_id, body, mdm, token, ApiError)
        if action == "setVolumeMappingAccessMode":
            return gateway_volumes.set_mapping_access_mode(vol_id, body, mdm, token, ApiError)
        raise ApiError(404, "Unknown Volume action %s" % action)

    def set_limits(self, vol_id, body, token):
        """setMappedSdcLimits {sdcId, iopsLimit, bandwidthLimitInKbps} (strings; either optional).

        iopsLimit: 0 = unlimited, else greater than 10. bandwidthLimitInKbps: 0 = unlimited, else
        a multiple of 1024; read back as limitBwInMbps. The limits belong to the mapping.
        """
        sdc_id = body.get("sdcId")
        if not sdc_id:
            raise ApiError(400, "sdcId is required")
        s = mdm("query", {}, token)["state"]
        vol = next((v for v in s["volumes"] if v["id"] == vol_id), None)
        if vol is None:
            raise ApiError(500, "Could not find the volume", CODE_VOLUME_NOT_FOUND)
        if sdc_id not in vol["mapped"]:
            raise ApiError(500, "The volume is not mapped to this SDC", CODE_NOT_MAPPED)
        new = {}
        for field, key in (("iopsLimit", "iops"), ("bandwidthLimitInKbps", "bw_kbps")):
            if body.get(field) is None:
                continue
            try:
                value = int(str(body[field]))
            except ValueError:
                raise ApiError(400, "%s must be a number, not %r" % (field, body[field])) from None
            new[key] = value
        if new.get("iops", 0) < 0 or 0 < new.get("iops", 0) <= 10:
            raise ApiError(500, "IOPS limit must be 0 (unlimited) or greater than 10")
        if new.get("bw_kbps", 0) < 0 or new.get("bw_kbps", 0) % 1024:
            raise ApiError(500, "Bandwidth limit must be 0 (unlimited) or a multiple of 1024 KB/s")
        mdm("set_sdc_volume_limits", {"volume_id": vol_id, "sdc_id": sdc_id,
                                      "limit_iops": new.get("iops"),
                                      "limit_bandwidth_kbps": new.get("bw_kbps")}, token)
        return {}


def expire_tokens(_signum=None, _frame=None):
    """SIGUSR1: end every session this gateway handed out (the next call gets HTTP 401)."""
    ISSUED.clear()
    common.log(NAME, "all tokens expired (SIGUSR1)")


def main():
    PROPS.update(read_properties())
    signal.signal(signal.SIGUSR1, expire_tokens)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("GATEWAY_PORT",
                                                                  common.GATEWAY_PORT))), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    common.log(NAME, "listening on %d" % server.server_address[1])
    server.serve_forever()
