"""A sweep's results: one row per point (Parquet and CSV), the multiple-testing caution (the
deflated Sharpe ratio of the best point given every point tried) and an HTML view (a sortable
table, plain HTML and JavaScript, and a plotly parallel-coordinates figure with plotly.js
inlined: one file that opens offline)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from research.analytics.metrics import SESSIONS_PER_YEAR
from sim.sweep.points import Point
from sim.sweep.tasks import FINISHED, Outcome

#: Metrics shown first (the rest follow in name order).
LEADING_METRICS = ("sharpe", "cagr", "volatility", "max_drawdown", "sortino", "calmar",
                   "turnover_annual", "cost_drag_bps_annual", "total_return")
#: Columns that say how a point ran, not what it measured: left out of result comparisons.
RUN_COLUMNS = ("seconds", "run_id")


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def results_table(points: list[Point], outcomes: dict[int, Outcome],
                  run_ids: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per point in point order: ``point``, ``config_hash``, ``status``, the varied
    fields, the metrics, ``error``, ``seconds`` and the child ``run_id`` (when tracked). A
    point without an outcome (not run: the sweep stopped) has status ``NOT_RUN``."""
    rows = []
    for p in points:
        outcome = outcomes.get(p.index)
        row = {"point": p.index, "config_hash": p.config_hash,
               "status": outcome.status if outcome else "NOT_RUN"}
        row.update({k: _cell(v) for k, v in p.values.items()})
        if outcome is not None:
            row.update(outcome.metrics)
        row["error"] = outcome.error if outcome else None
        row["seconds"] = outcome.seconds if outcome else math.nan
        row["run_id"] = (run_ids or {}).get(p.index)
        rows.append(row)
    table = pd.DataFrame(rows)
    fields = list(points[0].values) if points else []
    fixed = ["point", "config_hash", "status", *fields]
    metrics = [c for c in table.columns if c not in fixed and c not in ("error", *RUN_COLUMNS)]
    ordered = ([m for m in LEADING_METRICS if m in metrics]
               + sorted(m for m in metrics if m not in LEADING_METRICS))
    return table[[*fixed, *ordered, "error", *RUN_COLUMNS]]


def best_point(table: pd.DataFrame) -> int | None:
    """The finished point with the highest Sharpe ratio (None when none has one)."""
    if "sharpe_per_period" not in table:  # nothing finished: no metric columns at all
        return None
    done = table[(table["status"] == FINISHED) & table["sharpe_per_period"].notna()]
    return None if done.empty else int(done.loc[done["sharpe_per_period"].idxmax(), "point"])


def multiple_testing(table: pd.DataFrame, best_returns: list[float] | None) -> dict[str, Any]:
    """The caution for picking the best of the points: the deflated Sharpe ratio (Bailey &
    Lopez de Prado 2014) of the best point, given the number of points tried and the variance
    of their (daily) Sharpe ratios. Fields are None where it is undefined (fewer than two
    finished points, constant returns)."""
    from research.analytics.deflated_sharpe import deflated_sharpe_ratio, expected_max_sharpe

    best = best_point(table)
    done = (table[(table["status"] == FINISHED)]["sharpe_per_period"].dropna()
            if best is not None else pd.Series(dtype=float))
    out: dict[str, Any] = {"trials": int(len(done)), "best_point": best,
                           "best_sharpe_annual": None, "expected_max_sharpe_annual": None,
                           "deflated_sharpe": None, "note": ""}
    if best is None:
        out["note"] = "no finished point has a Sharpe ratio"
        return out
    root = math.sqrt(SESSIONS_PER_YEAR)
    out["best_sharpe_annual"] = float(done.max()) * root
    if len(done) < 2 or not best_returns:
        out["note"] = "one point only: nothing was selected, no deflation"
        return out
    try:
        out["expected_max_sharpe_annual"] = expected_max_sharpe(done.to_numpy()) * root
        out["deflated_sharpe"] = deflated_sharpe_ratio(best_returns, done.to_numpy())
    except ValueError as exc:
        out["note"] = f"deflated Sharpe ratio undefined: {exc}"
        return out
    verdict = ("above" if out["deflated_sharpe"] >= 0.95 else "NOT above")
    out["note"] = (
        f"The best of {out['trials']} points (point {best}) has an annualised Sharpe ratio of "
        f"{out['best_sharpe_annual']:.2f}; the best of {out['trials']} trials without skill, "
        f"with the spread of Sharpe ratios seen here, would be expected to reach "
        f"{out['expected_max_sharpe_annual']:.2f}. Deflated Sharpe ratio (Bailey & Lopez de "
        f"Prado 2014; skewness, kurtosis and length of the best point's daily returns): "
        f"{out['deflated_sharpe']:.3f}, {verdict} the usual 0.95 bar. The points of a sweep "
        "are correlated trials (neighbouring parameters): their number overstates the "
        "independent trials (which makes the deflation stricter) while the spread of their "
        "Sharpe ratios understates that of independent ones (which makes it more lenient); "
        "neither is corrected here. The selection is in-sample: confirm the chosen point on "
        "data the sweep did not see.")
    return out


def _figure(table: pd.DataFrame, fields: list[str]) -> str:
    import plotly.graph_objects as go

    done = table[table["status"] == FINISHED]
    dimensions = []
    for name in [*fields, "sharpe", "cagr", "max_drawdown"]:
        if name not in done.columns:
            continue
        column = done[name]
        if pd.api.types.is_numeric_dtype(column):
            dimensions.append({"label": name, "values": column.astype(float).tolist()})
        else:
            labels = sorted(column.astype(str).unique())
            codes = column.astype(str).map({v: i for i, v in enumerate(labels)})
            dimensions.append({"label": name, "values": codes.tolist(),
                               "tickvals": list(range(len(labels))), "ticktext": labels})
    figure = go.Figure(go.Parcoords(
        line={"color": done["sharpe"].astype(float).tolist() if "sharpe" in done else None,
              "colorscale": "Viridis", "showscale": True,
              "colorbar": {"title": {"text": "Sharpe"}}},
        dimensions=dimensions))
    figure.update_layout(title="Points of the sweep: varied fields against the results "
                               "(colour: Sharpe ratio)", height=520)
    return figure.to_html(full_html=False, include_plotlyjs=True)


_SORT_JS = """
document.querySelectorAll('table.sweep th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.from(body.rows);
    var up = th.dataset.order !== 'asc';
    th.dataset.order = up ? 'asc' : 'desc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return up ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _text(value: Any) -> tuple[str, str]:
    """(shown text, sort key) of a cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", ""
    if isinstance(value, float):
        return f"{value:,.4g}", repr(value)
    return str(value), str(value)


def html_view(table: pd.DataFrame, fields: list[str], caution: dict[str, Any],
              title: str, about: list[str]) -> str:
    """The self-contained HTML page of a sweep."""
    shown = table.drop(columns=[c for c in ("run_id",) if c in table.columns])
    head = "".join(f"<th title='click to sort'>{html.escape(c)}</th>" for c in shown.columns)
    body = []
    for _, row in shown.iterrows():
        cells = []
        for value in row:
            text, key = _text(value)
            cells.append(f"<td data-v='{html.escape(key, quote=True)}'>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in about)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table.sweep {{ border-collapse: collapse; font-size: 12px; }}
table.sweep th, table.sweep td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
table.sweep th {{ cursor: pointer; background: #f0f0f0; position: sticky; top: 0; }}
.caution {{ background: #fff4e0; border-left: 4px solid #e69500; padding: 0.6em 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<ul>{lines}</ul>
<p class="caution"><b>Multiple testing.</b> {html.escape(caution.get("note") or "")}</p>
{_figure(table, fields)}
<h2>Points (click a column to sort)</h2>
<table class="sweep"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
<script>{_SORT_JS}</script>
</body></html>
"""


def write_results(table: pd.DataFrame, out_dir: Path, name: str, page: str,
                  summary: dict[str, Any]) -> dict[str, Path]:
    """``<name>.parquet``, ``<name>.csv``, ``<name>.html`` and ``<name>.summary.json`` in
    ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{name}.{kind}" for kind in ("parquet", "csv", "html")}
    paths["summary"] = out_dir / f"{name}.summary.json"
    table.to_parquet(paths["parquet"], index=False)
    table.to_csv(paths["csv"], index=False)
    paths["html"].write_text(page, encoding="utf-8")
    paths["summary"].write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return paths


__all__ = ["LEADING_METRICS", "RUN_COLUMNS", "best_point", "html_view", "multiple_testing",
           "results_table", "write_results"]
