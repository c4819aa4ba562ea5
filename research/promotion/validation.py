"""Gate inputs of a run config: a daily backtest (drawdown, VaR backtest zone, limit breaches,
alerts) and the cost-model calibration of a TCA study, recorded with the config in MLflow.

The recorded run is what ``qlab promote`` evaluates: its metrics are ``validation.*`` (see
:data:`research.promotion.gates.GATE_METRICS`), its artifact ``config/run.yaml`` is the config
that gets registered, and its tag ``qlab.config_hash`` is the config's hash.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research.promotion.gates import GATE_METRICS, ZONE_CODES, config_hash

CONFIG_ARTIFACT = "config/run.yaml"


def backtest_gate_metrics(config: Any, closes: pd.DataFrame, settings: Any) -> dict[str, float]:
    """Daily backtest of ``config``'s strategy on ``closes`` (wide, session dates x symbols).

    Weights are set at each rebalance from closes strictly before the day and held constant
    (fraction of NAV) until the next one. Returns the ``validation.*`` metrics: max drawdown
    (fraction of peak NAV), VaR backtest zone of rolling historical 1-day VaR at the risk
    settings' confidence, limit breaches at the rebalances (RiskManager on the past
    ``var_lookback_days`` returns) and alerts still unresolved at the end.
    """
    from research.risk import AlertManager, MemorySink, RiskManager, backtest_var, rolling_var
    from research.strategies import portfolio_strategy
    from research.trading import config_rebalance_dates, risk_settings_for

    symbols = config.universe.symbols or list(closes.columns)
    missing = [s for s in symbols if s not in closes.columns]
    if missing:
        raise ValueError(f"backtest: no closes for universe symbol(s) {missing}")
    closes = closes[symbols]
    if config.universe.end is not None:
        closes = closes.loc[closes.index <= pd.Timestamp(config.universe.end)]
    returns = closes.pct_change().iloc[1:]
    days = config_rebalance_dates(config, closes.index, config.universe.start,
                                  config.universe.end)
    strategy = portfolio_strategy(config)
    risk = risk_settings_for(config, settings)
    sink = MemorySink()
    alerts = AlertManager([sink], cooldown_seconds=0.0)
    manager = RiskManager(risk, alerts=alerts)
    lookback = int(risk.var_lookback_days)
    weights = np.zeros(len(symbols))
    port = pd.Series(np.nan, index=returns.index)
    breaches = 0
    boundaries = list(days) + [None]
    for day, nxt in zip(boundaries[:-1], boundaries[1:], strict=True):
        w = strategy.target_weights(closes, day).reindex(symbols).fillna(0.0).to_numpy(float)
        past = returns.loc[returns.index < day].dropna(how="any").iloc[-lookback:]
        if len(past) > len(symbols):
            snap = manager.update(past, dict(zip(symbols, w, strict=True)),
                                  nav=config.strategy.capital, as_of=day.to_pydatetime())
            breaches += len(snap.breaches)
        weights = w
        span = (returns.index >= day) & ((returns.index < nxt) if nxt is not None else True)
        port[span] = returns.loc[span].fillna(0.0).to_numpy() @ weights
    port = port.dropna()
    if len(port) < 60:
        raise ValueError(f"backtest: only {len(port)} daily returns between "
                         f"{config.universe.start} and {config.universe.end}; need >= 60")
    nav = np.cumprod(1.0 + port.to_numpy())
    peak = np.maximum.accumulate(np.r_[1.0, nav])[1:]
    drawdown = float(np.max(1.0 - nav / peak))
    window = min(252, len(port) // 2)
    var = rolling_var(port.to_numpy(), window=window, confidence=risk.var_confidence)
    bt = backtest_var(port.to_numpy()[window:], var, risk.var_confidence)
    last_state: dict[str, str] = {}
    for ev in sink.events:
        last_state[ev.limit] = ev.state.value
    unresolved = sum(1 for s in last_state.values() if s != "ok")
    return {
        GATE_METRICS["backtest"]: 1.0,
        GATE_METRICS["max_drawdown"]: drawdown,
        GATE_METRICS["var_backtest_zone"]: float(ZONE_CODES[bt.traffic_light.zone.value]),
        GATE_METRICS["risk_limit_breaches"]: float(breaches),
        GATE_METRICS["unresolved_alerts"]: float(unresolved),
        "validation.backtest_days": float(len(port)),
        "validation.var_exceptions": float(bt.n_exceptions),
    }


def tca_gate_metrics(summary: Mapping[str, Any], algorithm: str) -> dict[str, float]:
    """Parent-order count and cost-model z-score moments of ``algorithm`` in a TCA summary
    (the JSON ``qlab tca compare`` records as ``results/tca_compare.json``). A value the study
    did not produce is left out, so its gate fails as "not recorded"."""
    block = summary.get("strategies", {}).get(algorithm)
    if block is None:
        raise ValueError(f"TCA summary has no strategy {algorithm!r} "
                         f"(has {sorted(summary.get('strategies', {}))})")
    out = {GATE_METRICS["parent_orders"]: float(block["n_orders"])}
    z = block.get("z_score") or {}
    if z.get("mean") is not None:
        out[GATE_METRICS["cost_z_mean"]] = float(z["mean"])
    if z.get("std") is not None:
        out[GATE_METRICS["cost_z_std"]] = float(z["std"])
    return out


def record_validation_run(config: Any, metrics: Mapping[str, float], settings: Any, *,
                          tags: Mapping[str, Any] | None = None) -> str:
    """A tracked run holding ``config`` (artifact ``config/run.yaml``, params, hash tag) and
    its gate ``metrics``. Returns the MLflow run id."""
    import yaml

    from research.tracking import tracked_run

    h = config_hash(config)
    with tracked_run("validation", {"config": config.model_dump(mode="json")}, settings=settings,
                     tags={"qlab.config_hash": h, "qlab.config_name": config.name,
                           **(tags or {})}, seed=config.seed) as run:
        run.log_metrics(dict(metrics))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(CONFIG_ARTIFACT).name
            path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=True),
                            encoding="utf-8")
            run.log_artifact(path, str(Path(CONFIG_ARTIFACT).parent))
        return str(run.run_id)
