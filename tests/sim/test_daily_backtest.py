"""The daily replay (sim/daily_market.py): the two bars a session, the response paths read only
the past, a hand-checked fill, the participation cap carried across sessions, no look-ahead
through the loop, costs that add up, and the same inputs giving the same JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings
from research.data.schema import EXCHANGE_TZ

SYMBOLS = ["AAPL", "JPM", "XOM", "KO"]
START, END = "2021-06-01", "2021-09-30"


def config(capital=5e6, **strategy):
    return RunConfig(name="daily", universe={"symbols": SYMBOLS},
                     strategy={"kind": "inverse_volatility", "rebalance": "monthly",
                               "lookback_days": 20, "capital": capital, **strategy},
                     execution={"algorithm": "twap", "horizon_minutes": 390}, risk=LIMITS_OFF)


def backtest(closes, cfg=None, settings=None, **kw):
    from research.data import load_sp500_index
    from sim.backtest import run_daily_backtest

    kw.setdefault("end", END)
    kw.setdefault("benchmark", load_sp500_index())
    return run_daily_backtest(cfg or config(), settings or Settings(), closes, start=START,
                              **kw)


@pytest.fixture(scope="module")
def closes(sp500_closes):
    return sp500_closes.loc[:"2021-12-31", SYMBOLS]


@pytest.fixture(scope="module")
def result(closes):
    return backtest(closes)


def test_each_session_is_an_opening_auction_bar_then_the_session_bar(closes):
    from sim.daily_market import OPEN_AUCTION_VOLUME_SHARE, build_daily_market

    m = build_daily_market(closes, start="2021-11-24", end="2021-11-29",
                           adv_usd={"AAPL": 1e9})
    r = m.replay
    stamps = [t.strftime("%m-%d %H:%M") for t in r.timestamps]
    # the day after Thanksgiving closes at 13:00 (the exchange calendar's early close)
    assert stamps == ["11-24 09:30", "11-24 16:00", "11-26 09:30", "11-26 13:00",
                      "11-29 09:30", "11-29 16:00"]
    day_closes = closes.loc["2021-11-23":"2021-11-29"].to_numpy()
    np.testing.assert_array_equal(r.close[1::2], day_closes[1:])
    np.testing.assert_array_equal(r.open[0::2], day_closes[:-1])  # opens at the prior close
    # AAPL's volume: the given dollar ADV over the close, split auction / session
    shares = np.floor(1e9 / day_closes[1:, 0])
    np.testing.assert_array_equal(r.volume[0::2, 0], np.floor(OPEN_AUCTION_VOLUME_SHARE * shares))
    np.testing.assert_array_equal(r.volume[0::2, 0] + r.volume[1::2, 0], shares)
    assert m.volume_modelled and any("volume" in n for n in m.notes)


def test_a_session_without_a_close_has_no_opening_auction_either(closes):
    """A name with no bar on a session (halted, delisted) has no auction at the open: no price
    to fill or mark at — not the previous close, which closes-only data opens at otherwise."""
    from sim.daily_market import build_daily_market

    halted = closes.copy()
    halted.loc["2021-11-26", "KO"] = np.nan
    r = build_daily_market(halted, start="2021-11-24", end="2021-11-29").replay
    ko = list(r.symbols).index("KO")
    assert np.isnan(r.open[2, ko]) and np.isnan(r.close[2, ko]) and r.volume[2, ko] == 0
    assert np.isfinite(r.open[[0, 4], ko]).all()  # the sessions around it open as before
    # back from a stop (5 sessions without a bar): no auction at a close a week old
    stopped = closes.copy()
    stopped.loc["2021-11-17":"2021-11-23", "KO"] = np.nan
    r = build_daily_market(stopped, start="2021-11-24", end="2021-11-29").replay
    assert np.isnan(r.open[0, ko]) and np.isfinite(r.close[1, ko])
    assert np.isfinite(r.open[2, ko])  # the session after opens at the 24th's close


def test_the_loop_counts_each_symbol_s_sessions_without_a_close():
    from research.trading.closes import SessionCloses

    nan = np.nan
    frame = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [1.0, nan, nan], "C": [nan, nan, nan],
                          "D": [nan, 1.0, 2.0]}, index=pd.bdate_range("2021-06-01", periods=3))
    np.testing.assert_array_equal(SessionCloses(frame).sessions_without_close(), [0, 2, 3, 0])


def test_the_response_paths_read_only_earlier_sessions(closes):
    from sim.daily_market import build_daily_market

    base = build_daily_market(closes, start="2021-06-01", end="2021-06-30")
    later = closes.copy()
    later.loc["2021-06-15":, "JPM"] *= 1.2  # a jump on the 15th and nothing else
    moved = build_daily_market(later, start="2021-06-01", end="2021-06-30")
    day = [t.date().isoformat() for t in base.replay.timestamps]
    upto = day.index("2021-06-15") + 2  # both bars of the 15th: sigma still from the 14th
    for key in ("sigma_path", "perm_coef_path"):
        np.testing.assert_array_equal(base.broker_options[key][:upto],
                                      moved.broker_options[key][:upto])
        assert not np.array_equal(base.broker_options[key][upto:, 1],
                                  moved.broker_options[key][upto:, 1])


def test_a_market_order_fills_at_the_session_close_as_the_model_says(closes):
    """One child, hand-priced: the session's close + half spread, times 1 + Y sigma sqrt(Q / V)
    of the session bar (sigma: the daily volatility of the sessions before)."""
    from research.domain import Order, OrderType, Side, TimeInForce
    from sim.broker import SimulatedBroker
    from sim.daily_market import build_daily_market

    m = build_daily_market(closes, start="2021-06-01", end="2021-06-04",
                           fallback_half_spread_bps=1.5, permanent_impact=0.0)
    settings = Settings().simulation
    broker = SimulatedBroker(m.replay, settings, **m.broker_options)
    broker.process_bar(0)
    broker.submit(Order("c1", "AAPL", Side.BUY, 10_000, OrderType.MARKET, None, TimeInForce.DAY))
    broker.process_bar(1)
    (fill,) = broker.fills()
    close, volume = m.replay.close[1, 0], m.replay.volume[1, 0]
    sigma = m.broker_options["sigma_path"][1, 0]
    expected = close * (1 + 1.5e-4) * (1 + settings.impact_y * sigma * np.sqrt(10_000 / volume))
    assert fill.price == pytest.approx(expected, rel=1e-12)
    assert fill.timestamp == m.replay.timestamps[1]


def test_an_order_larger_than_the_cap_is_worked_over_several_sessions(closes):
    """With 1% of the day's volume on offer, a parent of ~3 days' cap fills over >= 3 sessions
    and never takes more than the cap of a bar."""
    settings = Settings()
    settings = settings.model_copy(update={"simulation": settings.simulation.model_copy(
        update={"max_participation": 0.01})})
    cfg = RunConfig(name="cap", universe={"symbols": ["KO"]},
                    strategy={"kind": "equal_weight", "rebalance": "monthly", "capital": 2.5e7},
                    execution={"algorithm": "market"}, risk=LIMITS_OFF)
    from sim.backtest import run_daily_backtest

    res = run_daily_backtest(cfg, settings, closes[["KO"]], start="2021-06-01",
                             end="2021-06-30", bars={"volume": pd.DataFrame(
                                 4e5, index=closes.index, columns=["KO"])})
    fills = res.trades
    assert fills["time"].map(lambda t: t[:10] if isinstance(t, str) else t.date()).nunique() >= 3
    bar_volume = np.where(fills["time"].map(lambda t: t.hour) == 9, np.floor(0.02 * 4e5),
                          4e5 - np.floor(0.02 * 4e5))
    assert (fills["quantity"] <= np.floor(0.01 * bar_volume)).all()
    assert res.meta["assumptions"] and not any("volume" in a for a in res.meta["assumptions"])


def test_accounts_match_the_broker_and_costs_add_up(closes):
    # without permanent impact the run sees the recorded closes, so the equity can be checked
    # against them by hand
    settings = Settings()
    settings = settings.model_copy(update={"simulation": settings.simulation.model_copy(
        update={"permanent_impact": 0.0})})
    result = backtest(closes, settings=settings)
    c = result.costs_dollars
    trades = result.trades
    assert len(trades) > 0 and c["fees"] == pytest.approx(trades["fees"].sum(), rel=1e-12)
    assert c["total"] == pytest.approx(sum(c[k] for k in (
        "delay", "spread", "impact", "timing", "opportunity", "fees")), rel=1e-12)
    assert c["spread"] > 0 and c["impact"] > 0
    # equity: cash + marked positions at each session's close, from the fills alone
    eq = result.equity
    cash = 5e6 - ((trades["side"].map({"buy": 1, "sell": -1}) * trades["quantity"]
                   * trades["price"]).sum() + trades["fees"].sum())
    held = trades.assign(q=trades["side"].map({"buy": 1, "sell": -1}) * trades["quantity"]
                         ).groupby("symbol")["q"].sum()
    last = closes.loc[eq.index[-1], held.index]
    assert eq.iloc[-1] == pytest.approx(cash + float((held * last).sum()), rel=1e-9)
    assert result.meta["frequency"] == "daily"


def test_no_look_ahead_later_closes_change_nothing_before_them(closes, result):
    """Closes from mid-August on are rewritten: every decision and fill before then stays."""
    changed = closes.copy()
    changed.loc["2021-08-16":] *= np.linspace(0.8, 1.3, len(SYMBOLS))
    other = backtest(changed)
    cut = pd.Timestamp("2021-08-16", tz="America/New_York")
    before = result.trades[result.trades["time"] < cut].reset_index(drop=True)
    assert len(before) > 0
    pd.testing.assert_frame_equal(
        before, other.trades[other.trades["time"] < cut].reset_index(drop=True))
    assert result.decisions[:3] == other.decisions[:3]  # June, July, August 2nd
    assert result.decisions[3:] != other.decisions[3:]  # September's saw the rewrite


def test_a_strategy_reading_the_future_is_caught(closes):
    """A strategy that looks up the decision day's own close finds none: the loop hands it the
    closes strictly before the session, so the peek fails loudly instead of profiting."""
    import research.trading.loop as loop_module

    class Peeking:
        history_sessions = 30

        def target_weights(self, past, asof):
            day = pd.Timestamp(asof).normalize()
            assert past.index.max() < day  # what the loop hands over
            today = past.loc[day]  # the peek: raises KeyError, the day is not there
            return (today / today.sum()).rename("weight")

    original = loop_module.portfolio_strategy
    loop_module.portfolio_strategy = lambda config: Peeking()
    try:
        with pytest.raises(KeyError):
            backtest(closes)
    finally:
        loop_module.portfolio_strategy = original


def test_same_inputs_same_json(closes, result):
    again = backtest(closes)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(result.to_json(),
                                                                    sort_keys=True)


def test_fees_before_the_schedule_existed_are_backdated_and_said(sp500_closes):
    from sim.backtest import run_daily_backtest

    res = run_daily_backtest(config(), Settings(), sp500_closes[SYMBOLS], start="2011-11-01",
                             end="2012-02-28")
    assert any("2012-01-17" in a and "first version" in a for a in res.meta["assumptions"])
    assert res.trades["fees"].gt(0).all()


def test_limit_usage_is_recorded_each_session_and_trims_hold_but_for_drift(closes):
    """Equal weight on four names (25% targets) under a 20% position limit: every child is
    trimmed to the limit, so at each close the largest position is within the limit grown by
    the prices' drift since the checks: B_t = max(limit, B_t-1) x (largest price relative of
    the day / min(smallest, 1)) — cash does not move."""
    cfg = RunConfig(name="caps", universe={"symbols": SYMBOLS},
                    strategy={"kind": "equal_weight", "rebalance": "monthly", "capital": 5e6},
                    execution={"algorithm": "twap", "horizon_minutes": 390},
                    risk={**LIMITS_OFF, "max_position_weight": 0.2, "max_sector_weight": 1.0})
    res = backtest(closes, cfg=cfg)
    usage = res.limit_usage.set_index("session")
    sessions = [f"{d:%Y-%m-%d}" for d in res.equity.index[1:]]
    assert list(usage.index) == sessions  # one row a session, the replay's own
    assert (res.risk_events["limits"] == "position_weight").any()
    assert res.to_json()["meta"]["limits"]["max_position_weight"] == 0.2
    px = closes.loc[:END]
    rel = (px / px.shift(1)).loc[START:END]
    bound = 0.0
    for day, row in usage.iterrows():
        r = rel.loc[day]
        bound = max(0.2, bound) * r.max() / min(r.min(), 1.0)
        assert row["position_weight"] <= bound * (1 + 1e-3), day
    assert usage["position_weight"].max() > 0.19  # the limit did bind
    forecasts = res.risk_forecasts
    assert list(forecasts["session"]) == sessions
    assert (forecasts["var"] >= 0).all() and (forecasts["horizon_days"] == 21).all()


@pytest.mark.parametrize("gap", [0.92, 1.0])
def test_an_overnight_loss_past_the_limit_halts_the_open_s_orders_until_the_next_session(
        closes, gap):
    """With opens, a daily bar shows the overnight move at the opening auction, and the book
    is marked there before the open's orders go out: an 8% gap down at a 2% daily-loss limit
    with 'halt' halts before the rebalance sends anything (it is worked from the next
    session); without the gap, the rebalance fills on its own session."""
    day = "2021-07-01"  # a monthly rebalance session
    opens = closes.shift(1)
    opens.loc[day] *= gap
    cfg = config()
    cfg = cfg.model_copy(update={"risk": cfg.risk.model_copy(update={
        "daily_loss_limit": 0.02, "on_daily_loss": "halt"})})
    r = backtest(closes, cfg, end="2021-07-09", bars={"open": opens})
    rebalance = r.trades[r.trades.parent_id.str.contains("20210701")]
    filled_on = {f"{t:%Y-%m-%d}" for t in pd.to_datetime(rebalance.time)}
    halts = r.risk_events[r.risk_events.limits == "daily_loss"]
    if gap < 1:
        assert filled_on == {"2021-07-02"}
        assert f"{day}T09:30:00-04:00" in set(halts.time)
    else:
        assert filled_on == {day}
        assert not (halts.time.str[:10] == day).any()
    assert any(a.startswith("daily-loss limit: a daily bar shows a session's loss at its "
                            "opening auction") for a in r.meta["assumptions"])


def test_the_output_says_what_the_benchmark_is(result):
    """The embedded S&P 500 is a price index while the closes are dividend-adjusted: alpha
    against it is flattered, and the JSON (and the CLI, the report) say so."""
    from research.data.sources import SP500_INDEX_DESCRIPTION

    benchmark = result.to_json()["meta"]["conventions"]["benchmark"]
    assert benchmark == SP500_INDEX_DESCRIPTION and "no dividends" in benchmark


def test_a_run_past_the_benchmark_s_data_has_null_benchmark_metrics_and_says_why(closes):
    """The embedded S&P 500 ends in 2022: a run on later data is not refused, its benchmark
    metrics are null and the conventions name the first session without a level."""
    from research.data import load_sp500_index

    index = load_sp500_index()
    short = index.loc[:"2021-08-31"]
    short.attrs = index.attrs
    res = backtest(closes, benchmark=short)
    out = res.to_json()
    assert all(out["metrics"][k] is None for k in ("alpha", "beta", "tracking_error",
                                                   "information_ratio"))
    assert out["metrics"]["sharpe"] is not None
    text = out["meta"]["conventions"]["benchmark"]
    assert "no dividends" in text and "first outside: 2021-09-01" in text and "null" in text
    full = backtest(closes).to_json()["metrics"]
    assert full["alpha"] is not None and full["sharpe"] == out["metrics"]["sharpe"]


def test_names_outside_the_embedded_map_trade_with_the_config_s_sectors(closes):
    """Own tickers have no embedded GICS sector: the run config names them
    (universe.sectors), the sector limit binds on those sectors, and the attribution in the
    JSON groups by them. Without them the error names the field to set."""
    from research.risk.errors import UnknownSectorError

    own = closes.rename(columns=dict(zip(SYMBOLS, ["QA", "QB", "QC", "QD"], strict=True)))
    cfg = config().model_copy(deep=True)
    cfg.universe.symbols = list(own.columns)
    with pytest.raises(UnknownSectorError, match="universe.sectors"):
        backtest(own, cfg)
    cfg.universe.sectors = {"QA": "Alpha", "QB": "Alpha", "QC": "Beta", "QD": "Gamma"}
    cfg.risk.max_sector_weight = 0.4
    res = backtest(own, cfg)
    out = res.to_json()
    assert set(out["attribution"]["by_sector"]["sectors"]) == {"Alpha", "Beta", "Gamma", "cash"}
    alpha = res.account.positions[["QA", "QB"]].mul(res.closes[["QA", "QB"]]).sum(axis=1)
    bought = res.trades[res.trades.symbol.isin(["QA", "QB"]) & (res.trades.side == "buy")]
    days = pd.DatetimeIndex(pd.to_datetime(bought.time).dt.tz_localize(None).dt.normalize())
    assert len(days) and (alpha / res.account.equity).loc[days.unique()].max() <= 0.4 * 1.01
    assert (res.risk_events.limits.str.contains("sector")).any()


def test_too_little_history_before_the_start_is_refused_naming_the_short_names(closes):
    """Names that all begin trading shortly before the start leave the risk model no history:
    the error says how much there is, what is needed and which names are short."""
    late = closes.copy()
    late.loc[:"2021-05-20"] = np.nan  # the data begins on 2021-05-21
    with pytest.raises(ValueError, match=r"2021-06-01: 5 session\(s\) before it have a return "
                       r"for every symbol the risk model covers; it needs at least 20 \(more "
                       r"than the 4 symbols.*Fewest closes: AAPL \(6 close\(s\)\).*Start later"):
        backtest(late)


def short_window_settings(days=40):
    settings = Settings()
    return settings.model_copy(update={"risk": settings.risk.model_copy(
        update={"var_lookback_days": days})})


def test_a_name_listed_inside_the_replay_joins_once_the_risk_model_covers_it(closes):
    """KO "lists" on 2021-05-21, after the others' years of history: it is left out of the
    strategy's universe (the others are sized without it, nothing of it trades) until it has
    a return on 90% of the risk model's 40-session window, then sized like the others; the
    output says when."""
    late = closes.copy()
    late.loc[:"2021-05-20", "KO"] = np.nan
    res = backtest(late, settings=short_window_settings())
    out = res.to_json()
    weights = {d["session"]: d["weights"] for d in out["decisions"]}
    assert list(weights) == ["2021-06-01", "2021-07-01", "2021-08-02", "2021-09-01"]
    assert weights["2021-06-01"]["KO"] == 0.0 and weights["2021-07-01"]["KO"] == 0.0
    assert sum(weights["2021-06-01"].values()) == pytest.approx(1.0)
    assert weights["2021-08-02"]["KO"] > 0.1 and weights["2021-09-01"]["KO"] > 0.1
    ko = res.trades[res.trades.symbol == "KO"]
    assert len(ko) and pd.to_datetime(ko.time).min() >= pd.Timestamp("2021-08-02", tz=EXCHANGE_TZ)
    notes = [n for n in out["meta"]["assumptions"] if n.startswith("universe on")]
    # 36 of 40 returns: KO's 36th return is its close of 2021-07-14, so it is in from the 15th
    assert notes[0].startswith("universe on 2021-06-01: KO not covered")
    assert notes[1].startswith("universe on 2021-07-15: KO joined")
    assert "90% of the sessions the best-covered name has one in its 40-session window" in notes[1]


def test_a_name_listed_inside_the_replay_is_said_to_list_not_to_resume(closes):
    """KO's first bar is on 2021-06-15, inside the replay: the notes say it has its first bar
    (it used to read "KO has bars again", as if it had stopped), then when it joins."""
    late = closes.copy()
    late.loc[:"2021-06-14", "KO"] = np.nan
    out = backtest(late, settings=short_window_settings()).to_json()
    notes = [n for n in out["meta"]["assumptions"] if n.startswith("universe on")]
    assert notes[1] == "universe on 2021-06-15: KO has its first bar"
    assert not any("has bars again" in n or "stopped trading" in n for n in notes)
    assert notes[2].startswith("universe on 2021-08-06: KO joined")


def test_risk_budgets_name_a_listed_late_name_that_joins_later(closes):
    """Risk budgets are set for the whole universe: a budgeted name the risk model does not
    cover yet is sized 0 (budgets renormalised over the others), not an error that it is
    'not in the universe' (the strategy sees every column, the late one without closes)."""
    late = closes.copy()
    late.loc[:"2021-05-20", "KO"] = np.nan
    cfg = config(kind="risk_budget", risk_budget={"budgets": dict.fromkeys(SYMBOLS, 0.25)})
    weights = {d["session"]: d["weights"]["KO"]
               for d in backtest(late, cfg, settings=short_window_settings()).decisions}
    assert weights["2021-06-01"] == weights["2021-07-01"] == 0.0
    assert weights["2021-08-02"] > 0.1


def test_a_late_name_without_a_sector_is_refused_before_the_first_session(closes):
    """The sector of a name listed late is needed when it joins the risk model: it is asked
    for before the first session, not months into the run (nor, for a name that never joins,
    only by the attribution once the replay is done)."""
    from research.risk.errors import UnknownSectorError

    late = closes.rename(columns={"KO": "QD"})
    late.loc[:"2021-05-20", "QD"] = np.nan
    cfg = config().model_copy(deep=True)
    cfg.universe.symbols = ["AAPL", "JPM", "XOM", "QD"]
    with pytest.raises(UnknownSectorError, match=r"\['QD'\].*universe.sectors"):
        backtest(late, cfg, settings=short_window_settings(), end="2021-06-30")


def test_a_strategy_weighing_a_name_the_risk_model_does_not_cover_does_not_trade_it(closes):
    """A strategy that sizes a name it was given no closes for (its own universe, not the
    columns handed to it) does not get it traded: the pre-trade check could not measure it
    (the risk manager refuses an order in a name it does not cover)."""
    import research.trading.loop as loop_module

    class Everyone:
        history_sessions = 2

        def target_weights(self, past, asof):
            return pd.Series(1.0 / len(SYMBOLS), index=SYMBOLS, name="weight")

    late = closes.copy()
    late.loc[:"2021-05-20", "KO"] = np.nan
    original = loop_module.portfolio_strategy
    loop_module.portfolio_strategy = lambda config: Everyone()
    try:
        res = backtest(late, settings=short_window_settings())
    finally:
        loop_module.portfolio_strategy = original
    weights = {d["session"]: d["weights"]["KO"] for d in res.decisions}
    assert weights["2021-06-01"] == weights["2021-07-01"] == 0.0
    assert weights["2021-08-02"] == 0.25
    ko = res.trades[res.trades.symbol == "KO"]
    assert pd.to_datetime(ko.time).min() >= pd.Timestamp("2021-08-02", tz=EXCHANGE_TZ)


@pytest.mark.parametrize("kind", ["inverse_volatility", "risk_parity", "equal_weight"])
def test_a_name_whose_bars_end_is_kept_at_its_last_close_and_not_sized_again(closes, kind):
    """KO's bars end on 2021-07-15 (a delisting): five sessions later it has stopped trading.
    Every strategy leaves it unsized from then on (risk parity used to give its flat carried
    close ~40% for its "zero volatility"); the position is kept at its last close — what a
    cash-out at that price is worth — with no sell that could never fill, and the others are
    sized on NAV less its value, not on all of it (which would borrow it)."""
    gone = closes.copy()
    gone.loc["2021-07-16":, "KO"] = np.nan
    cfg = config(kind=kind) if kind != "inverse_volatility" else config()
    res = backtest(gone, cfg, settings=short_window_settings())
    out = res.to_json()
    weights = {d["session"]: d["weights"] for d in out["decisions"]}
    strategy = {d["session"]: d["strategy_weights"] for d in out["decisions"]}
    assert weights["2021-07-01"]["KO"] > 0.1
    assert strategy["2021-08-02"]["KO"] == strategy["2021-09-01"]["KO"] == 0.0
    assert sum(strategy["2021-08-02"].values()) == pytest.approx(1.0)
    # the decided weights are fractions of NAV: KO's is its kept position's, the others share
    # the rest
    assert weights["2021-08-02"]["KO"] > 0.1
    assert sum(weights["2021-08-02"].values()) == pytest.approx(1.0)
    ko = res.account.positions["KO"]
    held = ko.loc["2021-07-15"]
    assert held > 0 and (ko.loc["2021-07-15":] == held).all()
    assert not (pd.to_datetime(res.trades.time).dt.tz_localize(None) > "2021-07-16").to_numpy()[
        (res.trades.symbol == "KO").to_numpy()].any()
    assert out["meta"]["dropped_parents"] == {}
    last_close = gone["KO"].loc["2021-07-15"]
    value = res.account.positions.mul(res.closes.ffill()).sum(axis=1)
    assert (value / res.account.equity).loc["2021-08-03":].max() < 1.0 + 1e-3  # not borrowed
    assert res.account.equity.loc["2021-09-30"] > held * last_close
    (note,) = [n for n in out["meta"]["assumptions"] if "stopped trading" in n]
    assert note.startswith("universe on 2021-07-22: KO stopped trading (no bar on 5 sessions")


@pytest.mark.parametrize("policy", ["drift", "reject", "rescale"])
def test_a_kept_position_is_not_paid_for_by_the_other_names(closes, policy):
    """KO stops trading on 2021-07-22 with a quarter of the book; AAPL then jumps 50% on
    2021-08-10, over the 30% position limit. A drift reduction sells AAPL back to the limit
    and nothing else (it used to size its book-based weights on NAV less KO's value, selling
    JPM and XOM by KO's share of NAV on every drift session); 'reject' and 'rescale' compare
    the strategy's target with the book on one basis, NAV (the 2021-08-02 target, a quarter
    each with KO's kept quarter, is within the limit: it used to read as a third each, be
    rejected, and the rejection then sold every name by KO's share)."""
    gone = closes.copy()
    gone.loc["2021-07-16":, "KO"] = np.nan
    gone.loc["2021-08-10":, "AAPL"] *= 1.5
    risk = {**LIMITS_OFF, "max_position_weight": 0.3}
    risk.update({"on_drift": "reduce"} if policy == "drift" else {"on_target_breach": policy})
    cfg = RunConfig(name="kept", universe={"symbols": SYMBOLS},
                    strategy={"kind": "equal_weight", "rebalance": "monthly", "capital": 5e6},
                    execution={"algorithm": "twap", "horizon_minutes": 390}, risk=risk)
    res = backtest(gone, cfg, settings=short_window_settings())
    value = res.account.positions.mul(res.closes.ffill())
    weight = value.div(res.account.equity, axis=0)
    assert weight.loc["2021-08-02", ["AAPL", "JPM", "XOM"]].min() > 0.24  # sized, not rejected
    assert weight.sum(axis=1).loc["2021-08-02":].max() < 1.0 + 1e-3
    day = pd.to_datetime(res.trades.time).dt.tz_convert(EXCHANGE_TZ).dt.strftime("%Y-%m-%d")
    after = res.trades[(day > "2021-08-02").to_numpy() & (day < "2021-09-01").to_numpy()]
    assert set(after.symbol) <= {"AAPL"}  # only the name over its limit is traded back
    if policy == "drift":
        assert (after.side == "sell").all() and len(after)
        assert weight.loc["2021-08-11", "AAPL"] == pytest.approx(0.3, abs=0.01)
    assert weight.loc["2021-08-11", ["JPM", "XOM"]].min() > 0.2
    assert not (res.risk_events["decision"] == "rejected").any()


def test_a_name_whose_closes_stop_is_not_priced_at_a_close_from_before_the_gap(closes):
    """KO's closes stop on 2021-02-26 and its bars resume only on 2021-07-01: the sessions in
    between are not filled with its February close (a flat price the strategy would size as
    zero volatility, the book value at a price months old); KO rejoins once it has the
    history again."""
    gap = closes.copy()
    gap.loc["2021-03-01":"2021-06-30", "KO"] = np.nan
    res = backtest(gap, settings=short_window_settings())
    held = res.closes["KO"]
    assert held.loc["2021-06-01":"2021-06-30"].isna().all()
    weights = {d["session"]: d["weights"]["KO"] for d in res.to_json()["decisions"]}
    assert weights["2021-06-01"] == weights["2021-07-01"] == weights["2021-08-02"] == 0.0
    assert weights["2021-09-01"] > 0.1


def test_a_var_lookback_shorter_than_the_risk_model_needs_names_the_setting(closes):
    settings = Settings()
    settings = settings.model_copy(update={"risk": settings.risk.model_copy(
        update={"var_lookback_days": 10})})
    with pytest.raises(ValueError, match="risk.var_lookback_days is 10, but the risk model "
                                         "needs at least 20 returns"):
        backtest(closes, settings=settings)


def test_a_split_shaped_move_is_named_where_it_acts(closes):
    """In the traded sessions it is booked as P&L; in the lookback only the estimators read
    it; before the estimators' reach it is not mentioned."""
    from sim.daily_market import build_daily_market

    def note(frame, start):
        m = build_daily_market(frame, start=start, end="2021-09-30")
        return [n for n in m.notes if n.startswith("prices")]

    moved = closes.copy()
    moved.loc["2021-07-01":, "KO"] /= 2  # an unadjusted 2:1 split on 2021-07-01
    (traded,) = note(moved, "2021-06-01")
    assert "KO 2021-07-01: x0.499 (a 2:1 split?)" in traded and "books them" in traded
    (lookback,) = note(moved, "2021-08-02")
    assert "in the lookback only" in lookback
    assert note(moved.loc[:"2021-09-30"], "2021-09-01") != [] and note(closes, "2021-06-01") == []


def test_each_pre_trade_check_reads_the_nav_the_broker_holds(closes, monkeypatch):
    """The book the risk checks read is marked at the bar's prices after its fills, fees
    paid: at every check (the open's orders and the close's remainders of a book big enough
    for the participation cap to leave some) its NAV is the simulated broker's equity."""
    from research.trading import TradingLoop

    seen = []
    start = TradingLoop.start

    def watched_start(self, *args, **kwargs):
        engine = start(self, *args, **kwargs)
        check = self.risk.check_order

        def recording(*a, **k):
            seen.append((self._bar_time, self.risk.nav, self.broker.account().equity))
            return check(*a, **k)

        self.risk.check_order = recording
        return engine

    monkeypatch.setattr(TradingLoop, "start", watched_start)
    backtest(closes, config(capital=5e9))
    assert {f"{t:%H:%M}" for t, _, _ in seen} == {"09:30", "16:00"}
    for _, nav, equity in seen:
        assert nav == pytest.approx(equity, rel=1e-12)


def test_a_restart_holding_a_name_that_stopped_fits_the_risk_model_as_the_running_loop(
        closes, tmp_path):
    """KO stops trading on 2021-07-22 while held. A loop restarted after it (on the same journal
    and broker) is given the closes a data source has — none for KO since its last bar, where
    the running loop carried its last close. Its risk refit is the running loop's: KO, held, is
    still fitted, and a session where it has no close used to drop out of the fit for every
    name (a VaR that stops at the stop, then a start refused once the stop is older than the
    window)."""
    from research.trading import TradingLoop
    from sim.daily_market import build_daily_market
    from sim.driver import ReplayDriver

    gone = closes.copy()
    gone.loc["2021-07-16":, "KO"] = np.nan
    settings = short_window_settings()
    market = build_daily_market(gone, start=START, end="2021-09-29")
    first = pd.Timestamp(START)
    journal = tmp_path / "journal.db"
    d = ReplayDriver(config(), settings, market.replay, daily_closes=gone.loc[gone.index < first],
                     broker_options=market.broker_options, journal_path=journal,
                     fees_before_first="earliest", run_id="restart")
    running = d.run()
    assert running.book().get("KO", 0) > 0
    (before,) = [f for f in running.risk_forecasts if f["session"] == "2021-09-30"]
    d.close()
    vendor = running.closes  # the sessions' closes, but none for KO after its last bar
    vendor.loc["2021-07-16":, "KO"] = np.nan
    restarted = TradingLoop(config(), settings, d.broker, vendor,
                            run_id="restart", journal_path=journal, bar_minutes=390.0)
    restarted.start()
    restarted.prepare_session(pd.Timestamp("2021-09-30"))
    after = restarted.risk_forecasts[-1]
    assert after["session"] == "2021-09-30"
    assert after["observations"] == before["observations"] == 40
    assert after["var"] == pytest.approx(before["var"], rel=1e-9)
    restarted.shutdown()


def test_a_daily_file_s_own_lookback_is_counted_before_the_run_s_start(closes, tmp_path):
    """Bars of other tickers (no embedded history to borrow): the note says how many of the
    file's own sessions the lookbacks read before the first traded session."""
    from sim.backtest_data import run_config_backtest

    own = closes.loc["2020-06-01":"2021-09-30"].rename(columns=lambda s: f"Z{s}")
    rows = []
    for sym in own.columns:
        x = own[sym]
        stamp = pd.DatetimeIndex(x.index).tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=16)
        rows.append(pd.DataFrame({"timestamp": stamp, "symbol": sym, "open": x.values,
                                  "high": x.values, "low": x.values, "close": x.values,
                                  "volume": 1e6}))
    path = tmp_path / "own.csv"
    pd.concat(rows).to_csv(path, index=False)
    cfg = config().model_copy(deep=True)
    cfg.universe.symbols = list(own.columns)
    cfg.universe.sectors = {s: "Any" for s in own.columns}
    res = run_config_backtest(cfg, short_window_settings(), bars=str(path), start=START,
                              end=END)
    sessions = int((own.index < START).sum())
    assert sessions > 200
    assert (f"lookback history: the data's own {sessions} session(s) before {START}"
            in res.meta["assumptions"])


@pytest.mark.parametrize("kind", ["inverse_volatility", "risk_parity"])
def test_a_name_back_from_a_long_halt_is_not_sized_on_the_halt_s_flat_closes(closes, kind):
    """KO has no bar from 2021-07-01 to 07-21 (15 sessions) and trades again on the 22nd. The
    halt's carried closes are dropped once it is a stop (5 sessions), so the 08-02 decision
    does not read 15 zero returns as a calm name to overweight: KO has no full 20-session
    lookback then and waits, as a gap in the data's own history makes it, until the risk
    model's 40-session window covers it again (09-14): sized again on 10-01. Its position was
    marked at its last close through the halt."""
    halted = closes.copy()
    halted.loc["2021-07-01":"2021-07-21", "KO"] = np.nan
    cfg = config(kind=kind) if kind != "inverse_volatility" else config()
    res = backtest(halted, cfg, settings=short_window_settings(), end="2021-10-29")
    weights = {d["session"]: d["weights"]["KO"] for d in res.to_json()["decisions"]}
    assert weights["2021-06-01"] > 0.1 and weights["2021-07-01"] > 0.1
    assert weights["2021-08-02"] == weights["2021-09-01"] == 0.0
    assert weights["2021-10-01"] > 0.1
    notes = [n for n in res.meta["assumptions"] if n.startswith("universe on")]
    assert [n[:33] for n in notes] == ["universe on 2021-07-08: KO stoppe",
                                       "universe on 2021-07-22: KO has ba",
                                       "universe on 2021-08-03: KO left; ",
                                       "universe on 2021-09-14: KO joined"]
    last = res.closes.loc["2021-06-30", "KO"]  # the close as marked (permanent impact in)
    assert res.closes.loc["2021-07-01":"2021-07-21", "KO"].eq(last).all()
    ko = res.account.positions["KO"].loc["2021-07-01":"2021-07-21"]
    value = res.account.equity.loc["2021-07-01":"2021-07-21"]
    others = res.account.positions.drop(columns="KO").mul(res.closes.drop(columns="KO")).sum(
        axis=1).loc["2021-07-01":"2021-07-21"]
    np.testing.assert_allclose(value - others - res.account.cash.loc["2021-07-01":"2021-07-21"],
                               ko * last, rtol=1e-12)


@pytest.mark.parametrize("kind", ["inverse_volatility", "equal_weight"])
def test_a_held_name_s_long_halt_keeps_every_name_s_risk_window_whole(closes, kind):
    """KO, held, has no bar from 2021-06-15 to 07-21 (26 sessions, most of the 40-session
    risk window). Its position is flat in the books over the halt, and the risk fit reads it
    so: while KO is held the window keeps its 40 sessions for every name (dropping the halt's
    sessions, as for a name with gaps, shrank it to 13 and refused the refit). Inverse
    volatility sells KO on 08-02 (no clean lookback); it rejoins once 90% of the window has
    its returns, costing the others at most 4 sessions of it."""
    halted = closes.copy()
    halted.loc["2021-06-15":"2021-07-21", "KO"] = np.nan
    cfg = config(kind=kind) if kind != "inverse_volatility" else config()
    res = backtest(halted, cfg, settings=short_window_settings(), end="2021-10-29")
    ko = res.account.positions["KO"]
    assert ko.loc["2021-06-15":"2021-07-21"].gt(0).all()
    seen = res.risk_forecasts.set_index("session")["observations"]
    held = [f"{d:%Y-%m-%d}" for d in ko.index[ko.gt(0)] if f"{d:%Y-%m-%d}" in seen.index]
    assert set(seen.loc[held]) == {40} and seen.min() >= 36
    assert ko.loc["2021-10-29"] > 0
