"""Shared plumbing: paths, ids, persistence, and the JSON-lines RPC every daemon speaks.

Real ScaleIO speaks a proprietary binary protocol; the emulator uses one JSON object per line
(over TLS for the MDM, whose certificate scli and the gateway must approve, plain TCP elsewhere).
"""

import hashlib
import json
import os
import secrets
import socket
import socketserver
import ssl
import sys
import threading

# Tests run several emulated hosts on one machine: every absolute path goes through root().
ROOT = os.environ.get("SCALEIO_EMU_ROOT", "/")

MDM_PORT = 9011
MDM_MGMT_PORT = 6611
SDS_PORT = 7072
LIA_PORT = 9099
GATEWAY_PORT = 443


def root(path):
    return os.path.join(ROOT, path.lstrip("/"))


def installed_version(component):
    """The version baked in at build time (2.0-14000.231 ...), read from the installed tree."""
    try:
        with open(root("/opt/emc/scaleio/%s/cfg/version" % component)) as f:
            return f.read().strip()
    except OSError:
        return "0.0-0.0"


def short_version(full):
    """'3.6-700.103' -> '3.6.700' (the form scli prints)."""
    major, _, rest = full.partition("-")
    return "%s.%s" % (major, rest.split(".")[0]) if rest else major


def release_string(full):
    """'3.6-700.103' -> 'R3_6.700.103', the form scli prints (`Product: EMC ScaleIO Version:`)."""
    major, _, rest = full.partition("-")
    return "R%s.%s" % (major.replace(".", "_", 1), rest or "0")


def layout_of(full):
    """Which generation of scli output a package version prints (see README, "Layouts").

    '2.0'   : 2.0 and its 2.0.0.x patches (builds below 10000), no virtual IPs yet;
    '2.0.1' : 2.0.1 and later 2.0.x (build 10000 and up) and 2.5/2.6: `Virtual IPs` lines;
    '3'     : 3.x, the cluster line also carries the system ID, and the master a Status line.
    """
    major, _, rest = full.partition("-")
    parts = major.split(".")
    try:
        build = int(rest.split(".")[0]) if rest else 0
        maj, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return "3"
    if maj >= 3:
        return "3"
    if maj == 2 and minor == 0 and build < 10000:
        return "2.0"
    return "2.0.1"


KNOBS_FILE = root("/etc/scaleio-emu/knobs")


def knob(name):
    """An emulator-only test switch from /etc/scaleio-emu/knobs (`name=value` lines), or None.

    Knobs make rare real behaviour happen on demand in tests (README, "Knobs"); real ScaleIO has
    no such file.
    """
    try:
        with open(KNOBS_FILE) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep and key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def major_of(full):
    try:
        return int(full.split(".")[0])
    except ValueError:
        return 0


def new_id():
    return secrets.token_hex(8)


def load_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save_json(path, data, mode=0o600):
    """Atomic write: a crash mid-write must never leave a half-written state file.

    The temporary name is per process: two scli runs at once on one host (two install steps
    logging in together) must not move each other's file away (seen: FileNotFoundError)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def hash_secret(secret, salt=None):
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), 20000).hex()
    return "%s$%s" % (salt, digest)


def check_secret(secret, stored):
    salt, _, _ = (stored or "").partition("$")
    return bool(salt) and secrets.compare_digest(hash_secret(secret, salt), stored)


def log(name, msg):
    sys.stderr.write("%s: %s\n" % (name, msg))
    sys.stderr.flush()


def is_local_ip(ip):
    """True when ip is configured on this host (network namespace)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


def fingerprint_of_der(der):
    return hashlib.sha256(der).hexdigest()


def fingerprint_of_pem(pem):
    return fingerprint_of_der(ssl.PEM_cert_to_DER_cert(pem))


# DER of every peer certificate seen by call(), by SHA-256 fingerprint (scli shows it to approve).
PEER_CERTS = {}


def describe_certificate(der):
    """Subject, issuer, validity and SHA-1 thumbprint, as scli shows a certificate to approve."""
    import tempfile
    short = {"commonName": "CN", "givenName": "GN", "localityName": "L",
             "stateOrProvinceName": "ST", "countryName": "C", "organizationName": "O",
             "organizationalUnitName": "OU"}
    info = {}
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
        f.flush()
        try:
            info = ssl._ssl._test_decode_cert(f.name)  # noqa: SLF001 - stdlib's only decoder
        except (AttributeError, ssl.SSLError, OSError):
            info = {}

    def name(rdns):
        return "".join("/%s=%s" % (short.get(k, k), v) for rdn in rdns or () for k, v in rdn)

    thumb = hashlib.sha1(der).hexdigest().upper()
    return {"subject": name(info.get("subject")), "issuer": name(info.get("issuer")),
            "not_before": info.get("notBefore", "?"), "not_after": info.get("notAfter", "?"),
            "thumbprint": ":".join(thumb[i:i + 2] for i in range(0, len(thumb), 2))}


class RpcError(Exception):
    """The peer could not be reached or answered garbage (not an application error)."""


def call(host, port, message, timeout=5.0, tls=False):
    """Send one request, return (reply dict, peer certificate fingerprint or None)."""
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise RpcError("%s:%d: %s" % (host, port, e.strerror or e)) from None
    fpr = None
    try:
        sock = raw
        if tls:
            # Trust is decided by the caller from the fingerprint (scli --approve_certificate),
            # exactly because the MDM certificate is self-signed.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(raw, server_hostname=host)
            der = sock.getpeercert(binary_form=True)
            fpr = fingerprint_of_der(der)
            PEER_CERTS[fpr] = der
        sock.sendall((json.dumps(message) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
    except (OSError, ssl.SSLError) as e:
        raise RpcError("%s:%d: %s" % (host, port, e)) from None
    if not data:
        raise RpcError("%s:%d: connection closed without an answer" % (host, port))
    try:
        return json.loads(data), fpr
    except ValueError:
        raise RpcError("%s:%d: answer is not JSON" % (host, port)) from None


class _Handler(socketserver.StreamRequestHandler):
    def setup(self):
        holder = getattr(self.server, "ssl_holder", None)
        if holder is not None:
            # Handshake here, in the connection's own thread, so one slow client cannot stall accept.
            self.request.settimeout(10)
            self.request = holder.context().wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        line = self.rfile.readline(16 * 1024 * 1024)
        if not line:
            return
        try:
            request = json.loads(line)
            peer = self.client_address[0]
            local = self.connection.getsockname()[0]
            reply = self.server.dispatch(request, peer, local, self.server.server_address[1])
        except Exception as e:  # noqa: BLE001 - a daemon must answer, not die
            log("rpc", "handler error: %r" % e)
            reply = {"ok": False, "error": "Internal error: %s" % e, "code": 1}
        try:
            self.wfile.write((json.dumps(reply) + "\n").encode())
        except OSError:
            pass


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        log("rpc", "connection from %s failed: %s" % (client_address[0], sys.exc_info()[1]))


class _TlsServer(_Server):
    def __init__(self, addr, dispatch, ssl_holder):
        self.ssl_holder = ssl_holder
        super().__init__(addr, _Handler)
        self.dispatch = dispatch



class SslHolder:
    """Server TLS context that can be swapped at runtime (an MDM adopts the cluster certificate)."""

    def __init__(self, cert_path, key_path):
        self.cert_path, self.key_path = cert_path, key_path
        self._ctx = None
        self.reload()

    def reload(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        self._ctx = ctx

    def context(self):
        return self._ctx


def serve(host, port, dispatch, ssl_holder=None):
    """Start a threaded server; returns it (call .shutdown() to stop)."""
    if ssl_holder is not None:
        server = _TlsServer((host, port), dispatch, ssl_holder)
    else:
        server = _Server((host, port), _Handler)
        server.dispatch = dispatch
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ok(**fields):
    fields["ok"] = True
    return fields


def fail(error, code=7, **fields):
    fields.update(ok=False, error=error, code=code)
    return fields
