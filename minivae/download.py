"""Atomic, verified downloads with a progress bar (used by `minivae.data`).

Kept apart from `data.py` so that file stays about MNIST; nothing here knows
what is being fetched: the caller passes a `verify` function.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from tqdm import tqdm

CHUNK = 1 << 16   # bytes per read


def download_to(url: str, dest, verify: Callable[[Path], object], timeout: float = 30.0) -> None:
    """Fetch `url` into `dest` so that `dest` appears complete and verified, or not at all.

    The bytes go to a hidden temp file in dest's own directory (same
    filesystem, so `os.replace` is atomic); `verify(tmp_path)` must raise if
    the content is wrong. On any failure -- network error, bad content,
    KeyboardInterrupt -- the temp file is removed and the exception re-raised,
    and an existing `dest` is left untouched.
    `timeout` (seconds) bounds each socket operation, not the whole transfer.
    """
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=dest.name, file=sys.stderr, leave=False) as bar:
                while chunk := r.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            f.flush()
            os.fsync(f.fileno())
        verify(Path(tmp))
        os.chmod(tmp, 0o644)   # mkstemp makes 0600; a data file should be world-readable
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def download_first(urls, dest, verify: Callable[[Path], object], timeout: float = 30.0) -> list:
    """Try `download_to` from each URL in turn; [] once one succeeds, else one reason per URL.

    A failure that is the mirror's fault (network, HTTP, bad content: `verify`
    should raise a RuntimeError or ValueError) moves on to the next URL;
    KeyboardInterrupt and programming errors propagate.
    """
    reasons = []
    for url in urls:
        try:
            download_to(url, dest, verify, timeout)
            return []
        except (OSError, ValueError, RuntimeError, http.client.HTTPException) as e:
            # URLError (an OSError, like timeouts) hides the useful part in .reason.
            reason = e.reason if type(e) is urllib.error.URLError else e
            reasons.append(f"{url}: {reason}")
    return reasons
