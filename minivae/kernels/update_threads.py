"""The optimizer update on two threads, where that helps.

The update is one pass over every parameter, its gradient and the moments
(28 bytes per parameter for Adam in float32), bound by memory bandwidth,
which one core does not exhaust.  So the numba backend can split the pass
over the caller and one helper thread.  Whether it does is the thread
policy's choice (threads.py): not beside OpenBLAS workers that spin on the
second core, where a second thread gained nothing.  Each element's update
reads and writes only its own index, so the split changes no number.

Python threads, not a Numba thread pool: the update kernels release the GIL
(jit.py: nogil=True), the helper waits on a semaphore without spinning, and
no second OpenMP/TBB pool starts beside OpenBLAS's (an idle Numba pool
slowed OpenBLAS's products, and PyTorch's by 25%, in the benchmark).
"""
import os
import threading

import numba

from ..errors import ArgumentError


class Halves:
    """Run an elementwise @jit(nogil) kernel over the two halves of its 1-D arrays at once:
    the second half on a helper thread, the first on the caller.

    halves(kernel, arrays, scalars) computes exactly kernel(*arrays, *scalars),
    element for element, as each element's update reads and writes only its
    own index; an array given as None (one the kernel does without) goes to
    both halves as None.  Arrays below MIN_SIZE elements, or a call while another thread
    is using the helper, run on the caller alone.  The helper thread starts on
    first use and again after a fork (a child process inherits no threads).
    """
    MIN_SIZE = 1 << 16          # below this the hand-off (tens of µs) costs more than it saves

    def __init__(self):
        self._busy = threading.Lock()
        self._go, self._done = threading.Semaphore(0), threading.Semaphore(0)
        self._job = self._error = None
        self._helper = None

    def _serve(self):
        while True:
            self._go.acquire()
            kernel, args = self._job
            try:
                kernel(*args)
            except BaseException as e:          # re-raised on the caller's thread
                self._error = e
            self._done.release()

    def __call__(self, kernel, arrays, scalars):
        n = arrays[0].size
        if n < self.MIN_SIZE or not self._busy.acquire(blocking=False):
            kernel(*arrays, *scalars)
            return
        try:
            if self._helper is None:
                self._helper = threading.Thread(target=self._serve, name="minivae-update",
                                                daemon=True)
                self._helper.start()
            mid = n // 2 - n // 2 % 16          # a cache-line boundary in both dtypes
            self._job = (kernel, (*(_part(a, slice(mid, None)) for a in arrays), *scalars))
            self._go.release()
            kernel(*(_part(a, slice(mid)) for a in arrays), *scalars)
            self._done.acquire()
            error, self._error = self._error, None
            if error is not None:
                raise error
        finally:
            self._busy.release()


def _part(a, part):
    return None if a is None else a[part]


def one_thread(kernel, arrays, scalars):
    kernel(*arrays, *scalars)


run = one_thread        # how the optimizer twins run their kernel: one_thread or a Halves


def threads_now():
    return 2 if isinstance(run, Halves) else 1


def set_threads(n):
    """Run the optimizer updates on n threads, 1 or 2.  Returns the count in effect before."""
    global run
    before = threads_now()
    if n not in (1, 2):
        raise ArgumentError(f"update threads must be 1 or 2, got {n!r}")
    if n != before:
        run = Halves() if n == 2 else one_thread
    return before


def _after_fork():
    global run
    if isinstance(run, Halves):
        run = Halves()      # the parent's helper thread did not come along


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def thread_info():
    """Numba's thread count and its threading layer if anything started one (nothing in
    minivae does), and the optimizer update's threads."""
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not started"
    return {"numba_threads": numba.get_num_threads(), "numba_layer": layer,
            "update_threads": threads_now()}
