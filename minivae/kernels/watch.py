"""Keeping the thread policy's choice right while a run trains.

threads.py times the candidate settings once, when a run starts.  What it
measured can stop holding: other programs start on the machine (the other
students' runs on a shared server) or end.  A product split over 2 threads
then waits for a core that is busy elsewhere, and a run that started alone
would keep its 2 threads while a run started under the same load takes 1;
`bench` measures both (its rows under load, "load arriving").

A Watch follows the run's own steps, told of each by tick():

  1. the step a setting takes is its median when it was timed;
  2. settings are timed again, as at the start (threads.Trial), on the
     run's next steps (each of them trains: nothing is thrown away; between
     stretches of steps, `with watch:`, the setting in force runs, and a
     timing goes on in the next stretch):
     - those with fewer BLAS threads, when the median of the last WINDOW
       steps is DRIFT times the setting's or more (a load arrived), against
       that median;
     - those with more, in turn with the setting in force, while fewer BLAS
       threads run than the most the policy may choose: AGAIN seconds after
       the last timing, then twice as late each time the choice stands, up
       to LATEST, for a load may have left.  (A faster step does not tell:
       under load a one-thread step takes turns with the other programs,
       fast or slow by turns, and so timing them in turn is the fair test.)
  3. threads.choose picks from those times, as at the start; but the
     setting in force stays unless the pick is MARGIN faster than it (when
     the whole machine slows for a while, one thread may come within MARGIN
     of two without being the better choice).  A change is put in force and
     said (said()).

A change always changes the BLAS threads, and those can change a product's
last bits (threads.py, rule 4), so a run whose threads changed agrees with
another run only as far as any two runs of the default policy do.  Where the
BLAS threads are fixed (OPENBLAS_NUM_THREADS, or a resumed run, which keeps
them) the watch has nothing to change.
"""
import statistics
import time
from collections import deque

from .threads import MARGIN, Trial, apply, choose, label, took

WINDOW = 16         # steps: the median compared
DRIFT = 1.5         # steps this many times slower than the setting's: time again
AGAIN = 5.0         # seconds: with fewer BLAS threads than the most, time again this soon,
LATEST = 60.0       # then twice as late each time the choice stands, up to this


class Watch:
    """The thread setting of a run, timed again when its steps say so (module docstring).

    policy: threads.settle's Policy, with the candidates' times (policy.seconds)."""

    def __init__(self, policy, clock=time.perf_counter):
        self.setting, self.usual = policy.setting, policy.seconds[policy.setting]
        self.options, self.clock = list(policy.seconds), clock
        self.fewest = min(s.blas or 0 for s in self.options)
        self.most = max(s.blas or 0 for s in self.options)
        self.steps, self.last, self.recent = 0, None, deque(maxlen=WINDOW)
        self.trial, self.lines = None, []
        self.wait = AGAIN
        self.look = clock() + AGAIN

    def begin(self):
        """The next step starts a stretch of steps: what came before it (an evaluation, a
        checkpoint) is not a step.  A timing that end() paused goes on."""
        self.last = None
        if self.trial is not None:
            apply(self.trial.next())

    def end(self):
        """The stretch of steps ends: what runs until the next begin() (an evaluation, a
        checkpoint that records the BLAS threads, another program's turn in `bench`) runs
        under the setting in force, not under one being timed."""
        self.last = None
        if self.trial is not None:
            apply(self.setting)

    def __enter__(self):        # with watch: a stretch of steps
        self.begin()
        return self

    def __exit__(self, *exc):
        self.end()

    def tick(self):
        """One step is done."""
        now = self.clock()
        self.steps += 1
        if self.last is not None:
            self._step(now - self.last, now)
        self.last = self.clock()

    def said(self):
        """The changes made since the last call, a line each."""
        lines, self.lines = self.lines, []
        return lines

    def _step(self, seconds, now):
        if self.trial is not None:
            self.trial.record(seconds)
            if self.trial.done:
                self._choose(now)
            else:
                apply(self.trial.next())
            return
        self.recent.append(seconds)
        blas = self.setting.blas or 0
        if (blas > self.fewest and len(self.recent) == WINDOW
                and statistics.median(self.recent) >= DRIFT * self.usual):
            fewer = [s for s in self.options if (s.blas or 0) < blas]
            self.trial = Trial(fewer, known={self.setting: statistics.median(self.recent)})
        elif blas < self.most and now >= self.look:
            more = [s for s in self.options if (s.blas or 0) > blas]
            self.trial = Trial([self.setting] + more)
        else:
            return
        apply(self.trial.next())

    def _choose(self, now):
        seconds, before = self.trial.seconds(), self.setting
        pick, self.trial = choose(seconds), None
        if (1 + MARGIN) * seconds[pick] < seconds[before]:
            self.setting = pick
        self.usual = seconds[self.setting]
        self.recent.clear()
        apply(self.setting)
        self.wait = AGAIN if self.setting != before else min(2 * self.wait, LATEST)
        self.look = now + self.wait
        if self.setting != before:
            self.lines.append(f"threads: BLAS {label(before)} -> {label(self.setting)}, the "
                              f"update on {self.setting.update}, from step {self.steps} of "
                              f"this run; timed again, {took(seconds)}")
