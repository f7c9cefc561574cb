"""Lesson 02 (§2 opening, Fig. 3) runs with --quick, and every number it prints agrees
with values derived here on another code path: scipy's bilinear shift (not the
lesson's separable translate-and-blend), the erased stroke rebuilt in 2-D from
its stated rule, and nearest neighbours by scipy's cdist."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import cdist

from lesson_tools import REPO, exercise_items, grab, run_lesson  # noqa: F401

NUM = r"([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"
N_INK = 30                         # the lesson's default --erase
T = 10.0                           # the lesson's default --reject-nats


def shifted(imgs, s):
    """(N, 28, 28) shifted s px down and right by scipy's linear interpolation, zeros outside."""
    return ndimage.shift(imgs, (0, s, s), order=1, mode="grid-constant")


def erased_stroke(img, n_ink):
    """The lesson's stated rule, written in 2-D: centre = ink pixel (>= 0.5) nearest the ink's
    centre of mass (first in row-major order on a tie); zero every pixel within the smallest
    radius around it that holds n_ink ink pixels.  Returns (image, mask, (row, col))."""
    r, c = np.indices((28, 28))
    ink = img >= 0.5
    m = np.where(ink, img, 0.0)
    com_r, com_c = (r * m).sum() / m.sum(), (c * m).sum() / m.sum()
    best, centre = np.inf, None
    for i, j in zip(*np.nonzero(ink)):                      # row-major order
        d = (i - com_r) ** 2 + (j - com_c) ** 2
        if d < best:
            best, centre = d, (i, j)
    r2 = (r - centre[0]) ** 2 + (c - centre[1]) ** 2
    radius2 = sorted(r2[ink])[n_ink - 1]
    mask = r2 <= radius2
    return np.where(mask, 0.0, img), mask, centre


@pytest.fixture(scope="module")
def run02(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("l02")
    return run_lesson("02_pixel_distance.py", out, env={"MINIVAE_DATA": str(mnist_dir)}), out


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    from minivae.data import load_mnist
    x, y = load_mnist("train", data_dir=mnist_dir, download=False)
    return x.astype(np.float64), y


@pytest.fixture(scope="module")
def twos(mnist):
    x, y = mnist
    idx = np.flatnonzero(y == 2)
    imgs = x[idx].reshape(-1, 28, 28)
    d_half = ((imgs - shifted(imgs, 0.5)) ** 2).sum(axis=(1, 2))
    return idx, imgs, d_half


def test_figures(run02):
    for name in ("02_fig3_pixel_distance", "02_shift_vs_nearest"):
        assert (run02[1] / f"{name}.png").stat().st_size > 10_000


def test_half_pixel_distance_over_all_twos(run02, twos):
    """Step 1: the min/median/max table over every training 2, in four normalizations, and the
    verdict that .2693 fits none of them (each range checked here from scipy's shift)."""
    text = run02[0]
    idx, _, d = twos
    n2, = grab(r"half-pixel shift \(bilinear\) of all (\d+) MNIST training 2s", text, int)
    assert n2 == len(idx) > 5000
    for label, v in (("sum over 784 pixels", d), (r"mean per pixel \(sum/784\)", d / 784),
                     (r"RMS per pixel \(sqrt of the mean\)", np.sqrt(d / 784)),
                     (r"Euclidean \(sqrt of the sum\)", np.sqrt(d))):
        lo, med, hi, inside = grab(rf"{label}\s+{NUM}\s+{NUM}\s+{NUM}\s+(yes|no)", text, str)
        assert float(lo) == pytest.approx(v.min(), abs=6e-5)
        assert float(med) == pytest.approx(np.median(v), abs=6e-5)
        assert float(hi) == pytest.approx(v.max(), abs=6e-5)
        assert inside == ("yes" if v.min() <= 0.2693 <= v.max() else "no") == "no"
    i_max, s_max, px_max = grab(rf"largest half-pixel distance: training image (\d+), sum {NUM}, per pixel {NUM}", text)
    assert int(i_max) == idx[np.argmax(d)]
    assert s_max == pytest.approx(d.max(), abs=6e-5) and px_max == pytest.approx(d.max() / 784, abs=6e-6)
    assert d.max() / 784 < 0.2693 / 7                         # the per-pixel mean stays far below .2693


def test_fig3_rebuilt_with_an_erased_stroke(run02, mnist, twos):
    """Step 2: (a) is the median 2; (b) its erased stroke; (c), (d) its ½- and 1-px shifts;
    (e) the nearest non-2 among the first n_pool images."""
    text = run02[0]
    x, y = mnist
    idx, imgs, d_half = twos
    ia, = grab(r"Fig\. 3 rebuilt with training image (\d+) as \(a\)", text, int)
    j = int(np.argsort(d_half)[len(d_half) // 2])
    assert ia == idx[j]
    a = imgs[j]
    b, mask, centre = erased_stroke(a, N_INK)
    n_ink, n_nz, row, col, d_ab, d_ab_px = grab(
        rf"\(b\) \(a\) with (\d+) ink pixels erased \((\d+) nonzero pixels set to 0, disc around row (\d+), "
        rf"col (\d+)\): d\(a,b\) = {NUM} sum = {NUM} per pixel", text)
    assert (int(row), int(col)) == centre
    assert int(n_ink) == int((a[mask] >= 0.5).sum()) >= N_INK
    assert int(n_nz) == int((a[mask] > 0).sum())
    assert d_ab == pytest.approx(((a - b) ** 2).sum(), abs=6e-5)
    assert d_ab_px == pytest.approx(((a - b) ** 2).sum() / 784, abs=6e-6)
    assert 0.02 < d_ab_px < 0.05                             # about 30 ink pixels' worth, near .0387
    d_ac, = grab(rf"\(c\) \(a\) shifted 1/2 px down-right:\s+d\(a,c\) = {NUM}", text)
    d_ad, = grab(rf"\(d\) \(a\) shifted 1 px down-right:\s+d\(a,d\) = {NUM}", text)
    assert d_ac == pytest.approx(d_half[j], abs=6e-5)
    assert d_ad == pytest.approx(((a - shifted(a[None], 1.0)[0]) ** 2).sum(), abs=6e-5)
    assert d_ac < d_ab                                       # the reverse of the paper's ordering
    n_pool, = grab(r"against \d+ non-2s \(the first (\d+) training images\)", text, int)
    ie, label_e, d_ae = grab(rf"\(e\) nearest non-2, training image (\d+) \(label (\d)\): d\(a,e\) = {NUM}", text)
    others = np.flatnonzero(y[:n_pool] != 2)
    d_e = cdist(a.reshape(1, 784), x[others], "sqeuclidean")[0]
    assert int(ie) == others[np.argmin(d_e)] and int(label_e) == y[int(ie)] != 2
    assert d_ae == pytest.approx(d_e.min(), abs=6e-5)
    ratio, = grab(rf"ratio d\(a,c\)/d\(a,b\) = {NUM}", text)
    assert ratio == pytest.approx(d_half[j] / ((a - b) ** 2).sum(), abs=6e-4)


def test_ordering_depends_on_shift_size(run02, mnist, twos):
    """Step 3: for each shift size, how many 2s are farther from their shifted copy than from
    their own erased stroke, and how many have a non-2 closer than the shifted copy."""
    text = run02[0]
    x, y = mnist
    idx, imgs, _ = twos
    n_pool, = grab(r"against \d+ non-2s \(the first (\d+) training images\)", text, int)
    d_er = np.array([((im - erased_stroke(im, N_INK)[0]) ** 2).sum() for im in imgs])
    in_pool = idx < n_pool
    others = np.flatnonzero(y[:n_pool] != 2)
    d_nn = cdist(x[idx[in_pool]], x[others], "sqeuclidean").min(axis=1)
    rows = re.findall(rf"^\s+{NUM}\s+{NUM}\s+(\d+) of (\d+) \(\s*{NUM}%\)\s+(\d+) of (\d+) \(\s*{NUM}%\)$",
                      text, re.M)
    assert [float(r[0]) for r in rows] == [0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
    counts = {}
    for s, med, k_er, n_er, _, k_nn, n_nn, _ in rows:
        d_s = ((imgs - shifted(imgs, float(s))) ** 2).sum(axis=(1, 2))
        assert float(med) == pytest.approx(np.median(d_s), abs=6e-5)
        assert int(n_er) == len(idx) and int(n_nn) == in_pool.sum()
        assert int(k_er) == int((d_s > d_er).sum())
        assert int(k_nn) == int((d_nn < d_s[in_pool]).sum())
        counts[float(s)] = int(k_nn) / int(n_nn), int(k_er) / int(n_er)
    assert counts[0.5][0] == 0 and counts[0.5][1] < 0.01     # half a pixel: almost never the paper's order
    assert counts[1.0][0] > 0.4 and counts[1.0][1] > 0.95    # one pixel: mostly the paper's order


def test_eq1_weights(run02, mnist, twos):
    """Step 4: sigma^2 = d(a,b)/2T makes (b) score e^-T, the shifts score e^(-T d/d(a,b)); the
    count of images closer than (b) and the effective sample size, from cdist."""
    text = run02[0]
    x, _ = mnist
    idx, imgs, d_half = twos
    j = int(np.argsort(d_half)[len(d_half) // 2])
    a = imgs[j]
    d_ab = ((a - erased_stroke(a, N_INK)[0]) ** 2).sum()
    n_pool, = grab(r"against \d+ non-2s \(the first (\d+) training images\)", text, int)
    sigma, = grab(rf"sigma = {NUM} per pixel", text)
    lc, ld = grab(rf"\(c\) half-pixel shift scores e\^{NUM}; \(d\) one-pixel shift scores e\^{NUM}", text)
    n_other, n_closer = grab(r"of (\d+) other training images, (\d+) lie closer than \(b\)", text, int)
    ess, = grab(rf"effective number of samples \(sum w\)\^2/sum w\^2 = {NUM}", text)
    s2 = d_ab / (2 * T)
    assert sigma == pytest.approx(np.sqrt(s2), abs=6e-5)
    assert lc == pytest.approx(-T * d_half[j] / d_ab, abs=6e-4)
    assert ld == pytest.approx(-T * ((a - shifted(a[None], 1.0)[0]) ** 2).sum() / d_ab, abs=6e-4)
    rest = [i for i in range(n_pool) if i != idx[j]]
    d_row = cdist(a.reshape(1, 784), x[rest], "sqeuclidean")[0]
    assert n_other == len(rest) and n_closer == int((d_row < d_ab).sum())
    w = np.exp(-(d_row - d_row.min()) / (2 * s2))
    assert ess == pytest.approx(w.sum() ** 2 / (w @ w), abs=6e-4)


def test_without_mnist_exits_with_the_loaders_message(tmp_path):
    """No files and an unreachable mirror (a closed local port: no network
    touched): exit status 2 and the loader's message, not a traceback."""
    env = dict(os.environ, MPLBACKEND="Agg", MINIVAE_DATA=str(tmp_path / "empty"),
               MINIVAE_MNIST_MIRROR="http://127.0.0.1:9/")
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, str(REPO / "lessons" / "02_pixel_distance.py"), "--quick",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "MINIVAE_DATA" in proc.stderr and "Traceback" not in proc.stderr


def test_exercises_cell():
    bodies = exercise_items("02_pixel_distance.py")
    assert any("python -m minivae exercise" in b for b in bodies) or "minivae exercise" in \
        (REPO / "lessons" / "02_pixel_distance.py").read_text(encoding="utf-8").split("## Exercises")[-1]
