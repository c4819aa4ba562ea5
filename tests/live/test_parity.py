"""Parity by construction, proven: one run config through the replay driver (simulated broker)
and through the live driver (TigerBroker, the real tigeropen client, the loopback gateway
serving the same bars) takes the same rebalance decisions, registers the same parent orders
(ids, symbols, sides, quantities, algorithms, parameters) and sends the same child orders on
the first decision bar; where the two brokers fill alike (every child fills in full on the bar
after it is sent), so are all later child orders."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.live.test_live_runner import DAY, SYMBOLS, make_runner, minute_feed, script_market

ALGORITHMS = ("market", "limit", "twap", "vwap", "pov", "is")
N_MINUTES = 20


def parents_of(loop):
    return {pid: (p.symbol, p.side.value, p.quantity, p.strategy.value, p.horizon_bars,
                  p.deadline_grace_bars, p.params)
            for pid, p in ((pid, ps.parent) for pid, ps in loop.engine.parents.items())}


def children_of(loop, bar=None):
    return [(c.client_order_id, c.parent_id, c.symbol, c.side.value, c.quantity,
             c.order_type.value, c.limit_price, c.decision_bar)
            for c in loop.engine.children.values() if bar is None or c.decision_bar == bar]


def decisions_of(loop):
    return [{k: v for k, v in d.items()} for d in loop.decisions]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_config_same_orders_in_replay_and_live(gateway, settings, server_keys, monkeypatch,
                                                   algorithm):
    import tests.live.test_live_runner as base
    from live.tiger.bars import TigerBarSource
    from research.costs import CostModel
    from sim.driver import ReplayDriver

    script_market(gateway, n_minutes=N_MINUTES)
    _, session = make_runner(gateway, settings, server_keys, run_id="data")
    # both drivers see the same data: the bars Tiger serves, as qlab loads them
    daily = TigerBarSource(session, "daily").load(SYMBOLS, start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    minute = TigerBarSource(session, "minute").load(SYMBOLS, start=DAY)
    closes = daily.pivot(index="timestamp", columns="symbol", values="close")
    closes.index = closes.index.tz_localize(None).normalize()
    model = CostModel.from_settings(settings.costs).fit(daily)

    config = base.run_config()
    config = config.model_copy(update={"execution": config.execution.model_copy(
        update={"algorithm": algorithm})})
    monkeypatch.setattr(base, "run_config", lambda **kw: config)

    live, session = make_runner(gateway, settings, server_keys, run_id="parity",
                                cost_model=model)
    assert live.run(minute_feed(session), max_bars=N_MINUTES) == N_MINUTES
    replay = ReplayDriver(config, settings, minute, daily_closes=closes, cost_model=model,
                          run_id="parity").run()

    assert decisions_of(replay) == decisions_of(live)
    assert len(live.decisions) == 1 and live.decisions[0]["parents"] == len(SYMBOLS)
    assert parents_of(replay) == parents_of(live)
    first_bar = live.decisions[0]["bar"]
    assert children_of(replay, first_bar) == children_of(live, first_bar)
    assert children_of(live, first_bar)  # the first decision bar sent orders
    if algorithm in ("twap", "vwap", "is", "market"):
        # both brokers filled every child in full on the next bar: all later children agree
        assert children_of(replay) == children_of(live)
        for loop in (replay, live):
            assert all(ps.filled == ps.parent.quantity for ps in loop.engine.parents.values())
