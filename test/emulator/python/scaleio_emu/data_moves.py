"""Where the volume data of a storage pool sits, and how it moves when an SDS leaves or is lost.

The emulator keeps no volume data on SDS devices (see sdc.py), so this module keeps a ledger
instead: every volume has two copies (mesh mirroring), spread over the pool's SDSs in proportion
to their raw device capacity. An SDS that is being removed, or that was lost (disconnected), is
"draining": the data still on it is recorded per pool in `sds["drain"][pool_id]["left_gb"]` and
shrinks at a configurable rate (knob `data_move_gb_per_s`, GB per second, default 1) until it
reaches 0: then a removed SDS is gone, a lost one holds nothing (its data was rebuilt on the
others). The rest of the pool's data is spread over the other SDSs.

Real ScaleIO facts followed (test/emulator/README.md, "Day 2"): two copies of every block, on
two different SDSs; `--remove_sds` moves the SDS's data to the other SDSs before it goes away;
a lost SDS's data is rebuilt from the surviving copies; capacity in `--query_sds`/`--query_all`
is shown as `total`, `unused`, `in-use`, `degraded-healthy`, `moving` ... capacity lines.

All sizes are GB (GiB, as scli's "GB") as floats; state is the MDM's state dict.
"""

import math

from . import common

COPIES = 2
SPARE_FRACTION = 0.10
DEFAULT_RATE_GB_PER_S = 1.0


def pool_of(sds, dev):
    return dev.get("pool") or sds.get("pool")


def raw_gb(sds, pool_id):
    """Raw device capacity of one SDS in one pool (GB)."""
    return sum(d["size"] for d in sds["devices"] if pool_of(sds, d) == pool_id) / 1024**3


def pools_of(sds):
    return sorted({pool_of(sds, d) for d in sds["devices"] if pool_of(sds, d)})


def in_use_gb(state, pool_id):
    """Volume data of the pool, one copy (GB). Thin volumes count at their full size: the
    emulator cannot tell how much of them was written, so it assumes all of it (worst case)."""
    return float(sum(v["size_gb"] for v in state["volumes"] if v["pool"] == pool_id))


def draining(sds):
    return bool(sds.get("removing") or sds.get("lost"))


def eligible(state, pool_id, without=None):
    """SDSs that can take data in the pool: devices there, not removed, not lost."""
    return [s for s in state["sds"] if s is not without and not draining(s)
            and raw_gb(s, pool_id) > 0]


def usable_gb(sdss, pool_id):
    """What volumes can use on these SDSs: raw x (1 - spare) / copies (README, Rules)."""
    return sum(raw_gb(s, pool_id) for s in sdss) * (1 - SPARE_FRACTION) / COPIES


def left_gb(sds, pool_id):
    return float(((sds.get("drain") or {}).get(pool_id) or {}).get("left_gb", 0.0))


def placement(state, pool_id):
    """{sds_id: GB of copies held} for the pool: draining SDSs hold what is left on them, the
    others share the rest in proportion to their raw capacity."""
    held = {s["id"]: left_gb(s, pool_id) for s in state["sds"] if draining(s)}
    rest = max(COPIES * in_use_gb(state, pool_id) - sum(held.values()), 0.0)
    takers = eligible(state, pool_id)
    total_raw = sum(raw_gb(s, pool_id) for s in takers)
    for s in takers:
        held[s["id"]] = rest * raw_gb(s, pool_id) / total_raw if total_raw else 0.0
    return held


def held_gb(state, sds):
    """GB of copies on this SDS over all its pools."""
    return sum(placement(state, p).get(sds["id"], 0.0) for p in pools_of(sds))


def removal_refusal(state, sds):
    """Why the cluster cannot spare this SDS (a message naming the numbers), or None.

    Two rules: the other SDSs of each pool must hold the pool's volumes within their usable
    capacity, and data needs two SDSs for its two copies."""
    for pool_id in pools_of(sds):
        pool = next((p for p in state["pools"] if p["id"] == pool_id), {"name": pool_id})
        others = eligible(state, pool_id, without=sds)
        used = in_use_gb(state, pool_id)
        if used <= 0:
            continue
        if len(others) < COPIES:
            return ("Cannot remove SDS %s: Storage Pool %s holds %d GB of volumes and would be "
                    "left with %d SDS(s); its %d copies need %d SDSs"
                    % (sds["name"], pool.get("name") or pool_id, used, len(others), COPIES,
                       COPIES))
        room = usable_gb(others, pool_id)
        if used > room:
            return ("Not enough capacity in Storage Pool %s to remove SDS %s: its volumes need "
                    "%d GB, the other SDSs can hold %d GB"
                    % (pool.get("name") or pool_id, sds["name"], used, int(room)))
    return None


def start_drain(state, sds, reason):
    """Record what is on the SDS now as what has to move off it ("removing" or "lost")."""
    if not draining(sds):
        sds["drain"] = {p: {"total_gb": placement(state, p).get(sds["id"], 0.0),
                            "left_gb": placement(state, p).get(sds["id"], 0.0)}
                        for p in pools_of(sds)}
    sds[reason] = True


def rate_gb_per_s():
    """The knob `data_move_gb_per_s` (README, "Knobs"), else the default."""
    try:
        rate = float(common.knob("data_move_gb_per_s") or DEFAULT_RATE_GB_PER_S)
    except ValueError:
        rate = DEFAULT_RATE_GB_PER_S
    return rate if rate > 0 else DEFAULT_RATE_GB_PER_S


def advance(state, seconds, rate):
    """Move `rate * seconds` GB off each draining SDS. Returns the removed SDSs that are now
    empty (the caller drops them from the state)."""
    done = []
    for sds in state["sds"]:
        if not draining(sds):
            continue
        budget = rate * seconds
        for entry in (sds.get("drain") or {}).values():
            step = min(entry["left_gb"], budget)
            entry["left_gb"] = round(entry["left_gb"] - step, 6)
            budget -= step
        if sds.get("removing") and all(e["left_gb"] <= 0 for e in
                                       (sds.get("drain") or {}).values()):
            done.append(sds)
    return done


def reconnected(sds):
    """A lost SDS came back: unless it is being removed, its data counts as in sync again (the
    emulator does not model the backward rebuild) and it takes data as before."""
    sds.pop("lost", None)
    if not sds.get("removing"):
        sds.pop("drain", None)


def jobs(left):
    """(active, pending) move jobs for `left` GB: 2 parallel jobs per device, 1 GB each (the
    pool's `The number of parallel rebuild/rebalance jobs: 2`; the job size is ours)."""
    count = int(math.ceil(left)) if left > 0 else 0
    return min(count, 2), max(count - 2, 0)


def sds_status(state, sds, up):
    """What scli shows for one SDS: its state word, GB held, GB still to move, move kind."""
    left = sum(left_gb(sds, p) for p in pools_of(sds)) if draining(sds) else 0.0
    kind = None
    if left > 0:
        kind = "rebuild" if (sds.get("lost") or not up) else "rebalance"
    return {"state": "RemovalInProgress" if sds.get("removing") else "Normal",
            "held_gb": held_gb(state, sds), "left_gb": left, "kind": kind,
            "raw_gb": sum(d["size"] for d in sds["devices"]) / 1024**3}


def pool_status(state, pool_id):
    """Capacity of one pool (GB): total raw, usable, in-use (one copy), free for volumes,
    degraded (copies whose twin is on a lost SDS, still to rebuild), moving (left on removed
    SDSs that are connected)."""
    members = [s for s in state["sds"] if raw_gb(s, pool_id) > 0]
    degraded = sum(left_gb(s, pool_id) for s in members if s.get("lost"))
    moving = sum(left_gb(s, pool_id) for s in members if s.get("removing") and not s.get("lost"))
    usable = usable_gb(eligible(state, pool_id), pool_id)
    used = in_use_gb(state, pool_id)
    return {"raw_gb": sum(raw_gb(s, pool_id) for s in members), "usable_gb": usable,
            "in_use_gb": used, "free_gb": max(usable - used, 0.0),
            "degraded_gb": degraded, "moving_gb": moving, "sds_count": len(members)}
