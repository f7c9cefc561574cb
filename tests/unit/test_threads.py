"""The thread policy's choices (minivae/kernels/threads.py), for given cores, user
variables and measurements.  Nothing here is timed: the machine, the variables and the
seconds a step took are given, and what the policy does with them is checked."""
import pytest

from minivae.errors import EnvironmentVariableError
from minivae.kernels import threads
from minivae.kernels.threads import NAP, SPIN, Machine, Setting, User

NOBODY = User(None, None, None)


def options(cores=2, blas=2, wait=SPIN, user=NOBODY, keep=None):
    return threads.candidates(Machine(cores, blas, wait), user, keep)


def test_on_two_cores_one_thread_and_both_waits_are_timed():
    assert options() == [Setting(1, None, 2),          # one BLAS thread: the update takes 2
                         Setting(2, NAP, 2),           # napping workers leave the 2nd core free
                         Setting(2, SPIN, 1)]          # spinning ones hold it: the update on 1


def test_one_core_leaves_nothing_to_time():
    assert options(cores=1) == [Setting(1, None, 1)]


def test_more_cores_add_two_threads_and_all_of_them():
    assert [(s.blas, s.wait) for s in options(cores=8, blas=8)] == [
        (1, None), (2, NAP), (2, SPIN), (8, NAP), (8, SPIN)]


@pytest.mark.parametrize("variable, want", [
    (("OPENBLAS_NUM_THREADS", 1), [Setting(1, None, 2)]),
    (("OMP_NUM_THREADS", 2), [Setting(2, NAP, 2), Setting(2, SPIN, 1)]),   # the wait still chosen
    (("OPENBLAS_NUM_THREADS", 0), [Setting(4, NAP, 2), Setting(4, SPIN, 1)]),  # one per core
])
def test_the_users_blas_threads_win(variable, want):
    assert options(cores=4, blas=1, user=User(variable, None, None)) == want


@pytest.mark.parametrize("timeout, wait, update", [
    (28, 28, 1), (0, 28, 1), (12, 12, 2), (20, 20, 2), (21, 21, 1), (3, 4, 2), (40, 30, 1)])
def test_the_users_timeout_wins_as_openblas_reads_it_and_decides_the_update(timeout, wait, update):
    """0 is OpenBLAS's default 2²⁸; other values are clamped to 4..30; up to 2²⁰ ticks
    the workers nap, and the update may take the second core."""
    assert options(user=User(None, timeout, None)) == [Setting(1, None, 2),
                                                       Setting(2, wait, update)]


@pytest.mark.parametrize("numba_threads, update", [(1, 1), (2, 2), (8, 2)])
def test_numba_num_threads_sets_the_update(numba_threads, update):
    assert {s.update for s in options(user=User(None, None, numba_threads))} == {update}


def test_without_openblas_nothing_is_steered_and_the_update_stays_on_one_thread():
    assert options(blas=None, wait=None) == [Setting(None, None, 1)]
    assert options(blas=None, wait=None, user=User(None, None, 2)) == [Setting(None, None, 2)]


def test_a_timeout_that_cannot_be_steered_is_taken_as_it_is():
    """An OpenBLAS without the calls to restart its workers: its workers' wait is
    unknown, so the update keeps to one thread beside them."""
    assert options(wait=None) == [Setting(1, None, 2), Setting(2, None, 1)]


def test_a_resumed_run_keeps_its_blas_threads():
    assert options(keep=2) == [Setting(2, NAP, 2), Setting(2, SPIN, 1)]
    assert options(keep=1) == [Setting(1, None, 2)]


@pytest.mark.parametrize("seconds, want", [
    ({Setting(1, None, 2): 21.0, Setting(2, NAP, 2): 14.5, Setting(2, SPIN, 1): 14.8},
     Setting(2, NAP, 2)),                                   # the fastest
    ({Setting(1, None, 2): 10.0, Setting(2, NAP, 2): 9.6, Setting(2, SPIN, 1): 9.9},
     Setting(1, None, 2)),                                  # 4% faster is not enough
    ({Setting(1, None, 2): 10.0, Setting(2, NAP, 2): 9.4}, Setting(2, NAP, 2)),     # 6% is
    ({Setting(1, None, 2): 45.0, Setting(2, NAP, 2): 400.0, Setting(2, SPIN, 1): 390.0},
     Setting(1, None, 2)),                                  # a busy machine
    ({Setting(2, NAP, 2): 8.0, Setting(2, SPIN, 1): 7.9, Setting(4, SPIN, 1): 7.7},
     Setting(2, SPIN, 1)),                                  # the fewest threads near the best
])
def test_choose_takes_the_fastest_unless_fewer_threads_come_within_the_margin(seconds, want):
    assert threads.choose(seconds) == want


def settle_with(monkeypatch, m, environ, seconds=None, keep=None):
    """threads.settle on Machine m with these variables, the measurement given: returns
    (policy, what was applied, what was timed)."""
    for name in (*threads.BLAS_VARS, "OPENBLAS_THREAD_TIMEOUT", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    applied, timed = [], []
    monkeypatch.setattr(threads, "machine", lambda: m)
    monkeypatch.setattr(threads, "apply", applied.append)
    monkeypatch.setattr(threads, "measure",
                        lambda opts, run_steps: timed.extend(opts) or {s: seconds[s] for s in opts})
    return threads.settle(lambda n: None, keep_blas=keep), applied, timed


def test_settle_times_the_candidates_applies_the_choice_and_says_why(monkeypatch):
    seconds = {Setting(1, None, 2): 0.0214, Setting(2, NAP, 2): 0.0145, Setting(2, SPIN, 1): 0.0148}
    policy, applied, timed = settle_with(monkeypatch, Machine(2, 2, SPIN), {}, seconds)
    assert timed == list(seconds) and applied == [Setting(2, NAP, 2)]
    assert policy.setting == Setting(2, NAP, 2)
    assert threads.describe(policy) == (
        "threads: matrix products on 2 BLAS threads (idle ones nap), the optimizer update on "
        "2 threads; 2 cores to use; a step took 14.5 ms with 2 napping, 14.8 ms with "
        "2 spinning, 21.4 ms with 1 thread")


def test_settle_with_the_users_variables_times_nothing(monkeypatch):
    policy, applied, timed = settle_with(
        monkeypatch, Machine(2, 2, SPIN), {"OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"})
    assert timed == [] and applied == [Setting(1, None, 1)]
    assert threads.describe(policy) == (
        "threads: matrix products on 1 BLAS thread, the optimizer update on 1 thread; "
        "2 cores to use; OPENBLAS_NUM_THREADS=1; NUMBA_NUM_THREADS=1")


def test_openblas_reads_omp_num_threads_after_its_own_variable(monkeypatch):
    policy, _, _ = settle_with(monkeypatch, Machine(2, 1, SPIN),
                               {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "1"})
    assert policy.why.endswith("OPENBLAS_NUM_THREADS=1")
    policy, _, _ = settle_with(monkeypatch, Machine(2, 1, SPIN), {"OMP_NUM_THREADS": "1"})
    assert policy.why.endswith("OMP_NUM_THREADS=1")


def test_a_resumed_run_keeps_its_threads_unless_the_cores_are_gone(monkeypatch):
    seconds = {Setting(2, NAP, 2): 0.02, Setting(2, SPIN, 1): 0.03}
    policy, applied, _ = settle_with(monkeypatch, Machine(2, 2, SPIN), {}, seconds, keep=2)
    assert applied == [Setting(2, NAP, 2)] and "continues bit for bit" in policy.why
    policy, applied, timed = settle_with(monkeypatch, Machine(1, 2, SPIN), {}, keep=2)
    assert timed == [] and applied == [Setting(1, None, 1)]
    assert "trained on 2 BLAS threads, more than there are cores" in policy.why


def test_without_a_way_to_time_the_fewest_threads_are_taken(monkeypatch):
    monkeypatch.setattr(threads, "machine", lambda: Machine(2, 2, SPIN))
    applied = []
    monkeypatch.setattr(threads, "apply", applied.append)
    for name in (*threads.BLAS_VARS, "OPENBLAS_THREAD_TIMEOUT", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert threads.settle(None).setting == Setting(1, None, 2) == applied[0]


@pytest.mark.parametrize("name, value", [("OPENBLAS_NUM_THREADS", "two"),
                                         ("OMP_NUM_THREADS", "-1"),
                                         ("OPENBLAS_THREAD_TIMEOUT", "16abc"),
                                         ("NUMBA_NUM_THREADS", "0")])
def test_a_variable_that_is_not_understood_is_an_error_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentVariableError, match=f"{name}={value!r}"):
        threads.user_settings()


def fake_measure(monkeypatch, steps, rounds):
    """measure() on a fake clock: the k-th timed step of a setting takes steps[setting][k]
    seconds (its last entry from then on).  Returns (seconds, the settings timed in order)."""
    now, current, order = [0.0], [None], []

    def apply(s):
        current[0] = s
    monkeypatch.setattr(threads, "apply", apply)

    def run_steps(n):
        order.append(current[0])
        if len(order) > 1:                      # the first step is not timed
            k = order[1:].count(current[0]) - 1
            now[0] += n * steps[current[0]][min(k, len(steps[current[0]]) - 1)]
    seconds = threads.measure(list(steps), run_steps, rounds=rounds, clock=lambda: now[0])
    return seconds, order[1:]


def test_measure_interleaves_and_drops_a_setting_far_slower(monkeypatch):
    """A setting over DROP times the best is timed twice, the others every round."""
    one, nap, spin = Setting(1, None, 2), Setting(2, NAP, 2), Setting(2, SPIN, 1)
    seconds, timed = fake_measure(monkeypatch, {one: [1.0], nap: [0.7], spin: [9.0]}, rounds=4)
    assert seconds == pytest.approx({one: 1.0, nap: 0.7, spin: 9.0})
    assert timed.count(spin) == 2 and timed.count(one) == timed.count(nap) == 4
    assert timed[:6] == [one, nap, spin, nap, spin, one]        # rotating order
    assert timed[6:] == [one, nap, nap, one]


def test_one_stalled_step_does_not_drop_a_setting(monkeypatch):
    """As a bench run saw it: 2 spinning workers' first timed step stalled at 31.8 ms
    against their 3.5 ms, beside 3.8 ms napping and 5.7 ms on one thread.  The median
    leaves the stall out, and spinning is chosen."""
    one, nap, spin = Setting(1, None, 2), Setting(2, NAP, 2), Setting(2, SPIN, 1)
    steps = {one: [5.7e-3], nap: [3.8e-3], spin: [31.8e-3, 3.5e-3]}
    seconds, timed = fake_measure(monkeypatch, steps, rounds=threads.ROUNDS)
    assert timed.count(spin) == threads.ROUNDS
    assert seconds[spin] == pytest.approx(3.5e-3) and threads.choose(seconds) == spin
