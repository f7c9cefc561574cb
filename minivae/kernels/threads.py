"""The thread policy: how many threads a training run uses, and how the idle ones wait.

Three choices are made together, when a run starts (`train()`, and `bench`
for each network it times), and said in the run's header; during the run,
watch.py times them again when its steps say that a load arrived or may
have left:

  blas     threads that split each matrix product (NumPy's OpenBLAS)
  wait     how OpenBLAS's idle workers wait for the next product: nap
           (sleep after 2¹⁶ clock ticks, tens of µs) or spin (poll for 2²⁸
           ticks, about 0.1 s, OpenBLAS's own default)
  update   threads for the numba backend's optimizer update, 1 or 2
           (update_threads.py)

No one setting is fastest everywhere; on an AMD EPYC Zen 4 with 2 cores:

  * A step's products are small (batch 100), and splitting one over 2
    threads pays only if its hand-off is cheap.  Workers that spin take the
    next product at once; napping ones are woken through the kernel first,
    which made PyTorch's example network (784-400-20) 30% slower than with
    spinning ones, and 10% slower than on one thread.
  * A spinning worker holds its core, so the optimizer update, a pass
    through memory that a second core speeds up, runs on one thread beside
    it; with napping workers it takes both cores.  On the paper's network
    (784-1000-500-250-30) the two come out about level, both 1.4–1.5× faster
    than one BLAS thread.
  * On a busy machine a product split over 2 threads waits for the slower
    one, which waits for the scheduler: with other programs running, both
    2-thread settings took 7 to 9 times as long as one thread.  The same
    held for other programs running at nice 19.

So the policy measures.  With two or more cores to use it times a few
training steps of a scratch copy of the model (the caller's `run_steps`)
under each candidate setting, interleaved: one BLAS thread, and all the
cores with napping and with spinning workers.  That measures the network,
the machine and the load when the run starts, in well under a second.  The
fastest wins; a setting with more BLAS threads only when it is more than
MARGIN faster than one with fewer, as those are the ones a load arriving
later hurts most.  Around that:

  1. A variable the user set wins: OPENBLAS_NUM_THREADS (or GOTO_NUM_THREADS,
     OMP_NUM_THREADS, which OpenBLAS reads after it) fixes the BLAS threads
     as OpenBLAS read them, OPENBLAS_THREAD_TIMEOUT the wait, and
     NUMBA_NUM_THREADS the update's threads (at most 2).
  2. The cores to use are those the process may run on (os.sched_getaffinity)
     within its CPU quota (cgroup v2 cpu.max; v1 cpu.cfs_quota_us over
     cpu.cfs_period_us: what containers and JupyterHub set), rounded down.
     One core: one thread for everything, nothing to measure.
  3. The update runs on 2 threads when 2 cores are there, except beside
     spinning workers.  It never changes the numbers (update_threads.py).
  4. The BLAS threads can change the last bits of a product (OpenBLAS picks
     a different kernel for a product it splits), and training carries them
     on; a resumed run therefore keeps the count it was trained with (the
     checkpoint records it), and `OPENBLAS_NUM_THREADS=N` makes two fresh runs
     agree bit for bit.  The wait and the update change no bits.

Without OpenBLAS (NumPy built on another BLAS) the BLAS is left alone and
the update runs on one thread.  Importing minivae changes nothing: the
policy acts when a run starts (openblas.py says how, whatever was imported
first).  A loop of your own can call settle(run_steps) the same way.
"""
import statistics
import time
from typing import NamedTuple, Optional

from .. import environment
from . import cores, openblas

NAP, SPIN = 16, openblas.DEFAULT_TIMEOUT    # OPENBLAS_THREAD_TIMEOUT: 2¹⁶ or 2²⁸ ticks
NAPS_UP_TO = 20             # a timeout this low (2²⁰ ticks, under a millisecond) counts as napping
MARGIN = 0.05               # more BLAS threads must be this much faster to be chosen
ROUNDS = 5                  # measuring: rounds of one timed step per candidate
DROP = 3.0                  # a candidate this many times slower than the best stops being timed
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


class Setting(NamedTuple):
    blas: Optional[int]         # threads for matrix products; None: as OpenBLAS has them
    wait: Optional[int]         # OpenBLAS's timeout N (2ᴺ ticks); None: unknown or no matter
    update: int                 # threads for the numba optimizer update


class Policy(NamedTuple):
    setting: Setting
    why: str                    # how it was chosen, for the run's header
    seconds: Optional[dict] = None  # {Setting: seconds per step} as timed (None: not timed)


class Machine(NamedTuple):
    cores: int                  # usable: affinity within the quota, rounded down, at least 1
    blas: Optional[int]         # OpenBLAS's threads now; None: no OpenBLAS to steer
    wait: Optional[int]         # its timeout now; None: cannot be changed


class User(NamedTuple):
    blas: Optional[tuple]       # ("OPENBLAS_NUM_THREADS", 2): the variable that fixes them
    wait: Optional[int]         # OPENBLAS_THREAD_TIMEOUT when set
    update: Optional[int]       # NUMBA_NUM_THREADS when set


# --- the facts ----------------------------------------------------------------------
def user_settings():
    """The thread variables the user set (User), each checked: whole numbers only.  Of the
    BLAS ones, the first set in OpenBLAS's order counts."""
    blas = None
    for name in BLAS_VARS:
        value = environment.whole_number(name, "threads for matrix products; 0: OpenBLAS's "
                                         "default, one per core")
        if value is not None and blas is None:
            blas = (name, value)
    wait = environment.whole_number(openblas.TIMEOUT_VAR, "OpenBLAS's idle threads sleep after "
                                    "2^N clock ticks; 4-30, 0: its default 28")
    update = environment.whole_number("NUMBA_NUM_THREADS", "threads for numba's parallel loops",
                                      empty_is_unset=False, least=1)
    return User(blas, wait, update)


def machine():
    """The Machine as it is now."""
    blas = openblas.find()
    return Machine(cores.usable(), blas and blas.threads(),
                   blas.timeout() if blas and blas.steers_timeout else None)


# --- the choice ----------------------------------------------------------------------
def update_count(blas, wait, cores, user):
    """The update's threads: NUMBA_NUM_THREADS if set (at most 2), else 2 when 2 cores are
    there and no BLAS worker spins on the second (one BLAS thread, or napping workers)."""
    if user.update is not None:
        return min(user.update, 2)
    quiet = blas == 1 or (wait is not None and wait <= NAPS_UP_TO)
    return 2 if cores >= 2 and quiet else 1


def candidates(m, user, keep_blas=None):
    """The settings worth timing on Machine m, for User user (one: nothing to time).

    keep_blas: the BLAS threads a resumed run was trained with (rule 4)."""
    if m.blas is None:                                  # not OpenBLAS: nothing to steer
        return [Setting(None, None, update_count(None, None, m.cores, user))]
    if user.blas is not None:
        counts = [user.blas[1] or m.cores]              # 0: OpenBLAS's default, one per core
    elif keep_blas is not None:
        counts = [keep_blas]
    else:
        counts = sorted({1, min(2, m.cores), m.cores})
    if m.wait is None:
        waits = [None]                                  # cannot be steered: as it is
    elif user.wait is not None:
        waits = [openblas.as_read(user.wait)]
    else:
        waits = [NAP, SPIN]
    out = []
    for n in counts:            # one thread: no worker waits
        for wait in ([None] if n == 1 else waits):
            out.append(Setting(n, wait, update_count(n, wait, m.cores, user)))
    return out


def choose(seconds):
    """The setting to run, given {Setting: seconds per step}: the fastest, or one with
    fewer BLAS threads that is within MARGIN of it."""
    best = min(seconds.values())
    near = [s for s, t in seconds.items() if t <= (1 + MARGIN) * best]
    return min(near, key=lambda s: (s.blas, seconds[s]))


# --- acting on it ----------------------------------------------------------------------
def apply(setting):
    """Make `setting` the one in force (call it while no matrix product runs)."""
    blas = openblas.find()
    if blas is not None:
        if setting.blas is not None:
            blas.set_threads(setting.blas)
        if setting.wait is not None:
            blas.set_timeout(setting.wait)
    try:
        from . import update_threads
    except ImportError:         # no numba: the numpy backend's update is NumPy's, one thread
        return
    update_threads.set_threads(setting.update)


class Trial:
    """Candidate settings timed in turn, one step at a time (measure(), and watch.py during
    a run): `rounds` rounds in which each setting still in, in rotating order, times one
    step.  From the second round on, a setting whose fastest step was DROP times slower
    than the best median so far (known ones included) is not timed again: a single
    stalled step (a worker the scheduler was late to wake) drops nothing.

    known: {Setting: seconds per step} measured otherwise, which are compared with but
    not timed (a run's recent steps under the setting in force)."""

    def __init__(self, options, rounds=ROUNDS, known=None):
        self.known = dict(known or {})
        self.times = {s: [] for s in options}
        self.alive, self.rounds, self.round = list(options), rounds, 0
        self.queue = self._order()

    def _order(self):
        r, alive = self.round, self.alive
        return alive[r % len(alive):] + alive[:r % len(alive)] if alive else []

    @property
    def done(self):
        return self.round >= self.rounds or not self.alive

    def next(self):
        """The setting whose step is timed next."""
        return self.queue[0]

    def record(self, seconds):
        """The step of next() took `seconds`."""
        self.times[self.queue.pop(0)].append(seconds)
        if not self.queue:
            if self.round:
                best = min([statistics.median(self.times[s]) for s in self.alive]
                           + list(self.known.values()))
                self.alive = [s for s in self.alive if min(self.times[s]) <= DROP * best]
            self.round += 1
            self.queue = self._order()

    def seconds(self):
        """{Setting: median seconds per step}, the known ones included."""
        return {**self.known, **{s: statistics.median(ts) for s, ts in self.times.items()}}


def measure(options, run_steps, rounds=ROUNDS, clock=time.perf_counter):
    """{Setting: seconds per step of run_steps(n)} for each of `options`: one untimed step
    first (under the first option), then a Trial of `rounds` rounds."""
    apply(options[0])
    run_steps(1)                        # the scratch model's memory paged in
    trial = Trial(options, rounds)
    while not trial.done:
        apply(trial.next())
        t = clock()
        run_steps(1)
        trial.record(clock() - t)
    return trial.seconds()


def settle(run_steps=None, keep_blas=None):
    """Choose the setting for a run, put it in force, and return the Policy.

    run_steps(n): n training steps of a scratch copy of the run's model (None: nothing
    is timed, and of the candidates the one with the fewest BLAS threads is taken).
    keep_blas: the BLAS threads the run was trained with, when it is resumed.
    """
    user, m = user_settings(), machine()
    keep = keep_blas if keep_blas is not None and keep_blas <= m.cores else None
    options = candidates(m, user, keep)
    if len(options) == 1 or run_steps is None:
        seconds, chosen = None, min(options, key=lambda s: s.blas or 0)
    else:
        seconds = measure(options, run_steps)
        chosen = choose(seconds)
    apply(chosen)
    return Policy(chosen, _why(m, user, keep_blas, keep, seconds), seconds)


def _why(m, user, keep_blas, keep, seconds):
    said = [f"{m.cores} core{'s' if m.cores > 1 else ''} to use"]
    if m.blas is None:
        said.append("NumPy's BLAS is not OpenBLAS: left as it is")
    said += [f"{name}={value}" for name, value in (
        user.blas or (None, None), (openblas.TIMEOUT_VAR, user.wait),
        ("NUMBA_NUM_THREADS", user.update))
        if value is not None]
    if keep is not None:
        said.append("BLAS threads as the run was trained, so that it continues bit for bit")
    elif keep_blas is not None:
        said.append(f"it was trained on {keep_blas} BLAS threads, more than there are cores: "
                    "its last bits will differ from an uninterrupted run's")
    if seconds:
        said.append(took(seconds))
    return "; ".join(said)


def took(seconds):
    """'a step took 3.4 ms with 2 spinning, 5.6 ms with 1 thread', fastest first."""
    return "a step took " + ", ".join(f"{1e3 * t:.1f} ms with {label(s)}" for s, t in
                                      sorted(seconds.items(), key=lambda kv: kv[1]))


def label(setting):
    """The BLAS part of a setting in a few words: '1 thread', '2 napping', '2 spinning'."""
    if setting.blas is None:
        return "the BLAS as it is"
    if setting.blas == 1:
        return "1 thread"
    if setting.wait is None:
        return f"{setting.blas} threads"
    return f"{setting.blas} {'napping' if setting.wait <= NAPS_UP_TO else 'spinning'}"


def describe(policy):
    """One line for a run's header: the setting in force, and why."""
    s, plural = policy.setting, lambda n: "" if n == 1 else "s"
    if s.blas is None:
        blas = "the BLAS's own threads"
    else:
        blas = f"{s.blas} BLAS thread{plural(s.blas)}"
        if s.blas > 1 and s.wait is not None:
            blas += f" (idle ones {'nap' if s.wait <= NAPS_UP_TO else 'spin'})"
    return (f"threads: matrix products on {blas}, the optimizer update on {s.update} "
            f"thread{plural(s.update)}; {policy.why}")
