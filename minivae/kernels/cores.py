"""The cores a run can use: the CPUs it may run on, within its CPU quota.

A container, a JupyterHub server or a batch scheduler gives a process fewer
cores than the machine has, in one of two ways: the CPUs it may run on
(its affinity: taskset, cpusets), or a quota of CPU time per period (a
cgroup's: 1.5 cores is 150 ms of CPU time every 100 ms, spread over any CPUs).
os.cpu_count() sees neither.  threads.py uses `usable()` for its choices.
"""
import math
import os
from pathlib import Path


def cpu_quota(root="/sys/fs/cgroup", own="/proc/self/cgroup"):
    """This process's CPU quota in cores, the smallest on its cgroup's path (v2 cpu.max,
    v1 cpu.cfs_quota_us / cpu.cfs_period_us); None when there is none."""
    try:
        lines = Path(own).read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":                                   # v2: "0::/path"
            found = [_v2_quota(d / "cpu.max") for d in _up(Path(root), path)]
        elif "cpu" in controllers.split(","):                   # v1: "4:cpu,cpuacct:/path"
            mounts = [Path(root) / m for m in (controllers, "cpu", "cpu,cpuacct")]
            base = next((m for m in mounts if m.is_dir()), None)
            found = [_v1_quota(d) for d in _up(base, path)] if base else []
        else:
            continue
        quotas += [q for q in found if q]
    return min(quotas) if quotas else None


def _up(base, path):
    """base/path and each of its parents up to base."""
    d = base / path.strip("/")
    return [d, *(p for p in d.parents if base in p.parents or p == base)]


def _v2_quota(file):
    try:
        quota, period = file.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _v1_quota(folder):
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def usable_cores(affinity, quota):
    """Cores a run can use: the CPUs it may run on, within its quota, rounded down, ≥ 1."""
    cores = affinity if quota is None else min(affinity, math.floor(quota + 1e-9))
    return max(1, cores)


def usable():
    """The cores this process can use now."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return usable_cores(affinity or 1, cpu_quota())
