"""Atomic, verified, bounded downloads with a progress bar (used by `minivae.data`).

Kept apart from `data.py` so that file stays about MNIST; nothing here knows
what is being fetched: the caller passes a `verify` function and the most
bytes the file can hold.  A mirror cannot make a download run without end:

  * more than `max_bytes` (announced, or sent) is refused;
  * the whole file must arrive within `deadline` seconds (default 10
    minutes), however slowly the bytes trickle; each read waits at most
    `timeout` seconds;
  * a file:// URL must name a regular file: a pipe would wait for ever,
    and a device such as /dev/zero streams for ever.
"""
from __future__ import annotations

import http.client
import os
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Optional

from ..errors import DataError, WriteError
from ..progress import ProgressBar
from .atomic import atomic_write

CHUNK = 1 << 16         # bytes per read
DEADLINE = 600.0        # seconds one file may take to arrive


def _local_file(url):
    """An open binary file for a file:// URL, refused unless it names a regular file."""
    path = urllib.request.url2pathname(urllib.parse.urlparse(url).path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))    # a pipe: no wait
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise DataError("not a regular file (a pipe, a device or a folder); refused")
    return os.fdopen(fd, "rb")


def _open(url, timeout):
    """(a readable response, its announced length or None)."""
    if url.lower().startswith("file://"):
        f = _local_file(url)
        return f, os.fstat(f.fileno()).st_size
    r = urllib.request.urlopen(url, timeout=timeout)
    return r, int(r.headers.get("Content-Length") or 0) or None


def download_to(url: str, dest, verify: Callable[[Path], object], timeout: float = 30.0,
                max_bytes: Optional[int] = None, deadline: float = DEADLINE) -> None:
    """Fetch `url` into `dest` so that `dest` appears complete and verified, or not at all.

    The bytes are written through minivae.files.atomic.atomic_write; `verify(tmp_path)`
    must raise if the content is wrong.  On any failure -- network error, bad
    content, too many bytes, too slow, KeyboardInterrupt -- nothing is left
    behind and an existing `dest` is untouched.  `timeout` (seconds) bounds
    each read; `deadline` the whole transfer; `max_bytes` (None: no bound) its size.
    """
    dest = Path(dest)

    def fetch(f):
        end = time.monotonic() + deadline
        response, total = _open(url, timeout)
        with response as r:
            if max_bytes is not None and total is not None and total > max_bytes:
                raise DataError(f"announces {total:,} bytes, more than the {max_bytes:,} this "
                                "file can hold; refused")
            read = getattr(r, "read1", r.read)          # what has arrived, not a full chunk
            got = 0
            with ProgressBar(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=dest.name, file=sys.stderr, leave=False) as bar:
                while chunk := read(CHUNK):
                    got += len(chunk)
                    if max_bytes is not None and got > max_bytes:
                        raise DataError(f"sent more than the {max_bytes:,} bytes this file can "
                                        "hold; refused")
                    if time.monotonic() > end:
                        raise DataError(f"not complete after {deadline:g} s ({got:,} bytes "
                                        "so far); gave up")
                    f.write(chunk)
                    bar.update(len(chunk))

    atomic_write(dest, fetch, verify)


def download_first(urls, dest, verify: Callable[[Path], object], timeout: float = 30.0,
                   max_bytes: Optional[int] = None, deadline: float = DEADLINE) -> list:
    """Try `download_to` from each URL in turn; [] once one succeeds, else one reason per
    URL, each starting with that URL (the mirror and the file).

    A failure that is the mirror's fault (network, HTTP, bad content: `verify`
    should raise a RuntimeError or ValueError) moves on to the next URL; a
    WriteError (a full disk), KeyboardInterrupt and programming errors propagate.
    """
    reasons = []
    for url in urls:
        try:
            download_to(url, dest, verify, timeout, max_bytes, deadline)
            return []
        except WriteError:
            raise               # this machine's disk, not the mirror: no other mirror helps
        except (OSError, ValueError, RuntimeError, http.client.HTTPException) as e:
            # URLError (an OSError, like timeouts) hides the useful part in .reason.
            reason = e.reason if type(e) is urllib.error.URLError else e
            reasons.append(f"{url}: {reason}")
    return reasons
