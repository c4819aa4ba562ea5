"""Kill campaigns for the SIGKILL tests (tests/sim/kill_worker.py, tests/live/live_kill_worker.py).

A *life* runs (or resumes) a trading run and kills itself with SIGKILL at a point tied to its
own progress (its k-th intent, order, report...), never to wall-clock time: on a loaded 2-core
machine a timer decides nothing about where a kill lands, a progress count does. A campaign
forks life after life from one process that imported the code once (a fresh interpreter per
life would spend seconds importing numpy, pandas and numba): each life is still a separate
process killed with SIGKILL, sharing nothing with the next but what is on disk (and the
broker's own state).

Output lines (stdout): ``KILLED kind:k bar B`` from a life just before it kills itself;
``LIFE i kind:k killed|done|exit N|signal N in S s`` from the campaign.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable

import numpy as np


class KillPoint:
    """Counts one kind of progress in this life and SIGKILLs the process at the k-th.

    ``spec`` is ``"kind:k"`` (None: never kill); ``where()`` gives the bar to print."""

    def __init__(self, spec: str | None, kinds: tuple[str, ...]):
        self.kind, self.k, self.count = None, 0, 0
        if spec:
            kind, _, k = spec.partition(":")
            if kind not in kinds or not k.isdigit() or int(k) < 1:
                raise SystemExit(f"kill point {spec!r}: expected KIND:K with KIND in {kinds} "
                                 "and K >= 1")
            self.kind, self.k = kind, int(k)
        self.where: Callable[[], int] = lambda: -1

    def progress(self, kind: str, n: int = 1) -> None:
        if kind != self.kind or n <= 0:
            return
        self.count += n
        if self.count >= self.k:
            print(f"KILLED {self.kind}:{self.k} bar {self.where()}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


def campaign(life: Callable[[str | None], None], n_kills: int, kill_range: dict[str, int],
             seed) -> None:
    """``n_kills`` lives of ``life(kill_spec)``, each killed at a seeded random point (kinds
    in turn, shuffled; k uniform in 1..kill_range[kind]), then one life without a kill that
    must run to the end. Stops at the first life that ends otherwise (the test says why)."""
    rng = np.random.default_rng(seed)
    kinds = rng.permutation(np.resize(np.array(list(kill_range)), n_kills)).tolist()
    plan = [f"{kind}:{int(rng.integers(1, kill_range[kind] + 1))}" for kind in kinds]
    for i, kill in enumerate([*plan, None]):
        started = time.perf_counter()
        outcome = fork_life(lambda kill=kill: life(kill))
        print(f"LIFE {i} {kill or 'none'} {outcome} in {time.perf_counter() - started:.1f} s",
              flush=True)
        if outcome != ("done" if kill is None else "killed"):
            return


def fork_life(body: Callable[[], None]) -> str:
    """Run ``body`` in a forked child; "killed" (SIGKILL), "done" (returned), "exit N" (raised:
    the traceback goes to stderr) or "signal N"."""
    sys.stdout.flush()  # or the child would print the parent's buffered lines again
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "killed" if sig == signal.SIGKILL else f"signal {sig}"
    code = os.WEXITSTATUS(status)
    return "done" if code == 0 else f"exit {code}"


def campaign_outcome(camp, n_kills: int, clean_restart: Callable[[], object]
                     ) -> tuple[list[str], list[int]]:
    """Read a finished campaign's process result (``camp``: stdout, stderr, returncode): the
    problems (a life that did not end as planned, a failed campaign) and the bars the kills
    landed on. When every life ended as planned, ``clean_restart()`` (a fresh interpreter
    reconciling everything) must exit 0 too."""
    import re

    problems: list[str] = []
    lives = re.findall(r"^LIFE (\d+) (\S+) (.+) in \S+ s$", camp.stdout, re.M)
    kill_bars = [int(b) for b in re.findall(r"^KILLED \S+ bar (-?\d+)$", camp.stdout, re.M)]
    if camp.returncode != 0:
        problems.append(f"campaign exited {camp.returncode}: {camp.stderr[-2000:]}")
    for i, kill, outcome in lives:
        expected = "done" if kill == "none" else "killed"
        if outcome != expected:
            problems.append(f"life {i} (kill point {kill}) ended with {outcome}, not {expected}: "
                            + (camp.stderr.strip().splitlines() or ["(no output)"])[-1])
    if len(lives) == n_kills + 1 and not problems:
        clean = clean_restart()
        if clean.returncode != 0:
            problems.append("clean restart failed: "
                            + (clean.stderr.strip().splitlines() or ["(no output)"])[-1])
    return problems, kill_bars
