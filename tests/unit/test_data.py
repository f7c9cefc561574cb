"""minivae.data: IDX reading and validation, locating and downloading MNIST.
Downloads go to a local http.server, never the internet."""
import functools
import gzip
import hashlib
import os
import re
import shutil
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from minivae import data
from minivae.data import FILES, DataError, find_mnist, load_mnist, read_idx
from minivae.files.download import download_to

ALL = FILES["train"] + FILES["test"]
LABELS = "t10k-labels-idx1-ubyte.gz"   # the smallest file: the one we corrupt
# Per-digit counts of MNIST, as published with the dataset.
COUNTS = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
          "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No user settings or proxies leak into these tests (urllib honours *_proxy)."""
    for var in ("MINIVAE_DATA", "MINIVAE_MNIST_MIRROR", "http_proxy", "HTTP_PROXY",
                "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def _gunzip(path):
    with gzip.open(path, "rb") as f:
        return f.read()


def _labels_payload(mnist_dir, count=None, magic=2049, flip=False):
    """The t10k labels IDX payload, optionally with a wrong header or one label changed."""
    body = bytearray(_gunzip(mnist_dir / LABELS)[8:])
    if flip:
        body[0] = (body[0] + 1) % 10
    return struct.pack(">II", magic, len(body) if count is None else count) + bytes(body)


def _dir_with(tmp_path, mnist_dir, name, content):
    """A dir with three good MNIST files (symlinks) and `content` (bytes) as `name`."""
    d = tmp_path / "mnist"
    d.mkdir()
    for n in ALL:
        if n != name:
            (d / n).symlink_to(mnist_dir / n)
    (d / name).write_bytes(content)
    return d


# --- reading the real files -----------------------------------------------------------

def test_payload_hashes_match_sha256sums(mnist_dir):
    """The pinned constants equal SHA256SUMS, and the files on disk hash to them."""
    sums = {}
    for line in (mnist_dir / "SHA256SUMS").read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split()
            sums[name + ".gz"] = digest
    assert set(sums) == set(ALL)
    for name in ALL:
        assert data.EXPECTED[name][0] == sums[name]
        assert hashlib.sha256(_gunzip(mnist_dir / name)).hexdigest() == sums[name]


def test_read_idx_matches_independent_decode(mnist_dir, tmp_path):
    raw = _gunzip(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert struct.unpack(">IIII", raw[:16]) == (2051, 10000, 28, 28)
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images.ravel(), np.frombuffer(raw, np.uint8, offset=16))
    # An uncompressed copy reads the same (the gzip container is sniffed, not the suffix).
    (tmp_path / "raw-idx").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-idx"), images)
    labels = read_idx(mnist_dir / LABELS)
    assert labels.shape == (10000,) and labels[:3].tolist() == [7, 2, 1]


@pytest.mark.parametrize("split, n, first_label", [("train", 60000, 5), ("test", 10000, 7)])
def test_load_mnist(mnist_dir, split, n, first_label):
    x, y = load_mnist(split, data_dir=mnist_dir, download=False)
    assert x.shape == (n, 784) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert y[0] == first_label
    assert np.bincount(y, minlength=10).tolist() == COUNTS[split]
    # x is exactly the decoded bytes / 255, row-major 28 x 28.
    raw = np.frombuffer(_gunzip(mnist_dir / FILES[split][0]), np.uint8, offset=16)
    assert np.array_equal(x.ravel(), raw.astype(np.float32) / np.float32(255))
    if split == "train":
        assert abs(x.mean(dtype=np.float64) - 0.1307) < 5e-4   # the well-known MNIST pixel mean


def test_load_mnist_cache_is_read_only(mnist_dir):
    x, y = load_mnist("test", data_dir=mnist_dir, download=False)
    again = load_mnist("test", data_dir=mnist_dir, download=False)
    assert again[0] is x and again[1] is y
    with pytest.raises(ValueError):
        x[0, 0] = 0.5
    with pytest.raises(ValueError):
        y[0] = 3
    x64, y64 = load_mnist("test", data_dir=mnist_dir, dtype=np.float64, download=False)
    assert x64.dtype == np.float64 and np.abs(x64 - x).max() < 1e-7
    np.testing.assert_array_equal(y64, y)


def test_mnist_small_fixture(mnist_small, mnist_dir):
    x_train, y_train, x_test, y_test = mnist_small
    assert x_train.shape == (2000, 784) and y_train.shape == (2000,)
    assert x_test.shape == (500, 784) and y_test.shape == (500,)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_array_equal(x_test, load_mnist("test", data_dir=mnist_dir)[0][:500])


def test_load_mnist_rejects_bad_arguments(mnist_dir):
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid", data_dir=mnist_dir)
    with pytest.raises(ValueError, match="dtype"):
        load_mnist("test", data_dir=mnist_dir, dtype=np.uint8)


# --- corrupt files ----------------------------------------------------------------------

CORRUPTIONS = {   # name -> (build the file's bytes, what the message must say)
    "truncated gzip": (lambda d: (d / LABELS).read_bytes()[:2000], "gzip"),
    "unknown magic": (lambda d: gzip.compress(_labels_payload(d, magic=2052)), "magic"),
    "images magic": (lambda d: gzip.compress(_labels_payload(d, magic=2051)), "magic"),
    "too few items": (lambda d: gzip.compress(_labels_payload(d, count=10001)), "truncated"),
    "raw, too few items": (lambda d: _labels_payload(d, count=10001), "truncated"),
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupt_files_raise_data_error(mnist_dir, tmp_path, kind):
    build, says = CORRUPTIONS[kind]
    d = _dir_with(tmp_path, mnist_dir, LABELS, build(mnist_dir))
    with pytest.raises(DataError, match=says) as read_err:
        read_idx(d / LABELS)
    assert LABELS in str(read_err.value)
    with pytest.raises(DataError, match=says) as find_err:
        find_mnist(d, download=False)
    assert LABELS in str(find_err.value)


def test_hash_mismatch_raises_data_error(mnist_dir, tmp_path):
    """One label changed: a well-formed IDX file that only the sha256 can catch."""
    bad = gzip.compress(_labels_payload(mnist_dir, flip=True))
    d = _dir_with(tmp_path, mnist_dir, LABELS, bad)
    assert read_idx(d / LABELS).shape == (10000,)
    for call in (lambda: find_mnist(d, download=False),
                 lambda: load_mnist("test", data_dir=d, download=False)):
        with pytest.raises(DataError, match="sha256") as err:
            call()
        assert LABELS in str(err.value)


def test_wrong_shape_raises_data_error(mnist_dir, tmp_path):
    short = struct.pack(">II", 2049, 9999) + _labels_payload(mnist_dir)[8:8 + 9999]
    d = _dir_with(tmp_path, mnist_dir, LABELS, gzip.compress(short))
    with pytest.raises(DataError, match="shape"):
        find_mnist(d, download=False)


# --- where the files are looked for -----------------------------------------------------

def test_missing_files_without_download_give_one_clear_paragraph(tmp_path):
    with pytest.raises(DataError) as err:
        find_mnist(tmp_path / "nothing", download=False)
    _assert_helpful(str(err.value))
    assert not (tmp_path / "nothing").exists()


def _assert_helpful(msg):
    assert "\n" not in msg and len(msg) < 1500
    for needed in ("MINIVAE_DATA", "--data", *ALL):
        assert needed in msg


def test_explicit_dir_beats_env_beats_default(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MINIVAE_DATA", str(mnist_dir))
    assert find_mnist(download=False) == mnist_dir
    with pytest.raises(DataError, match=re.escape(str(tmp_path))):
        find_mnist(tmp_path, download=False)
    monkeypatch.delenv("MINIVAE_DATA")
    monkeypatch.chdir(tmp_path)
    assert data._default_dir() == tmp_path / "data" / "mnist"       # the current folder's


def test_a_folder_where_a_file_should_be_is_named_and_not_downloaded_over(mnist_dir, tmp_path,
                                                                        monkeypatch):
    d = tmp_path / "mnist"
    d.mkdir()
    for name in ALL[1:]:
        shutil.copy(mnist_dir / name, d / name)
    (d / ALL[0]).mkdir()

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")
    monkeypatch.setattr(data, "download_first", no_download)
    with pytest.raises(DataError) as err:
        find_mnist(d, mirrors=["http://127.0.0.1:9/"])
    assert str(err.value) == (f"{d / ALL[0]} is a folder or other non-file where the MNIST file "
                              f"{ALL[0]} should be; remove it (it is not downloaded over)")


# --- downloading from a local server ----------------------------------------------------

class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(directory) -> base URL of a threaded HTTP server on 127.0.0.1, stopped at teardown."""
    running = []

    def start(directory):
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     functools.partial(_QuietHandler, directory=str(directory)))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_url():
    """A port that is bound but not listening: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.fixture
def silent_url():
    """A port that accepts connections (kernel backlog) but never answers.

    A client without a timeout would wait forever: after 5 s the socket is
    closed, which resets the connection, so a missing timeout fails, not hangs.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        guard = threading.Timer(5.0, s.close)
        guard.start()
        yield f"http://127.0.0.1:{s.getsockname()[1]}/"
        guard.cancel()


def test_download_into_empty_dir(mnist_dir, tmp_path, serve, dead_url):
    target = tmp_path / "new" / "mnist"
    # The dead first mirror is skipped; the second one serves.
    assert find_mnist(target, mirrors=[dead_url, serve(mnist_dir)], timeout=5) == target
    assert sorted(os.listdir(target)) == sorted(ALL)   # no temp files left
    for name in ALL:
        assert hashlib.sha256(_gunzip(target / name)).hexdigest() == data.EXPECTED[name][0]
        assert oct((target / name).stat().st_mode & 0o777) == oct(0o644)
    x, y = load_mnist("test", data_dir=target)
    np.testing.assert_array_equal(y, load_mnist("test", data_dir=mnist_dir, download=False)[1])


def test_a_full_disk_is_reported_as_such_and_not_blamed_on_the_mirrors(tmp_path, monkeypatch):
    """A WriteError (ENOSPC) while saving a download is this machine's problem: it
    propagates from the first mirror, and no other mirror is tried."""
    from minivae.errors import WriteError
    from minivae.files import download
    tried = []

    def full_disk(path, write, verify=None):
        tried.append(path)
        raise WriteError(f"cannot write {path}: No space left on device; nothing was written")
    monkeypatch.setattr(download, "atomic_write", full_disk)
    with pytest.raises(WriteError, match="No space left on device"):
        find_mnist(tmp_path / "mnist", mirrors=["http://127.0.0.1:9/", "http://127.0.0.1:9/"])
    assert len(tried) == 1


def test_mirrors_from_module_list_and_env(mnist_dir, tmp_path, serve, dead_url, monkeypatch):
    """Only t10k labels are missing, so only they are downloaded."""
    good = serve(mnist_dir)
    for i, (module_list, env) in enumerate([([good], None), ([dead_url], good)]):
        target = tmp_path / str(i)
        target.mkdir()
        for n in ALL[:3]:
            (target / n).symlink_to(mnist_dir / n)
        monkeypatch.setattr(data, "MIRRORS", module_list)
        if env:
            monkeypatch.setenv("MINIVAE_MNIST_MIRROR", env)
        assert find_mnist(target) == target
        assert (target / LABELS).is_file() and not (target / LABELS).is_symlink()


@pytest.mark.parametrize("kind, says", [("hash", "sha256"), ("truncated", "gzip")])
def test_corrupt_download_is_rejected_and_leaves_nothing(mnist_dir, tmp_path, serve, kind, says):
    served = tmp_path / "served"
    served.mkdir()
    good_gz = (mnist_dir / LABELS).read_bytes()
    bad = gzip.compress(_labels_payload(mnist_dir, flip=True)) if kind == "hash" else good_gz[:3000]
    (served / LABELS).write_bytes(bad)
    target = tmp_path / "target"
    target.mkdir()
    for n in ALL[:3]:
        (target / n).symlink_to(mnist_dir / n)
    with pytest.raises(DataError, match=says) as err:
        find_mnist(target, mirrors=[serve(served)], timeout=5)
    _assert_helpful(str(err.value))
    assert sorted(os.listdir(target)) == sorted(ALL[:3])   # no partial or temp file


def test_dead_server_gives_clear_message(tmp_path, dead_url):
    start = time.monotonic()
    with pytest.raises(DataError, match="refused") as err:
        find_mnist(tmp_path, mirrors=[dead_url], timeout=5)
    assert time.monotonic() - start < 5
    _assert_helpful(str(err.value))
    assert os.listdir(tmp_path) == []


def test_silent_server_times_out(tmp_path, silent_url):
    start = time.monotonic()
    with pytest.raises(DataError, match="timed out"):
        find_mnist(tmp_path, mirrors=[silent_url], timeout=0.3)
    assert time.monotonic() - start < 5
    assert os.listdir(tmp_path) == []


def test_interrupted_download_leaves_nothing(mnist_dir, tmp_path, serve):
    def interrupt(path):
        assert path.parent == tmp_path and path.stat().st_size > 0   # the temp file is complete
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_to(serve(mnist_dir) + LABELS, tmp_path / LABELS, interrupt, timeout=5)
    assert os.listdir(tmp_path) == []


# --- hostile mirrors and huge files: bounded in bytes, time and memory --------------------

class _HostileHandler(BaseHTTPRequestHandler):
    """GET answers as server.behaviour says: "endless" zeros, an announced "huge" length,
    a "drip" of one byte every 0.1 s, or the bytes of server.body."""

    def do_GET(self):
        how = self.server.behaviour
        self.send_response(200)
        if how == "huge":
            self.send_header("Content-Length", str(2 ** 40))
        elif how == "body":
            self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        try:
            if how == "body":
                self.wfile.write(self.server.body)
            while how in ("endless", "drip"):
                self.wfile.write(b"\0" * (2 ** 16 if how == "endless" else 1))
                self.wfile.flush()
                if how == "drip":
                    time.sleep(0.1)
        except OSError:                 # the client gave up: what the test wants
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    """hostile(behaviour, body=b"") -> base URL of a mirror that misbehaves so."""
    servers = []

    def start(behaviour, body=b""):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileHandler)
        server.daemon_threads, server.behaviour, server.body = True, behaviour, body
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _labels_missing(tmp_path, mnist_dir):
    target = tmp_path / "target"
    target.mkdir()
    for n in ALL[:3]:
        (target / n).symlink_to(mnist_dir / n)
    return target


@pytest.mark.parametrize("behaviour, says", [
    ("endless", "sent more than the 1,058,584 bytes this file can hold; refused"),
    ("huge", "announces 1,099,511,627,776 bytes, more than the 1,058,584 this file can hold"),
    ("bomb", "decompresses to more than the 10,008 bytes it can hold"),
])
def test_a_mirror_cannot_send_more_than_the_file_can_hold(mnist_dir, tmp_path, hostile,
                                                          behaviour, says):
    body = gzip.compress(b"\0" * 2 ** 27) if behaviour == "bomb" else b""  # 128 MB in 130 kB
    mirror = hostile("body" if behaviour == "bomb" else behaviour, body)
    target = _labels_missing(tmp_path, mnist_dir)
    start = time.monotonic()
    with pytest.raises(DataError) as err:
        find_mnist(target, mirrors=[mirror], timeout=5)
    assert time.monotonic() - start < 5
    assert f"{mirror}{LABELS}: " in str(err.value) and says in str(err.value), err.value
    assert sorted(os.listdir(target)) == sorted(ALL[:3])          # nothing left behind


def test_a_mirror_that_trickles_meets_the_deadline(mnist_dir, tmp_path, hostile, monkeypatch):
    monkeypatch.setattr(data, "DEADLINE", 1.0)
    mirror = hostile("drip")
    target = _labels_missing(tmp_path, mnist_dir)
    start = time.monotonic()
    with pytest.raises(DataError) as err:
        find_mnist(target, mirrors=[mirror], timeout=5)
    assert time.monotonic() - start < 3
    assert re.search(rf"{re.escape(mirror + LABELS)}: not complete after 1 s \(\d+ bytes so far\); "
                     "gave up", str(err.value)), err.value
    assert sorted(os.listdir(target)) == sorted(ALL[:3])


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_file_mirror_must_hold_regular_files(mnist_dir, tmp_path, kind):
    served = tmp_path / "served"
    served.mkdir()
    if kind == "fifo":
        os.mkfifo(served / LABELS)                  # opening it to read would wait for ever
    elif kind == "device":
        (served / LABELS).symlink_to("/dev/zero")   # endless
    else:
        (served / LABELS).mkdir()
    target = _labels_missing(tmp_path, mnist_dir)
    start = time.monotonic()
    with pytest.raises(DataError, match=rf"file://{served}/{LABELS}: not a regular file"):
        find_mnist(target, mirrors=[f"file://{served}/"], timeout=5)
    assert time.monotonic() - start < 5


def test_a_huge_sparse_file_is_refused_by_name_before_it_is_read(mnist_dir, tmp_path):
    name = "train-images-idx3-ubyte.gz"
    d = _dir_with(tmp_path, mnist_dir, name, b"")
    with open(d / name, "r+b") as f:
        f.truncate(30 * 2 ** 30)                    # 30 GB of holes: no disk, no memory
    for call in (lambda: find_mnist(d, download=False), lambda: load_mnist("train", d),
                 lambda: read_idx(d / name)):
        with pytest.raises(DataError) as err:
            call()
        assert str(err.value).startswith(f"{d / name}: 32,212,254,720 bytes, more than {name} "
                                          "can be (48,088,592 at most)"), err.value


def test_a_local_gzip_bomb_is_refused_by_name(mnist_dir, tmp_path):
    d = _dir_with(tmp_path, mnist_dir, LABELS, gzip.compress(b"\0" * 2 ** 27))
    with pytest.raises(DataError, match=rf"^{re.escape(str(d / LABELS))}: decompresses to more "
                                        r"than the 10,008 bytes"):
        find_mnist(d, download=False)
