"""The LIA daemon: answers on 9099 to callers that know the TOKEN given at install time.

The real LIA runs the vendor installer's remote commands; the emulator only authenticates and
reports what is installed, which is all Arrowhead's installer may rely on (it does not use LIA).
"""

import glob
import os
import time

from . import common
from .common import fail, ok

NAME = "lia"
TOKEN_FILE = common.root("/opt/emc/scaleio/lia/cfg/token.hash")


def installed_components():
    found = []
    for path in sorted(glob.glob(common.root("/opt/emc/scaleio/*/cfg/version"))):
        found.append(os.path.basename(os.path.dirname(os.path.dirname(path))))
    return found


def dispatch(request, peer, local, port):
    try:
        with open(TOKEN_FILE) as f:
            stored = f.read().strip()
    except OSError:
        return fail("LIA has no token configured (reinstall with TOKEN set)")
    if not common.check_secret(request.get("token") or "", stored):
        return fail("Authentication failed: wrong LIA token")
    if request.get("op") == "query":
        return ok(version=common.installed_version("lia"), components=installed_components())
    return fail("Unknown request %r" % request.get("op"), code=1)


def main():
    common.serve("0.0.0.0", common.LIA_PORT, dispatch)
    common.log(NAME, "listening on %d" % common.LIA_PORT)
    while True:
        time.sleep(3600)
