"""The cores a run may use (minivae/kernels/cores.py): affinity within the CPU quota, read
from cgroup trees written here for each case (v2 cpu.max, v1 cfs quota and period)."""
import pytest

from minivae.kernels import cores


def tree(tmp_path, own, files):
    """A /proc/self/cgroup holding `own` and a cgroup root holding `files` {path: text}."""
    root = tmp_path / "cgroup"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (tmp_path / "self").write_text(own)
    return dict(root=str(root), own=str(tmp_path / "self"))


@pytest.mark.parametrize("own, files, quota", [
    ("0::/user/jupyter\n", {"user/jupyter/cpu.max": "150000 100000\n"}, 1.5),     # v2
    ("0::/user/jupyter\n", {"user/jupyter/cpu.max": "max 100000\n"}, None),       # v2, no limit
    ("0::/user/jupyter\n", {"user/jupyter/cpu.max": "max 100000\n",               # the parent's
                            "user/cpu.max": "200000 100000\n"}, 2.0),
    ("0::/\n", {"cpu.max": "50000 100000\n"}, 0.5),                              # a container's root
    ("4:cpu,cpuacct:/docker/x\n1:name=systemd:/\n",                              # v1
     {"cpu,cpuacct/docker/x/cpu.cfs_quota_us": "300000\n",
      "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n"}, 3.0),
    ("4:cpu,cpuacct:/docker/x\n", {"cpu/docker/x/cpu.cfs_quota_us": "-1\n",        # v1, no limit
                                   "cpu/docker/x/cpu.cfs_period_us": "100000\n"}, None),
    ("0::/a\n", {}, None),                                                        # no cpu.max file
    ("0::/a\n", {"a/cpu.max": "garbage"}, None),
])
def test_cpu_quota_from_cgroup_files(tmp_path, own, files, quota):
    assert cores.cpu_quota(**tree(tmp_path, own, files)) == quota


def test_no_cgroup_file_means_no_quota(tmp_path):
    assert cores.cpu_quota(root=str(tmp_path), own=str(tmp_path / "missing")) is None


@pytest.mark.parametrize("affinity, quota, usable", [
    (2, None, 2), (8, 2.0, 2), (8, 1.5, 1), (8, 0.5, 1), (2, 4.0, 2), (16, 15.99999999995, 16)])
def test_usable_cores_are_the_affinity_within_the_quota_rounded_down(affinity, quota, usable):
    assert cores.usable_cores(affinity, quota) == usable


def test_usable_sees_this_process(monkeypatch):
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(cores, "cpu_quota", lambda: 2.5)
    assert cores.usable() == 2
