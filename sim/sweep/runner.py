"""A sweep end to end: validate every point, reopen or create its MLflow parent, skip what is
recorded, run the rest on the executor, record each point as it returns, and write the table,
the caution and the HTML view."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from sim.sweep.executors import describe, execute
from sim.sweep.points import Point, expand, sweep_id
from sim.sweep.progress import Progress
from sim.sweep.results import best_point, html_view, multiple_testing, results_table, write_results
from sim.sweep.spec import SweepSpec, SweepSpecError, check_sweep
from sim.sweep.tasks import FINISHED, Outcome, run_unit, work_units


@dataclass
class SweepRun:
    """What a sweep did: ``executed`` points run now, ``skipped`` found recorded, the table,
    the caution, the files written and the parent run (None untracked)."""

    sweep_id: str
    table: pd.DataFrame
    executed: int
    skipped: int
    duplicates: int
    caution: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    parent_run_id: str | None = None


def _about(spec: SweepSpec, points: list[Point], duplicates: int, executor: str,
           run_id: str | None) -> list[str]:
    window = f"{spec.start or 'the config start'} .. {spec.end or 'the config end'}"
    lines = [f"task {spec.task} on {spec.bars or 'the config dataset'}, {window}; base "
             f"config {spec.config}",
             f"{len(points)} points over {', '.join(spec.fields)}"
             + (f" ({duplicates} duplicate random draws dropped)" if duplicates else ""),
             f"executor: {executor}; MLflow parent run: {run_id or 'not tracked'}",
             "metrics: 252 sessions a year, risk-free rate 0; Sharpe etc. as in qlab backtest"]
    if spec.task == "vectorbt":
        lines.append("vectorbt research path: flat costs, no execution algorithm, no risk "
                     "limits, fractional shares; the window includes the lookback (in cash "
                     "until the first decision is traded)")
    return lines


def check_data(spec: SweepSpec, points: list[Point], settings: Any) -> None:
    """Refuse, before anything runs, bars that name nothing and symbols the bars do not
    hold (of any point: ``universe.symbols`` may be swept)."""
    from research.data import BarStore, known_bar_datasets, load_sp500_closes, looks_like_file
    from sim.backtest_data import EMBEDDED_DAILY

    problems = []
    for bars in sorted({spec.bars or p.config["universe"]["dataset"] for p in points}):
        if bars == EMBEDDED_DAILY:
            held = set(load_sp500_closes().columns)
        elif looks_like_file(bars):
            if not Path(bars).is_file():
                problems.append(f"bars: no such file {bars!r}")
            continue  # a file's symbols are checked when it is read
        else:
            known = known_bar_datasets(BarStore(settings.data.store_path))
            if bars not in known:
                problems.append(f"bars: {bars!r} is neither a file nor a known dataset "
                                f"(known: {', '.join(sorted([*known, EMBEDDED_DAILY]))})")
                continue
            held = set(known[bars])
        for p in points:
            missing = sorted(set(p.config["universe"]["symbols"]) - held)
            if missing and (spec.bars or p.config["universe"]["dataset"]) == bars:
                problems.append(f"point {p.index}: universe.symbols {missing} are not in "
                                f"{bars}")
                break
    if problems:
        raise SweepSpecError(spec.name, problems)


def run_sweep(spec: SweepSpec, base: Any, settings: Any, *, out_dir: Path | None = None,
              jobs: int = 1, scheduler: str | None = None, track: bool = True,
              run: Callable[[Any], list[Outcome]] = run_unit,
              stream: TextIO | None = None, bar: bool | None = None) -> SweepRun:
    """Run ``spec`` over the base run config ``base``. ``run`` is what executes a unit (the
    tasks' :func:`~sim.sweep.tasks.run_unit`; a test may wrap it). Raises what the executor
    raises after recording every point that finished; the parent run then ends FAILED and a
    second call resumes it."""
    check_sweep(spec, base)  # a spec built in code has not been through load_sweep
    points, duplicates = expand(spec, base, settings)
    check_data(spec, points, settings)
    ident = sweep_id(spec, points)
    by_hash = {p.config_hash: p for p in points}
    outcomes: dict[int, Outcome] = {}
    run_ids: dict[int, str] = {}
    tracker = None
    if track:
        from sim.sweep.tracking import SweepTracker, outcome_from_run

        tracker = SweepTracker(settings, spec.name, ident)
        tracker.open({"task": spec.task, "bars": spec.bars, "start": spec.start,
                      "end": spec.end, "config": str(spec.config), "points": len(points),
                      "fields": ",".join(spec.fields)})
        for digest, child in tracker.finished().items():
            if digest in by_hash:
                point = by_hash[digest]
                recorded = outcome_from_run(child)
                recorded.index = point.index
                outcomes[point.index] = recorded
                run_ids[point.index] = child.info.run_id
    skipped = len(outcomes)
    todo = [p for p in points if p.index not in outcomes]
    units = work_units(spec.task, todo, bars=spec.bars, frequency=spec.frequency,
                       start=spec.start, end=spec.end, chunk_size=spec.vectorbt.chunk_size)
    executor = describe(jobs, scheduler)
    progress = Progress(spec.name, len(points), skipped, stream=stream, bar=bar)
    returns: dict[int, list[float]] = {}
    started = time.perf_counter()
    completed = False
    try:
        for done in execute(run, units, jobs=jobs, scheduler=scheduler):
            for outcome in done:
                point = by_hash[outcome.config_hash]
                outcomes[point.index] = outcome
                returns[point.index] = outcome.returns
                if tracker is not None:
                    run_ids[point.index] = tracker.record(point, outcome, spec.task)
                outcome.result = None  # recorded: the driver keeps only what the table needs
            progress.advance(len(done))
        completed = True
    finally:
        progress.close()
        if tracker is not None and not completed:  # a crash: the parent resumes next time
            tracker.close("FAILED", {"points_done": float(len(outcomes))})
    status = "FINISHED" if all(o.status == FINISHED for o in outcomes.values()) else "FAILED"
    table = results_table(points, outcomes, run_ids)
    best = best_point(table)
    best_returns = returns.get(best) if best is not None else None
    if best is not None and best_returns is None and tracker is not None:
        best_returns = tracker.returns_of(run_ids[best])
    caution = multiple_testing(table, best_returns)
    if tracker is not None:
        tracker.close(status, {"points_done": float(len(outcomes)),
                               "best_sharpe": caution["best_sharpe_annual"] or float("nan"),
                               "deflated_sharpe": caution["deflated_sharpe"] or float("nan")})
    result = SweepRun(ident, table, len(outcomes) - skipped, skipped, duplicates, caution,
                      parent_run_id=tracker.parent_id if tracker else None)
    if out_dir is not None:
        summary = {"sweep_id": ident, "name": spec.name, "task": spec.task,
                   "points": len(points), "executed": result.executed, "skipped": skipped,
                   "duplicates_dropped": duplicates, "executor": executor,
                   "seconds": time.perf_counter() - started,
                   "parent_run_id": result.parent_run_id, "multiple_testing": caution}
        page = html_view(table, list(spec.fields), caution, f"Sweep {spec.name}",
                         _about(spec, points, duplicates, executor, result.parent_run_id))
        result.paths = write_results(table, out_dir, spec.name, page, summary)
    return result


__all__ = ["SweepRun", "run_sweep"]
