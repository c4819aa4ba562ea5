"""``qlab validate-run CONFIG``: replay the config itself (backtest, risk-limit analysis, TCA of
its algorithm on its own rebalance orders, :mod:`sim.validation`) and record the evidence in
one MLflow run that ``qlab promote`` evaluates. Only typer is imported at module level."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from research.cli_exit import dates_or_exit, fail, run_config_or_exit, settings_or_exit

#: Artifacts of the validation run that hold the evidence (``qlab promote`` lists them).
EVIDENCE_ARTIFACTS = {"backtest": "evidence/backtest.json", "tca": "evidence/tca.json",
                      "var_backtest": "evidence/var_backtest.json"}


def validate_run(
    config: Annotated[Path, typer.Argument(help="Run config (YAML) to validate.")],
    bars: Annotated[str | None, typer.Option(
        "--bars", help="Backtest data (default: the config's universe.dataset; sp500_daily = "
        "the embedded real daily closes).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First session of the "
                                              "backtest (default: universe.start).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last session of the backtest "
                                            "(default: universe.end).")] = None,
    tca_bars: Annotated[str, typer.Option(
        "--tca-bars", help="Minute bars of the TCA study (a dataset or a file).")
    ] = "sp500_synthetic_minute",
    gates: Annotated[Path | None, typer.Option("--gates", help="YAML of gate thresholds to "
                                               "report against (default thresholds).")] = None,
) -> None:
    """Replay CONFIG and record the evidence its promotion needs: the backtest through the
    trading loop (costs, limits binding), the VaR backtest of its P&L, and the TCA study of its
    execution algorithm against market orders on its own rebalance orders — one MLflow run
    whose config artifact is exactly what `@live` will load. Prints each gate's verdict."""
    import sys
    import time

    from research.promotion import (
        GateThresholdsError,
        evaluate_gates,
        failed,
        load_thresholds,
        record_validation_run,
    )

    cfg = run_config_or_exit(config)
    dates_or_exit("validate-run", start=start, end=end)
    try:
        thresholds = load_thresholds(gates)
    except GateThresholdsError as exc:
        fail(str(exc), 2)
    settings = settings_or_exit()
    from research.data import BarStore, looks_like_file
    from sim.validation import DEFAULT_TCA_BARS

    # a typo here is bad input, refused before anything is replayed (not a run recorded
    # without its TCA evidence)
    if looks_like_file(tca_bars):
        if not Path(tca_bars).is_file():
            fail(f"validate-run: --tca-bars {tca_bars}: no such file", 2)
    elif tca_bars != DEFAULT_TCA_BARS and not BarStore(settings.data.store_path).exists(
            tca_bars):
        fail(f"validate-run: --tca-bars {tca_bars}: no such dataset in "
             f"{settings.data.store_path} (`qlab data list`)", 2)
    from sim.backtest_data import BacktestDataError
    from sim.validation import EVIDENCE_VERSION, gather_evidence

    t0 = time.perf_counter()

    def say(line: str) -> None:
        typer.echo(f"[{time.perf_counter() - t0:5.0f} s] {line}", err=True)

    try:
        evidence = gather_evidence(cfg, settings, bars=bars, start=start, end=end,
                                   tca_bars=tca_bars, say=say)
    except (BacktestDataError, ValueError, FileNotFoundError) as exc:
        fail(f"validate-run: {exc}", 2)
    result = evidence.backtest
    documents = {EVIDENCE_ARTIFACTS["backtest"]: result.to_json(),
                 EVIDENCE_ARTIFACTS["var_backtest"]: evidence.var_backtest_document()}
    if evidence.tca_summary is not None:
        documents[EVIDENCE_ARTIFACTS["tca"]] = evidence.tca_summary
    run_id = record_validation_run(
        cfg, evidence.metrics, settings, data_hash=evidence.data_hash, documents=documents,
        tags={"qlab.evidence": EVIDENCE_VERSION, "qlab.backtest_data": result.meta.get("data"),
              "qlab.assumptions": " | ".join(evidence.notes)[:4900]})
    m = result.metrics
    typer.echo(f"validate-run {cfg.name}: {result.meta.get('data', '')}, "
               f"{m.start:%Y-%m-%d}..{m.end:%Y-%m-%d} ({m.sessions} sessions), "
               f"{time.perf_counter() - t0:.0f} s")
    for note in evidence.notes:
        typer.echo(f"  assumed: {note}")
    results = evaluate_gates(evidence.metrics, thresholds)
    for r in results:
        typer.echo(r.line())
    verdict = "every gate passes" if not failed(results) else \
        f"{len(failed(results))} gate(s) fail: `qlab promote` will refuse it"
    typer.echo(f"validation run: {run_id} ({verdict})")
    sys.stdout.flush()
    if failed(results):  # recorded either way; a script or CI step sees the verdict too
        raise typer.Exit(1)
