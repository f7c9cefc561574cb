"""No command writes over a file it did not make (minivae.files.overwrite).

Every command that writes a file the user names writes a new file, or one
of its own kind recognised by content; never an input of the same command,
a checkpoint, a history or a source file; anything else only with --force.
Each refusal is one line naming the file, and the file is left as it was.
"""
import hashlib
import json
import os

import pytest

from minivae.commands.cli import main
from minivae.errors import ArgumentError
from minivae.files.overwrite import check_target

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
RESULTS = json.dumps({"score": 3.0, "execution_time": 1.0, "output": "", "tests": []})
BENCH = json.dumps({"kernels": [], "presets": {}, "steps": 3, "repeats": 2})
NOTEBOOK = json.dumps({"cells": [], "metadata": {"minivae": {"lesson": "01_latent_variables"}},
                       "nbformat": 4, "nbformat_minor": 5})
HISTORY_JSON = json.dumps([{"epoch": 1, "train_running_neg_elbo": 180.0}])
SUFFIX = {"png": ".png", "results": ".json", "bench": ".json", "notebook": ".ipynb"}


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind, content", [("png", PNG), ("results", RESULTS), ("bench", BENCH),
                                           ("notebook", NOTEBOOK)])
def test_a_new_file_or_one_of_the_commands_own_kind_may_be_written(tmp_path, kind, content):
    check_target(tmp_path / f"new{SUFFIX[kind]}", kind, "--out")
    check_target(tmp_path / "missing" / f"new{SUFFIX[kind]}", kind, "--out")   # its folder: the caller's
    own = tmp_path / f"own{SUFFIX[kind]}"
    own.write_bytes(content.encode() if isinstance(content, str) else content)
    check_target(own, kind, "--out")


@pytest.mark.parametrize("name, content, says", [
    ("last.npz", b"PK\x03\x04rest of a zip", "is a checkpoint or other archive"),
    ("history.json", HISTORY_JSON, "is a training history"),
    ("history.csv", "epoch,train_running_neg_elbo\n1,180.0\n", "is a training history"),
    ("mywork.py", "def f():\n    return 1\n", "is a source file"),
    ("mywork.ipynb", '{"cells": [], "metadata": {}}', "is a source file"),
    ("run.sh", "#!/bin/sh\necho hi\n", "is a script"),
])
def test_checkpoints_histories_and_sources_are_refused_even_with_force(tmp_path, name, content,
                                                                       says):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    for force in (False, True):
        with pytest.raises(ArgumentError) as err:
            check_target(path, "png", "--out", force=force)
        assert str(err.value) == (f"--out {path} exists and {says}, which is never written "
                                  "over; give another file name")


@pytest.mark.parametrize("kind, other", [("png", RESULTS), ("results", PNG), ("bench", RESULTS),
                                         ("results", BENCH), ("png", "my notes\n")])
def test_another_file_needs_force(tmp_path, kind, other):
    path = tmp_path / f"target{SUFFIX[kind]}"
    path.write_bytes(other.encode() if isinstance(other, str) else other)
    with pytest.raises(ArgumentError, match=r"exists and is not .*; give another file name, or "
                                            r"pass --force to replace it"):
        check_target(path, kind, "--json")
    check_target(path, kind, "--json", force=True)


@pytest.mark.parametrize("kind, name", [("png", "samples.jpg"), ("png", "samples"),
                                        ("png", "samples.png.txt"), ("results", "results.txt"),
                                        ("bench", "bench.csv"), ("notebook", "03.py.txt")])
def test_a_name_that_says_another_format_is_refused_even_with_force(tmp_path, kind, name):
    new, old = tmp_path / "new" / name, tmp_path / name
    (tmp_path / "new").mkdir()
    old.write_text("my notes\n")
    for path in (new, old):
        for force in (False, True):
            with pytest.raises(ArgumentError) as err:
                check_target(path, kind, "--out", force=force)
            assert str(err.value).startswith(f"--out {path} does not end in {SUFFIX[kind]}, and "
                                             "the file written is ")
    check_target(tmp_path / f"NEW{SUFFIX[kind].upper()}", kind, "--out")    # any case


def test_an_input_of_the_command_is_refused_even_as_its_own_kind(tmp_path):
    png = tmp_path / "in.png"
    png.write_bytes(PNG)
    link = tmp_path / "link.png"
    link.symlink_to(png)
    for target in (png, link):
        with pytest.raises(ArgumentError, match=f"--out {target} is {png}, which this command "
                                                "reads; give another file name"):
            check_target(target, "png", "--out", inputs=[png], force=True)


def test_folders_and_special_files_are_refused(tmp_path):
    with pytest.raises(ArgumentError, match="is a folder; give the path of a file"):
        check_target(tmp_path, "png", "--out")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    with pytest.raises(ArgumentError, match="is a special file"):    # never opened: no hang
        check_target(fifo, "png", "--out", force=True)


# -- the commands --------------------------------------------------------------------------
def one_line(capsys):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_sample_never_writes_over_its_checkpoint_history_or_a_source(tiny_run, tmp_path,
                                                                   capsys):
    ckpt = tiny_run
    source = tmp_path / "mywork.py"
    source.write_text("x = 1\n")
    for target in (ckpt / "last.npz", ckpt / "history.json", ckpt / "history.csv", source):
        before = sha(target)
        for force in ([], ["--force"]):
            assert main(["sample", "--checkpoint", str(ckpt / "last.npz"), "--out", str(target),
                         "--n", "4", *force]) == 2
            assert f"minivae sample: error: --out {target} " in one_line(capsys)
        assert sha(target) == before
    png = tmp_path / "samples.png"
    for _ in range(2):                          # its own PNG, again and again
        assert main(["sample", "--checkpoint", str(ckpt / "last.npz"), "--out", str(png),
                     "--n", "4"]) == 0
    jpg = tmp_path / "samples.jpg"
    for force in ([], ["--force"]):             # PNG bytes under a .jpg name: refused
        assert main(["sample", "--checkpoint", str(ckpt / "last.npz"), "--out", str(jpg),
                     "--n", "4", *force]) == 2
        assert f"--out {jpg} does not end in .png" in one_line(capsys) and not jpg.exists()
    notes = tmp_path / "notes.png"
    notes.write_text("my notes\n")
    assert main(["sample", "--checkpoint", str(ckpt / "last.npz"), "--out", str(notes),
                 "--n", "4"]) == 2
    assert "pass --force to replace it" in one_line(capsys) and notes.read_text() == "my notes\n"
    assert main(["sample", "--checkpoint", str(ckpt / "last.npz"), "--out", str(notes),
                 "--n", "4", "--force"]) == 0
    assert notes.read_bytes().startswith(PNG[:8])


def test_check_never_writes_its_json_over_the_file_it_grades(tmp_path, capsys):
    work = tmp_path / "mywork.py"
    work.write_text("EXERCISE = 1\n")
    before = sha(work)
    for argv in (["check", str(work), "--json", str(work)],
                 ["check", str(tmp_path), "--json", str(work), "--force"],
                 ["check", "99", "--json", str(work)]):      # a usage error writes no JSON there
        assert main(argv) == 2
        assert f"--json {work} " in one_line(capsys)
        assert sha(work) == before and sorted(p.name for p in tmp_path.iterdir()) == ["mywork.py"]


def test_bench_refuses_before_it_times_anything(tmp_path, capsys):
    notes = tmp_path / "notes.json"
    notes.write_text('{"my": "notes"}')
    assert main(["bench", "--quick", "--json", str(notes)]) == 2
    assert one_line(capsys) == (f"minivae bench: error: --json {notes} exists and is not a JSON "
                                "file of bench; give another file name, or pass --force to "
                                "replace it\n")
    assert notes.read_text() == '{"my": "notes"}'


def test_notebooks_write_over_their_own_lesson_notebooks_only(tmp_path, capsys):
    pytest.importorskip("jupytext")
    assert main(["notebooks", "01", "--out", str(tmp_path)]) == 0
    target = tmp_path / "01_latent_variables.ipynb"
    assert json.loads(target.read_text())["metadata"]["minivae"] == {"lesson": "01_latent_variables"}
    assert main(["notebooks", "01", "--out", str(tmp_path)]) == 0        # again: its own
    target.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    capsys.readouterr()
    assert main(["notebooks", "01", "--out", str(tmp_path)]) == 2
    assert f"--out {target} exists and is a source file" in one_line(capsys)
