"""Every execution algorithm trades live: the run config's algorithm through the live driver,
the real tigeropen client and the loopback gateway, to completion — fills reconciled with
Tiger's, positions equal to the gateway's, and a restart that finds nothing to explain."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from tests.live.test_live_runner import DAY, SYMBOLS, make_runner, minute_feed, script_market

ALGORITHMS = ("market", "limit", "twap", "vwap", "pov", "is")


def fitted_cost_model(session, settings):
    from live.tiger.bars import TigerBarSource
    from research.costs import CostModel

    daily = TigerBarSource(session, "daily").load(SYMBOLS, start=DAY - pd.Timedelta(days=200),
                                                  end=DAY - pd.Timedelta(days=1))
    return CostModel.from_settings(settings.costs).fit(daily)


def with_algorithm(config, algorithm: str):
    execution = config.execution.model_copy(update={"algorithm": algorithm})
    return config.model_copy(update={"execution": execution})


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_trades_live_to_completion(gateway, settings, server_keys,
                                                  monkeypatch, algorithm):
    import tests.live.test_live_runner as base

    script_market(gateway, n_minutes=20)
    _, session = make_runner(gateway, settings, server_keys, run_id="probe")  # a session
    model = fitted_cost_model(session, settings)
    config = with_algorithm(base.run_config(), algorithm)
    monkeypatch.setattr(base, "run_config", lambda **kw: config)
    stream = io.StringIO()
    runner, session = make_runner(gateway, settings, server_keys, cost_model=model,
                                  stream=stream)
    runner.run(minute_feed(session), max_bars=20)
    e = runner.engine

    assert sorted(ps.parent.symbol for ps in e.parents.values()) == SYMBOLS
    for pid, ps in e.parents.items():
        assert ps.parent.algorithm.value == algorithm
        assert ps.done and ps.filled == ps.parent.quantity, (pid, ps.done_reason,
                                                            dict(ps.local_rejects))
    assert gateway.calls("place_order") == e.stats.submits >= len(SYMBOLS)
    # every fill the gateway executed is in the engine's book, once
    at_tiger: dict[str, int] = {}
    for o in gateway.orders.values():
        at_tiger[o.symbol] = at_tiger.get(o.symbol, 0) + int(o.filled)
    assert at_tiger == runner.book()
    assert {s: int(p[0]) for s, p in gateway.positions.items()} == runner.book()
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
    assert not [x for x in lines if x["event"] == "parent_refused"]
    # a restart reconciles the finished run with Tiger and sends nothing more
    placed = gateway.calls("place_order")
    again, session = make_runner(gateway, settings, server_keys, cost_model=model)
    again.run(minute_feed(session), max_bars=20)
    assert gateway.calls("place_order") == placed
    assert again.book() == runner.book()


def test_vwap_and_is_without_a_cost_model_are_refused_before_any_order(
        gateway, settings, server_keys, monkeypatch):
    import tests.live.test_live_runner as base
    from research.trading import AlgorithmInputError

    script_market(gateway)
    for algorithm in ("vwap", "is"):
        config = with_algorithm(base.run_config(), algorithm)
        monkeypatch.setattr(base, "run_config", lambda config=config, **kw: config)
        with pytest.raises(AlgorithmInputError, match=f"algorithm {algorithm} cannot be built"):
            make_runner(gateway, settings, server_keys, run_id=f"no-model-{algorithm}")
    assert gateway.calls("place_order") == 0
