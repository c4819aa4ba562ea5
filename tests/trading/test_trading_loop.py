"""The trading loop's guarantees that are not about one broker: nothing silent (an idle parent
says why), a parent whose algorithm cannot be built never reaches the journal, the decision
key and parent ids are deterministic, and the rebalance schedule streams what the batch
function computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.config import LIMITS_OFF, RunConfig, Settings
from research.data import SynthParams, synthesize_minute_bars
from research.domain import Side

SYMBOLS = ["AAPL", "JPM", "RRC"]


class RecordingLog:
    def __init__(self):
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level):
        return lambda event, **kw: self.lines.append((level, event, kw))

    def events(self, name):
        return [kw for _, e, kw in self.lines if e == name]


@pytest.fixture(scope="module")
def bars(sp500_closes):
    return synthesize_minute_bars(sp500_closes[SYMBOLS], "2022-11-14", "2022-11-16",
                                  SynthParams(seed=3))


def config(algorithm="twap", **risk):
    limits = {**LIMITS_OFF, **risk}
    return RunConfig(name="loop", universe={"symbols": SYMBOLS},
                     strategy={"kind": "equal_weight", "rebalance": "daily", "capital": 1e6},
                     execution={"algorithm": algorithm, "horizon_minutes": 20}, risk=limits)


def driver(cfg, bars, sp500_closes, **kw):
    from sim.driver import ReplayDriver

    closes = sp500_closes[SYMBOLS].loc[:"2022-11-11"]
    return ReplayDriver(cfg, Settings(), bars, daily_closes=closes, **kw)


def test_a_parent_the_risk_limits_stop_is_logged_as_idle_with_the_reason(bars, sp500_closes):
    """Equal weight is 33% a name; a 5% position limit trims every buy to what fits, then
    refuses the rest: the parents go idle and the log and the status say why."""
    log = RecordingLog()
    d = driver(config(max_position_weight=0.05, max_sector_weight=0.3), bars, sp500_closes,
               logger=log)
    loop = d.run(stop=15)  # the parents' 20-bar horizon is still running
    idle = log.events("parent_idle")
    assert idle and {x["symbol"] for x in idle} <= set(SYMBOLS)
    assert all("risk_rejected" in x["reason"] for x in idle), idle
    assert all(x["bars"] == Settings().execution.parent_idle_bars for x in idle)
    status = loop.status()
    assert {p["parent_id"] for p in status["idle_parents"]} == {x["parent_id"] for x in idle}
    loop = d.run(stop=60)  # past the deadline: closed, no longer idle
    assert loop.status()["idle_parents"] == []
    # the trims held: in the risk manager's book (fills at their prices) no position is over
    # the limit — every slice was checked with the slices before it booked or working
    book = dict(zip(loop.risk.symbols, loop.risk.snapshot().weights, strict=True))
    # the book is marked to market every bar, so a position may sit above the limit by what
    # prices did since its last fill (drift), never by an order the check let through
    assert max(book.values()) <= 0.05 * 1.02
    assert min(book.values()) > 0.045  # trimmed to the limit, not refused outright


def test_a_parent_whose_algorithm_cannot_be_built_never_reaches_the_journal(
        bars, sp500_closes, tmp_path):
    """IS needs each symbol's daily volatility from the fitted cost model: a symbol the model
    never saw is refused (logged, in the status) and nothing of it is journaled, so a restart
    on the same journal replays no poisoned parent."""
    from research.costs import CostModel
    from research.execution import EventKind, Journal

    history = synthesize_minute_bars(sp500_closes[["AAPL", "JPM"]], "2022-10-31", "2022-11-11",
                                     SynthParams(seed=3))
    model = CostModel.from_settings(Settings().costs).fit(history)  # no RRC
    log = RecordingLog()
    journal = tmp_path / "j.sqlite"
    broker_state = {"state_path": tmp_path / "broker.sqlite"}  # the simulated "exchange"
    d = driver(config("is"), bars, sp500_closes, cost_model=model, logger=log,
               journal_path=journal, broker_options=broker_state)
    loop = d.run(stop=30)
    refused = log.events("parent_refused")
    assert [x["symbol"] for x in refused] == ["RRC"]
    assert "algorithm is cannot be built" in refused[0]["reason"]
    assert "RRC" in refused[0]["reason"] and "daily volatility" in refused[0]["reason"]
    assert {p["parent_id"] for p in loop.status()["refused_parents"]} == {"loop-20221114-RRC"}
    assert sorted(ps.parent.symbol for ps in loop.engine.parents.values()) == ["AAPL", "JPM"]
    loop.shutdown()
    parents = [e.payload["parent"]["symbol"] for e in Journal(journal).events()
               if e.kind is EventKind.PARENT]
    assert sorted(parents) == ["AAPL", "JPM"]
    again = driver(config("is"), bars, sp500_closes, cost_model=model, journal_path=journal,
                   broker_options=broker_state)
    again.loop.start()  # recovers without error
    assert sorted(ps.parent.symbol for ps in again.loop.engine.parents.values()) == ["AAPL", "JPM"]


def test_the_engine_refuses_an_unbuildable_parent_before_journaling_it():
    from research.config import ExecutionSettings
    from research.domain import Algorithm, Side
    from research.execution import EventKind, ExecutionEngine, Journal, ParentOrder
    from tests.sim.sim_helpers import minute_bars

    replay = minute_bars(n=3)
    from sim import SimulatedBroker

    journal = Journal(":memory:")
    engine = ExecutionEngine("r", replay.symbols, SimulatedBroker(replay), journal,
                             ExecutionSettings())
    engine.recover()
    parent = ParentOrder("p1", "AAA", Side.BUY, 100, algorithm=Algorithm.VWAP, horizon_bars=3)
    with pytest.raises(ValueError, match="p1: strategy vwap needs parameter 'volume_profile'"):
        engine.add_parent(parent, replay.snapshot(0))
    journal.commit()
    assert not [e for e in journal.events() if e.kind is EventKind.PARENT]
    assert not journal.staged
    assert "p1" not in engine.parents


def test_streamed_rebalance_sessions_match_the_batch_schedule(sp500_closes):
    from research.trading import is_rebalance_session, rebalance_dates

    days = sp500_closes.index[-300:]
    for freq in ("daily", "weekly", "monthly"):
        batch = set(rebalance_dates(days, freq)[1:])
        streamed = {d for prev, d in zip(days[:-1], days[1:], strict=True)
                    if is_rebalance_session(freq, d, prev)}
        assert streamed == batch, freq


def test_target_shares_and_parent_ids():
    from research.domain import Algorithm
    from research.trading import rebalance_parents, target_shares

    t = target_shares(np.array([0.5, 0.5, 0.0]), 1000.0, np.array([10.0, np.nan, 3.0]))
    assert t.tolist() == [50, 0, 0]  # no price: no target
    parents = rebalance_parents("cfg-20240305", ("A", "B", "C"), np.array([50, 0, -7]),
                                Algorithm.POV, 30)
    assert [(p.parent_id, p.side.value, p.quantity) for p in parents] == [
        ("cfg-20240305-A", "buy", 50), ("cfg-20240305-C", "sell", 7)]


@pytest.mark.parametrize("policy", ["trim", "rescale", "reject"])
def test_a_target_that_breaches_a_limit_under_each_policy(policy, bars, sp500_closes):
    """Equal weight (33% a name) against a 5% position limit, from cash."""
    log = RecordingLog()
    cfg = config(max_position_weight=0.05, max_sector_weight=0.3, on_target_breach=policy)
    loop = driver(cfg, bars, sp500_closes, logger=log).run(stop=60)
    first = loop.decisions[0]
    assert first["strategy_weights"] == pytest.approx({s: 1 / 3 for s in SYMBOLS})
    target_events = [e for e in loop.risk_events if e["side"] == "target"]
    book = dict(zip(loop.risk.symbols, loop.risk.snapshot().weights, strict=True))
    if policy == "trim":  # the orders go out; every child is cut to what fits
        assert not target_events and first["parents"] == 3
        assert all(e["decision"] in ("trimmed", "rejected") for e in loop.risk_events)
        assert max(book.values()) <= 0.05 * 1.02  # plus drift (marked every bar)
    elif policy == "rescale":  # every position moves the same compliant fraction of the way
        assert [e["decision"] for e in target_events] == ["rescaled"]
        assert first["weights"] == pytest.approx({s: 0.05 for s in SYMBOLS}, abs=2e-3)
        assert log.events("rebalance_rescaled")
        assert max(book.values()) <= 0.05 * 1.02 and min(book.values()) > 0.04
    else:  # nothing is traded that session
        assert [e["decision"] for e in target_events] == ["rejected"]
        assert first["parents"] == 0 and not loop.engine.parents
        assert log.events("rebalance_rejected")


def test_drift_over_a_limit_between_rebalances_is_reduced_when_asked(bars, sp500_closes):
    """Weekly equal weight (33.3% a name) under a 33.5% position limit: a name that rises
    drifts over it; with on_drift='reduce' the next session opens with reduce-only sales of
    just that excess, with 'alert' nothing trades between rebalances."""
    def run(on_drift):
        cfg = config(max_position_weight=0.335, max_sector_weight=1.0, on_drift=on_drift)
        cfg = cfg.model_copy(update={"strategy": cfg.strategy.model_copy(
            update={"rebalance": "weekly"})})
        return driver(cfg, bars, sp500_closes).run()

    alert, reduce = run("alert"), run("reduce")
    assert [d["kind"] for d in alert.decisions] == ["rebalance"]
    kinds = [d["kind"] for d in reduce.decisions]
    assert kinds[0] == "rebalance" and "drift reduction" in kinds[1:]
    drift = [ps.parent for pid, ps in reduce.engine.parents.items()
             if not pid.startswith("loop-20221114-")]
    assert drift and all(p.reduce_only and p.side is Side.SELL for p in drift)
    assert len({p.symbol for p in drift}) < len(SYMBOLS)  # only the names over the limit
    assert any(e["decision"] == "reduced" for e in reduce.risk_events)


@pytest.mark.parametrize("policy", ["reduce", "halt"])
def test_a_daily_loss_past_the_limit_acts_within_the_session(policy, bars, sp500_closes):
    """Every price drops 10% at 11:00 on the first day while a 4-hour TWAP is still buying:
    the book, marked every bar, loses more than the 2% limit. 'reduce': the later buys are
    refused for daily loss; 'halt': trading halts (open orders cancelled) until the next
    session, whose rebalance trades again."""
    from research.execution import TradingState

    crashed = bars.copy()
    after = crashed["timestamp"] >= pd.Timestamp("2022-11-14 11:00", tz="America/New_York")
    for col in ("open", "high", "low", "close", "bid", "ask"):
        crashed.loc[after, col] *= 0.9
    cfg = config(daily_loss_limit=0.02, on_daily_loss=policy)
    cfg = cfg.model_copy(update={"execution": cfg.execution.model_copy(
        update={"horizon_minutes": 240})})
    log = RecordingLog()
    d = driver(cfg, crashed, sp500_closes, logger=log)
    loop = d.run(stop=200)  # day 1, past the crash
    loss_events = [e for e in loop.risk_events if "daily_loss" in e["limits"]]
    assert loss_events
    first_loss = min(e["time"] for e in loss_events)
    assert first_loss >= "2022-11-14T11:00"
    if policy == "reduce":
        assert loop.engine.trading_state is TradingState.ACTIVE
        assert all(e["side"] == "buy" and e["decision"] == "rejected" for e in loss_events)
        # the book is marked at each bar's prices before its children go out: no buy decided
        # on the crash bar or after it fills
        crash_bar = int((np.sort(crashed["timestamp"].unique()) < crashed.loc[
            after, "timestamp"].min()).sum())
        assert not [c for c in loop.engine.children.values() if c.side is Side.BUY
                    and c.decision_bar >= crash_bar and c.filled_quantity > 0]
    else:
        assert loop.engine.trading_state is TradingState.HALTED
        assert len(log.events("daily_loss_halt")) == 1  # once, however many bars follow
        assert not loop.engine.open_children()
        sent = len(loop.engine.children)
        loop = d.run(stop=250)  # the rest of day 1: the breakers' cool-down does not lift it
        assert loop.engine.trading_state is TradingState.HALTED
        assert len(loop.engine.children) == sent
        loop = d.run()  # the next session: trading resumes and its rebalance trades
        day2 = [ps for pid, ps in loop.engine.parents.items() if "-20221115-" in pid]
        assert day2 and all(ps.filled > 0 for ps in day2)


def test_of_a_correlated_pair_opened_together_the_smaller_target_is_refused(sp500_closes):
    """JPM and BAC move together (daily correlation about 0.86 over 2022): a target that opens
    both under a 0.7 limit keeps the larger and refuses the other at the rebalance, naming the
    partner and the correlation; the uncorrelated name is kept."""
    names = ["AAPL", "BAC", "JPM"]
    bars3 = synthesize_minute_bars(sp500_closes[names], "2022-11-14", "2022-11-15",
                                   SynthParams(seed=3))
    cfg = RunConfig(name="loop", universe={"symbols": names},
                    strategy={"kind": "inverse_volatility", "rebalance": "daily",
                              "capital": 1e6},
                    execution={"algorithm": "twap", "horizon_minutes": 20},
                    risk={"max_position_weight": 1.0, "max_sector_weight": 1.0,
                          "var_budget": 1.0, "max_pairwise_correlation": 0.7,
                          "max_gross_exposure": 2.0, "max_net_exposure": 2.0})
    from sim.driver import ReplayDriver

    loop = ReplayDriver(cfg, Settings(), bars3,
                        daily_closes=sp500_closes[names].loc[:"2022-11-11"]).run(stop=40)
    first = loop.decisions[0]
    w = first["strategy_weights"]
    bigger, smaller = sorted(["BAC", "JPM"], key=lambda s: -w[s])
    assert first["weights"][smaller] == 0.0 and first["weights"][bigger] == w[bigger]
    assert first["weights"]["AAPL"] == w["AAPL"]
    event = next(e for e in loop.risk_events if e["limits"] == "pairwise_correlation")
    assert event["symbol"] == smaller and bigger in event["message"]
    assert sorted(ps.parent.symbol for ps in loop.engine.parents.values()) == sorted(
        ["AAPL", bigger])


@pytest.mark.parametrize("lag_s", [0.0, 600.0])
def test_with_a_wall_clock_a_feed_that_fell_behind_halts_trading(lag_s, bars, sp500_closes):
    """Trading in real time, the engine's "now" is the wall clock: bars arriving 10 minutes
    after their close trip the market-data staleness breaker (no orders on old prices); bars
    on time trade. (A replay keeps the bars' stamps as "now" and never looks stale.)"""
    from datetime import timedelta

    from research.execution import TradingState
    from research.trading import TradingLoop
    from sim import SimulatedBroker
    from sim.replay import BarReplay
    from sim.runner import run_trading_loop

    cfg = config()
    replay = BarReplay.from_frame(bars, tuple(SYMBOLS))
    broker = SimulatedBroker(replay, Settings().simulation, initial_cash=1e6)
    now = {"t": None}
    loop = TradingLoop(cfg, Settings(), broker, sp500_closes[SYMBOLS].loc[:"2022-11-11"],
                       run_id="clock", journal_path=":memory:", commit_every_bar=False,
                       clock=lambda: now["t"])

    def seen(snap):  # the wall clock when the bar reaches the loop
        now["t"] = snap.timestamp + timedelta(seconds=lag_s)

    orig = loop.on_bar
    loop.on_bar = lambda snap: (seen(snap), orig(snap))[1]
    loop.start()
    run_trading_loop(loop, broker, stop=5)
    state = loop.engine.trading_state
    if lag_s:
        assert state is TradingState.HALTED
        assert "market data is 600s old" in loop.engine.system_breaker.reason
        assert broker.fills() == []
    else:
        assert state is TradingState.ACTIVE and broker.fills()
