"""The study on a week of real-shaped minute data (tests/tca/real_shaped.py): one session of
history, a symbol starting a session later, missing minutes, zero-volume bars, an early close.
All six strategies run; when an input is missing the study stops before any strategy runs
and names the symbol and the input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from real_shaped import (
    HISTORY_SESSION,
    LATE_SYMBOL,
    STUDY_SESSIONS,
    real_shaped_orders,
    real_shaped_week,
)
from typer.testing import CliRunner

from research.data.validation import validate_bars
from sim.tca import STRATEGY_NAMES, compare_strategies
from sim.tca._inputs import StudyInputError

NY = "America/New_York"


@pytest.fixture(scope="module")
def week() -> pd.DataFrame:
    return real_shaped_week(seed=7)


def _minute_without_a_bar(bars: pd.DataFrame, symbol: str, day: str) -> pd.Timestamp:
    """A mid-morning minute of ``day`` where ``symbol`` printed no bar but others did."""
    stamps = bars["timestamp"].dt.tz_convert(NY)
    on_day = stamps.dt.strftime("%Y-%m-%d") == day
    all_minutes = set(stamps[on_day])
    own = set(stamps[on_day & (bars["symbol"] == symbol)])
    gaps = sorted(t for t in all_minutes - own if 10 <= t.hour < 12)
    assert gaps, f"the generator left no gap for {symbol} on {day}"
    return gaps[0]


@pytest.fixture(scope="module")
def week_orders(week) -> pd.DataFrame:
    orders = real_shaped_orders(week, seed=11)
    # one decision in a minute where its symbol printed no bar (real feeds skip such minutes)
    gap = _minute_without_a_bar(week, "KO", STUDY_SESSIONS[1])
    extra = pd.DataFrame([{"order_id": "GAP", "symbol": "KO", "side": "buy", "quantity": 700,
                           "decision_time": gap, "horizon_minutes": 30}])
    return pd.concat([orders, extra], ignore_index=True)


@pytest.fixture(scope="module")
def week_result(week, week_orders):
    lines: list[str] = []
    result = compare_strategies(week, week_orders, seed=3, code_version="test",
                                progress=lines.append)
    return result, lines


def test_the_week_is_valid_bar_data_with_real_irregularities(week):
    assert validate_bars(week).ok
    stamps = week["timestamp"].dt.tz_convert(NY)
    day = stamps.dt.strftime("%Y-%m-%d")
    # four sessions (Thanksgiving closed), the last one an early close at 13:00
    assert sorted(day.unique()) == [HISTORY_SESSION, *STUDY_SESSIONS]
    assert stamps[day == STUDY_SESSIONS[-1]].max().strftime("%H:%M") == "13:00"
    # minutes missing per symbol, zero-volume bars, odd lots, one symbol starting later
    per_symbol_day = week.groupby([week["symbol"], day]).size()
    assert (per_symbol_day.loc[(slice(None), STUDY_SESSIONS[0])] < 390).all()
    assert (week["volume"] == 0).sum() > 20
    assert (week.loc[week["volume"] > 0, "volume"] % 100 != 0).mean() > 0.9
    assert day[week["symbol"] == LATE_SYMBOL].min() == STUDY_SESSIONS[0]
    spread_ticks = np.round((week["ask"] - week["bid"]) / 0.01)
    assert (spread_ticks >= 1).all() and spread_ticks.max() >= 10  # wide at times, never crossed


def test_all_six_strategies_run_with_one_session_of_history(week_result, week_orders):
    result, lines = week_result
    doc = json.loads(result.to_json())
    assert set(doc["strategies"]) == set(STRATEGY_NAMES)
    po = result.per_order
    for name in STRATEGY_NAMES:
        run = po[po["strategy"] == name]
        assert sorted(run["order_id"]) == sorted(week_orders["order_id"])
        assert np.isfinite(run["is_bps"]).all(), name
        assert np.isfinite(run["z"]).all(), name  # the cost model priced every order
    cost = doc["meta"]["assumptions"]["cost_model"]
    assert cost["prediction_error"] is None
    # one session of daily history: the volatility is the intraday estimate, and it says so
    assert set(cost["daily_vol_method"]) == {"AAPL", "JPM", "KO", "XOM"}
    assert set(cost["daily_vol_method"].values()) == {"intraday_realised_5min"}
    assert "overnight gap excluded" in cost["daily_vol_method_text"]["intraday_realised_5min"]
    assert any("5-minute realised volatility" in line and "XOM" in line for line in lines)


def test_a_symbol_starting_later_learns_from_its_own_first_session(week_result):
    result, lines = week_result
    meta = result.summary["meta"]
    history = meta["bars"]["history_per_symbol"]
    assert history[LATE_SYMBOL]["own_later_history"] is True
    assert history[LATE_SYMBOL]["first_bar"].startswith(STUDY_SESSIONS[0])
    assert history[LATE_SYMBOL]["last_bar"] < STUDY_SESSIONS[1]
    for symbol in ("AAPL", "JPM", "KO"):
        assert history[symbol]["own_later_history"] is False
        assert history[symbol]["last_bar"] < STUDY_SESSIONS[0]
    # the pooled models still learn from before the study only (no look-ahead for the others)
    assert meta["assumptions"]["cost_model"]["fitted_through"] < STUDY_SESSIONS[0]
    assert "symbols' histories do not overlap" in meta["assumptions"]["risk_returns"]


def test_missing_minutes_do_not_flatten_the_vwap_profile(week_result):
    result, _ = week_result
    assert result.summary["meta"]["assumptions"]["vwap_profile"].startswith(
        "pooled past volume profile (3 symbol-sessions")
    po = result.per_order.set_index(["strategy", "order_id"])["is_bps"]
    assert not np.allclose(po["vwap"], po["twap"])  # a flat profile would make them equal


def test_a_decision_in_a_minute_without_a_bar_uses_the_last_mid(week_result, week):
    result, lines = week_result
    assert result.summary["meta"]["assumptions"]["arrival_mid_from_an_earlier_bar"] == 1
    gap = result.per_order.query("order_id == 'GAP' and strategy == 'market'").iloc[0]
    ko = week[(week["symbol"] == "KO")
              & (week["timestamp"] < pd.Timestamp(f"{STUDY_SESSIONS[1]} 12:00", tz=NY))]
    ko = ko[ko["timestamp"] <= _minute_without_a_bar(week, "KO", STUDY_SESSIONS[1])].iloc[-1]
    assert gap["decision_mid"] == pytest.approx(0.5 * (ko["bid"] + ko["ask"]))
    # the engine's arrival price is the same bar's mid in this run's prices (which carry the
    # run's own permanent impact: a few hundredths of a bp to a bp away from the raw mid)
    assert gap["arrival_mid"] == pytest.approx(gap["decision_mid"], rel=2e-4)
    assert any("without a bar of their symbol" in line for line in lines)


def _fails_before_any_strategy(bars, orders) -> StudyInputError:
    lines: list[str] = []
    with pytest.raises(StudyInputError) as info:
        compare_strategies(bars, orders, seed=3, code_version="test",
                           progress=lines.append)
    assert not any("done in" in line for line in lines), lines
    return info.value


def test_a_symbol_without_any_history_is_named_with_its_orders(week, week_orders):
    orders = week_orders.copy()
    first = pd.Timestamp(f"{STUDY_SESSIONS[0]} 11:00", tz=NY)
    orders.loc[len(orders)] = ["EARLY", LATE_SYMBOL, "sell", 500, first, 30]
    error = _fails_before_any_strategy(week, orders)
    assert len(error.problems) == 1
    assert error.problems[0].startswith(f"{LATE_SYMBOL}: history: no bar before its first "
                                        f"order's session ({STUDY_SESSIONS[0]}; order(s) EARLY)")


def test_every_missing_input_is_listed_at_once(week, week_orders):
    stamps = week["timestamp"].dt.tz_convert(NY)
    monday = stamps.dt.strftime("%Y-%m-%d") == HISTORY_SESSION
    bars = week.copy()
    # JPM: only the first 20 minutes of history (4 five-minute returns: no volatility)
    jpm_late = monday & (bars["symbol"] == "JPM") & (stamps > stamps[monday].min()
                                                      + pd.Timedelta(minutes=20))
    bars = bars[~jpm_late]
    # KO: history without a single traded share
    bars.loc[monday[bars.index] & (bars["symbol"] == "KO"), "volume"] = 0.0
    error = _fails_before_any_strategy(bars, week_orders)
    text = "\n".join(error.problems)
    assert any(p.startswith("JPM: daily volatility (the IS strategy's sigma)")
               for p in error.problems), text
    assert any(p.startswith("KO: average daily volume") for p in error.problems), text
    assert "AAPL" not in text and "XOM" not in text
    assert str(error).startswith("tca: the study cannot run, 2 input(s) missing")


def test_cli_runs_the_week_and_names_what_is_missing(tmp_path, week, week_orders):
    from sim.cli import tca_app

    bars_csv, orders_csv = tmp_path / "bars.csv", tmp_path / "orders.csv"
    week.to_csv(bars_csv, index=False)
    week_orders.to_csv(orders_csv, index=False)
    out = tmp_path / "r.json"
    args = ["compare", "--bars", str(bars_csv), "--orders", str(orders_csv), "--seed", "3",
            "--no-track", "--json", str(out)]
    res = CliRunner().invoke(tca_app, args)
    assert res.exit_code == 0, res.output
    assert "5-minute realised volatility" in res.output and "is " in res.output
    assert math.isfinite(json.loads(out.read_text())["strategies"]["is"]["is_bps"]["mean"])

    early = week_orders.copy()
    early.loc[len(early)] = ["EARLY", LATE_SYMBOL, "sell", 500,
                             pd.Timestamp(f"{STUDY_SESSIONS[0]} 11:00", tz=NY), 30]
    early.to_csv(orders_csv, index=False)
    res = CliRunner().invoke(tca_app, args)
    assert res.exit_code == 2
    assert f"{LATE_SYMBOL}: history: no bar before its first order's session" in res.output
    assert "Traceback" not in res.output and "done in" not in res.output


def test_an_untraded_symbol_without_history_does_not_stop_the_study(week, week_orders):
    orders = week_orders[week_orders["symbol"] != LATE_SYMBOL]
    result = compare_strategies(week, orders, ("market", "is"), seed=3,
                                code_version="test")
    meta = result.summary["meta"]
    assert LATE_SYMBOL in meta["bars"]["symbols"]  # still in the replay, never traded
    assert LATE_SYMBOL not in meta["bars"]["history_per_symbol"]
    assert "do not overlap" not in meta["assumptions"]["risk_returns"]


def test_the_first_decision_may_fall_in_a_minute_without_a_bar(week):
    gap = _minute_without_a_bar(week, "KO", STUDY_SESSIONS[0])
    orders = pd.DataFrame([
        {"order_id": "FIRST", "symbol": "KO", "side": "sell", "quantity": 400,
         "decision_time": gap, "horizon_minutes": 15},
        {"order_id": "LATER", "symbol": "AAPL", "side": "buy", "quantity": 900,
         "decision_time": gap + pd.Timedelta(minutes=30), "horizon_minutes": 15}])
    result = compare_strategies(week, orders, ("market",), seed=3,
                                code_version="test")
    meta = result.summary["meta"]
    assert meta["assumptions"]["arrival_mid_from_an_earlier_bar"] == 1
    # the replay starts at KO's last bar before the decision, where its arrival mid comes from
    assert pd.Timestamp(meta["bars"]["study_first_bar"]) < gap
    assert result.per_order["is_bps"].notna().all()


def test_an_order_no_strategy_can_fill_is_named_before_any_strategy_runs(week, week_orders):
    """A symbol that trades nothing between an order's decision and its deadline: every
    strategy would fill 0% and report pure opportunity cost as its "IS"."""
    first = week_orders.iloc[0]
    t0 = pd.Timestamp(first["decision_time"])
    end = t0 + pd.Timedelta(minutes=int(first["horizon_minutes"]) + 10)
    stamps = week["timestamp"]
    silent = week.copy()
    dead = (silent["symbol"] == first["symbol"]) & (stamps > t0) & (stamps <= end)
    silent.loc[dead, "volume"] = 0.0
    error = _fails_before_any_strategy(silent, week_orders)
    text = str(error)
    assert f"order {first['order_id']}" in text and "no market volume" in text
    assert first["symbol"] in text
