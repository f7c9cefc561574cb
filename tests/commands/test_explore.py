"""`python -m minivae explore`: a 2-D-latent checkpoint becomes a page; any other is refused in
one line that says what the explorer needs, before MNIST is read."""
import base64
import json
import re
import subprocess
import sys

from minivae.commands.cli import main
from minivae.data import load_mnist
from minivae.files.checkpoint import save_checkpoint
from minivae.model import VAE
from minivae.optim import Adam


def checkpoint(path, z_dim):
    model = VAE(x_dim=784, hidden=(16,), z_dim=z_dim, seed=1)
    save_checkpoint(path, model, Adam(model.flat_params, model.flat_grads), {}, 2, {}, [])
    return path, model


def test_a_2d_checkpoint_becomes_a_page_over_the_test_digits(tmp_path, mnist_dir, capsys):
    ckpt, model = checkpoint(tmp_path / "last.npz", 2)
    out = tmp_path / "site"
    assert main(["explore", "--checkpoint", str(ckpt), "--out", str(out), "--name", "walk",
                 "--data", str(mnist_dir), "--subset", "300"]) == 0
    said = capsys.readouterr().out
    assert re.fullmatch(rf"saved {re.escape(str(out / 'walk.html'))} and walk_weights\.js \(\d\.\d MB\): "
                        r"open the page in a browser\n", said), said
    line = (out / "walk_weights.js").read_text().splitlines()[1]
    w = json.loads(line.split(" = ", 1)[1].rstrip(";"))
    assert w["points"] == 300 and w["about"] == "VAE 784-16-2 from last.npz, epoch 2"
    _, y = load_mnist("test", mnist_dir)
    # the last 300 bytes are the labels: those of the first 300 test digits
    assert list(base64.b64decode(w["data"])[-300:]) == list(y[:300])
    assert (out / "walk.html").is_file()


def test_a_30d_checkpoint_is_refused_in_one_line_before_mnist_is_read(tmp_path):
    ckpt, _ = checkpoint(tmp_path / "last.npz", 30)
    proc = subprocess.run([sys.executable, "-m", "minivae", "explore", "--checkpoint", str(ckpt),
                           "--out", str(tmp_path / "x"), "--data", str(tmp_path / "no-mnist-here")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"minivae explore: error: checkpoint {ckpt} has a 30-D latent and 784 pixels: the explorer "
        "needs a VAE with a 2-D latent (z_dim = 2) decoding 28 × 28 images (x_dim = 784); train one "
        "with `python -m minivae train --z-dim 2` or lessons/07b_latent_2d.py"]
    assert not (tmp_path / "x").exists()


def test_bad_flags_are_one_line(tmp_path, capsys, mnist_dir):
    assert main(["explore", "--checkpoint", str(tmp_path / "none.npz")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"minivae explore: error: {tmp_path / 'none.npz'}: no such checkpoint file"]
    assert main(["explore", "--checkpoint", "x.npz", "--subset", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--subset must be a positive integer" in err[0]
    ckpt, _ = checkpoint(tmp_path / "last.npz", 2)
    assert main(["explore", "--checkpoint", str(ckpt), "--name", "../up", "--data", str(mnist_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give a file name without a folder" in err[0]


def test_explore_writes_over_its_own_page_only(tmp_path, capsys, mnist_dir):
    """The overwrite rule (files/overwrite.py): a page and weights file explore wrote are
    replaced; a student's notes under the page's name need --force; the checkpoint never."""
    ckpt, _ = checkpoint(tmp_path / "last.npz", 2)
    args = ["explore", "--checkpoint", str(ckpt), "--data", str(mnist_dir), "--subset", "50"]
    out = tmp_path / "page"
    assert main([*args, "--out", str(out)]) == 0
    assert main([*args, "--out", str(out)]) == 0                          # its own files again
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "explorer.html").write_text("<html>my notes</html>")
    capsys.readouterr()
    assert main([*args, "--out", str(notes)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "explorer.html exists and is not an explorer page" in err[0], err
    assert (notes / "explorer.html").read_text() == "<html>my notes</html>"
    assert not (notes / "explorer_weights.js").exists()                  # refused before any write
    assert main([*args, "--out", str(notes), "--force"]) == 0
    assert (notes / "explorer_weights.js").is_file()
    before = ckpt.read_bytes()
    assert main([*args, "--out", str(tmp_path), "--name", "last", "--force"]) == 0  # last.html, not .npz
    assert ckpt.read_bytes() == before
