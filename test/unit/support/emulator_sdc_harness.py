"""drv_cfg against an in-memory scini daemon, for test/unit/emulator-sdc-mdms.test.ts.

A sdc.Sdc built without its daemon (no sockets, no loop devices), drv_cfg's `ask` answered by
its `control`, and a config file under a temporary SCALEIO_EMU_ROOT. The scenario, read from
stdin, fills `out` (each drv_cfg run as {code, stdout, stderr}), printed as JSON.
Run with PYTHONPATH=test/emulator/python.
"""
import contextlib, io, json, os, sys, tempfile, threading
ROOT = tempfile.mkdtemp(prefix="ed-sdc-")
os.environ["SCALEIO_EMU_ROOT"] = ROOT
from scaleio_emu import drv_cfg, sdc as S

CONF = S.CONF
os.makedirs(os.path.dirname(CONF), exist_ok=True)


def conf(text):
    with open(CONF, "w") as f:
        f.write(text)


def read_conf():
    with open(CONF) as f:
        return f.read()


def start():
    """The driver as the service starts it: the config file's MDMs loaded."""
    d = object.__new__(S.Sdc)
    d.lock = threading.RLock(); d.systems = S.read_mdm_systems(); d.mdms = []
    d.system_id = None; d.sdc_id = None; d.connected_ip = None; d.last_error = None
    d.throttle = type("NoThrottle", (), {"last_error": None})()
    drv_cfg.ask = d.control
    return d


def drv(*argv):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = drv_cfg.main(list(argv))
    return {"code": code, "stdout": o.getvalue(), "stderr": e.getvalue()}


out = {}
exec(sys.stdin.read())
print(json.dumps(out))
