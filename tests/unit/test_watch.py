"""The thread policy's watch during a run (minivae/kernels/watch.py), on a fake clock: the
steps' times are given per setting, nothing is timed and no thread is changed."""
import pytest

from minivae.kernels import threads, watch as watch_module
from minivae.kernels.threads import NAP, SPIN, Policy, Setting
from minivae.kernels.watch import AGAIN, DRIFT, LATEST, WINDOW, Watch

ONE, NAPPING, SPINNING = Setting(1, None, 2), Setting(2, NAP, 2), Setting(2, SPIN, 1)


class Run:
    """A run's steps on a fake clock: a step under setting s takes step_s[s] seconds; the
    settings put in force and the setting of every step are kept."""

    def __init__(self, monkeypatch, chosen, timed, step_s):
        self.now, self.step_s, self.in_force = 0.0, dict(step_s), chosen
        self.applied, self.stepped = [], []
        monkeypatch.setattr(watch_module, "apply", self.apply)
        self.watch = Watch(Policy(chosen, "", timed), clock=lambda: self.now)
        self.watch.begin()
        self.watch.tick()                   # the first step: what came before is not timed

    def apply(self, s):
        self.in_force = s
        self.applied.append(s)

    def steps(self, n):
        for _ in range(n):
            self.now += self.step_s[self.in_force]
            self.stepped.append(self.in_force)
            self.watch.tick()


def test_steady_or_faster_steps_on_the_most_threads_time_nothing(monkeypatch):
    """Just within DRIFT of the timed step, on 2 threads, for longer than LATEST, then 3
    times faster than timed: no change."""
    timed = {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.010 * DRIFT * 0.95})
    run.steps(int(2 * LATEST / 0.010))
    run.step_s[NAPPING] = 0.010 / 3
    run.steps(10 * WINDOW)
    assert run.applied == [] and run.watch.said() == []


def test_a_load_arriving_times_the_fewer_threads_and_takes_one(monkeypatch):
    """2 napping timed at 10 ms; a load makes them 40 ms.  After WINDOW such steps the
    one-thread setting (25 ms under the load) is timed on the run's next steps, beside the
    recent median of the setting in force, which is not timed again; one thread wins."""
    timed = {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.040, ONE: 0.025, SPINNING: 0.050})
    run.steps(WINDOW)
    assert run.applied == [ONE]                             # the trial's first step
    run.steps(threads.ROUNDS)
    assert set(run.applied) == {ONE} and run.watch.setting == ONE
    run.steps(3)
    assert run.stepped[WINDOW:] == [ONE] * (threads.ROUNDS + 3)
    assert SPINNING not in run.stepped                      # same threads: not timed
    lines = run.watch.said()
    assert lines == [f"threads: BLAS 2 napping -> 1 thread, the update on 2, from step "
                     f"{1 + WINDOW + threads.ROUNDS} of this run; timed again, a step "
                     "took 25.0 ms with 1 thread, 40.0 ms with 2 napping"]
    assert run.watch.said() == []


@pytest.mark.parametrize("one_s", [0.080, 0.039])
def test_a_slower_step_that_fewer_threads_do_not_beat_stands(monkeypatch, one_s):
    """The same drift, but one thread is slower still, or faster by less than MARGIN (the
    machine slowed as a whole): the setting stands, and the new times are the ones
    compared from then on (no second trial for the same steps)."""
    timed = {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.040, ONE: one_s})
    run.steps(WINDOW + threads.ROUNDS)
    assert run.applied == [ONE] * threads.ROUNDS + [NAPPING] and run.watch.setting == NAPPING
    run.steps(10 * WINDOW)
    assert len(run.applied) == threads.ROUNDS + 1 and run.watch.said() == []


def test_on_one_thread_more_threads_are_timed_again_later_and_later(monkeypatch):
    """Chosen under a load: one thread.  A faster one-thread step (the load left, or took
    turns) starts nothing; AGAIN seconds on, the 2-thread settings are timed, and while the
    one thread stands the next look comes twice as late, up to LATEST."""
    timed = {ONE: 0.020, NAPPING: 0.040, SPINNING: 0.050}
    run = Run(monkeypatch, ONE, timed, {ONE: 0.005, NAPPING: 0.010, SPINNING: 0.010})
    starts, trial = [], watch_module.Trial
    monkeypatch.setattr(watch_module, "Trial", lambda *a, **k: starts.append(run.now) or trial(*a, **k))
    run.steps(int(AGAIN / 0.005) - 2)
    assert run.applied == [] and starts == []               # 4× faster: not a reason
    while run.now < 8 * LATEST:
        run.steps(1)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert starts[0] == pytest.approx(AGAIN, abs=0.01)
    want = [min(AGAIN * 2 ** k, LATEST) for k in range(1, len(gaps) + 1)]
    assert gaps == pytest.approx(want, abs=0.25)            # + the look's own steps
    assert run.watch.setting == ONE and run.watch.said() == []


def test_a_load_that_left_gives_the_threads_back(monkeypatch):
    """On one thread at 20 ms, 2 napping now take 10 ms: the look AGAIN seconds on times
    them in turn with the one thread and takes them, and from then on no look is due (the
    most threads run)."""
    timed = {ONE: 0.020, NAPPING: 0.040, SPINNING: 0.050}
    run = Run(monkeypatch, ONE, timed, {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.0102})
    run.steps(int(AGAIN / 0.020) + 3 * threads.ROUNDS + 1)
    assert run.applied[:4] == [ONE, NAPPING, SPINNING, NAPPING]     # rounds in turn
    assert run.watch.setting == NAPPING                     # spinning is not 5% faster
    assert run.watch.said()[0].startswith("threads: BLAS 1 thread -> 2 napping")
    n = len(run.applied)
    run.steps(int(4 * LATEST / 0.010))
    assert len(run.applied) == n


def test_settings_far_slower_than_the_one_in_force_are_timed_twice(monkeypatch):
    """Under a load, 2-thread steps take 10 times the one thread's: each is timed in two
    rounds, then dropped (threads.DROP), so a look costs four slow steps."""
    timed = {ONE: 0.030, NAPPING: 0.060, SPINNING: 0.070}
    run = Run(monkeypatch, ONE, timed, {ONE: 0.030, NAPPING: 0.300, SPINNING: 0.300})
    run.steps(int(AGAIN / 0.030) + 10)
    assert run.stepped.count(NAPPING) == run.stepped.count(SPINNING) == 2
    assert run.watch.setting == ONE


def test_what_comes_between_stretches_of_steps_is_not_a_step(monkeypatch):
    """An evaluation of a minute after an epoch, then begin(): no slow step is seen."""
    timed = {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.010})
    for _ in range(WINDOW):
        run.steps(1)
        run.now += 60.0
        run.watch.begin()
    assert run.applied == []


def test_a_timing_the_stretch_ends_in_is_paused_under_the_setting_in_force(monkeypatch):
    """A load arrives and one thread is being timed when the stretch ends (an epoch's
    evaluation; in bench, another contender's turn): until the next stretch, 2 napping,
    the setting in force, runs; then the timing goes on where it stopped, the minute
    between is not one of its steps, and its outcome is as without the pause."""
    timed = {ONE: 0.020, NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.040, ONE: 0.025})
    run.steps(WINDOW + 2)
    assert run.applied == [ONE] * 3 and run.watch.setting == NAPPING
    run.watch.end()
    assert run.in_force == NAPPING and run.applied[-1] == NAPPING
    run.now += 60.0
    with run.watch:
        assert run.in_force == ONE          # the timing goes on
        run.steps(1 + threads.ROUNDS - 2)   # the first step after a pause is not timed
    assert run.watch.setting == ONE and run.in_force == ONE
    assert run.watch.said() == [f"threads: BLAS 2 napping -> 1 thread, the update on 2, from "
                                f"step {2 + WINDOW + threads.ROUNDS} of this run; timed "
                                "again, a step took 25.0 ms with 1 thread, 40.0 ms with 2 "
                                "napping"]


def test_one_setting_to_choose_from_leaves_nothing_to_watch(monkeypatch):
    """With the variables fixing the threads, settle() times nothing: policy.seconds is
    None, which is what train and bench's workers check before they make a Watch."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    policy = threads.settle(lambda n: None)
    assert policy.seconds is None


def test_with_the_blas_threads_fixed_nothing_is_timed_again(monkeypatch):
    """A resumed run keeps its BLAS threads (threads.py, rule 4): its candidates differ in
    the wait only, and a load arriving, or the time passing, changes nothing."""
    timed = {NAPPING: 0.010, SPINNING: 0.011}
    run = Run(monkeypatch, NAPPING, timed, {NAPPING: 0.050, SPINNING: 0.020})
    run.steps(int(2 * LATEST / 0.050))
    assert run.applied == [] and run.watch.said() == []
