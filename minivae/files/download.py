"""Atomic, verified downloads with a progress bar (used by `minivae.data`).

Kept apart from `data.py` so that file stays about MNIST; nothing here knows
what is being fetched: the caller passes a `verify` function.
"""
from __future__ import annotations

import http.client
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from ..errors import WriteError
from ..progress import ProgressBar
from .atomic import atomic_write

CHUNK = 1 << 16   # bytes per read


def download_to(url: str, dest, verify: Callable[[Path], object], timeout: float = 30.0) -> None:
    """Fetch `url` into `dest` so that `dest` appears complete and verified, or not at all.

    The bytes are written through minivae.files.atomic.atomic_write; `verify(tmp_path)`
    must raise if the content is wrong.  On any failure -- network error, bad
    content, KeyboardInterrupt -- nothing is left behind and an existing `dest`
    is untouched.  `timeout` (seconds) bounds each socket operation, not the
    whole transfer.
    """
    dest = Path(dest)

    def fetch(f):
        with urllib.request.urlopen(url, timeout=timeout) as r:
            total = int(r.headers.get("Content-Length") or 0) or None
            with ProgressBar(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=dest.name, file=sys.stderr, leave=False) as bar:
                while chunk := r.read(CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))

    atomic_write(dest, fetch, verify)


def download_first(urls, dest, verify: Callable[[Path], object], timeout: float = 30.0) -> list:
    """Try `download_to` from each URL in turn; [] once one succeeds, else one reason per URL.

    A failure that is the mirror's fault (network, HTTP, bad content: `verify`
    should raise a RuntimeError or ValueError) moves on to the next URL; a
    WriteError (a full disk), KeyboardInterrupt and programming errors propagate.
    """
    reasons = []
    for url in urls:
        try:
            download_to(url, dest, verify, timeout)
            return []
        except WriteError:
            raise               # this machine's disk, not the mirror: no other mirror helps
        except (OSError, ValueError, RuntimeError, http.client.HTTPException) as e:
            # URLError (an OSError, like timeouts) hides the useful part in .reason.
            reason = e.reason if type(e) is urllib.error.URLError else e
            reasons.append(f"{url}: {reason}")
    return reasons
