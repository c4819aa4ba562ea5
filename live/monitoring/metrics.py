"""Prometheus metrics of one live runner, in a fresh ``CollectorRegistry`` (never the global
one), served on 127.0.0.1 only. Names follow Prometheus conventions: ``qlab_`` prefix, base
units in the name (``_seconds``, ``_ratio``, ``_dollars``, ``_bps``), ``_total`` for counters,
bounded labels (side, reason, state; never order ids)."""

from __future__ import annotations

from typing import Any

TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")


class LiveMetrics:
    """Metric handles of one runner; ``registry`` is its own ``CollectorRegistry``."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        r = self.registry = CollectorRegistry()
        self.orders_submitted = Counter("qlab_orders_submitted", "Child orders handed to the "
                                        "broker.", ["side", "order_type"], registry=r)
        self.fills = Counter("qlab_fills", "Executions received.", ["side"], registry=r)
        self.filled_shares = Counter("qlab_filled_shares", "Shares executed.", ["side"],
                                     registry=r)
        self.rejects = Counter("qlab_orders_rejected", "Orders refused, by reason code.",
                               ["reason"], registry=r)
        self.slippage = Histogram(
            "qlab_slippage_bps", "Fill price vs the parent's arrival mid, bps (positive = cost).",
            buckets=(-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100), registry=r)
        self.slippage_vs_model = Histogram(
            "qlab_slippage_vs_model_bps", "Implementation shortfall of a completed parent minus "
            "the cost model's prediction at its arrival, bps of its notional.",
            buckets=(-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50), registry=r)
        self.slippage_z = Histogram(
            "qlab_slippage_z", "(Realised shortfall - predicted cost) / predicted std, per "
            "completed parent.", buckets=(-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3), registry=r)
        self.gross_exposure = Gauge("qlab_gross_exposure_ratio", "Gross exposure / NAV.",
                                    registry=r)
        self.net_exposure = Gauge("qlab_net_exposure_ratio", "Net exposure / NAV.", registry=r)
        self.nav = Gauge("qlab_net_liquidation_dollars", "Account net liquidation, $.",
                         registry=r)
        self.var_usage = Gauge("qlab_var_budget_usage_ratio", "Portfolio VaR / VaR budget.",
                               registry=r)
        self.limit_breaches = Counter("qlab_risk_limit_breaches", "Risk alerts in breach.",
                                      ["limit"], registry=r)
        self.alerts = Counter("qlab_risk_alerts", "Risk alerts emitted.", ["limit", "severity"],
                              registry=r)
        self.trading_state = Gauge("qlab_trading_state", "1 for the engine's current state.",
                                   ["state"], registry=r)
        self.symbols_paused = Gauge("qlab_symbol_breakers_paused", "Symbols paused by a "
                                    "market breaker.", registry=r)
        self.kill_switch = Gauge("qlab_kill_switch_engaged", "1 once the kill switch fired.",
                                 registry=r)
        self.staleness = Gauge("qlab_data_staleness_seconds", "Age of the newest bar.",
                               registry=r)
        self.last_bar = Gauge("qlab_last_bar_timestamp_seconds", "Close time of the newest bar "
                              "(Unix seconds).", registry=r)
        self.broker_latency = Histogram(
            "qlab_broker_request_duration_seconds", "Broker call latency.", ["method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.broker_pacing = Counter(
            "qlab_broker_pacing_wait_seconds", "Time broker calls were held back by the "
            "adapter's own rate limiter (left out of the broker latency).", ["method"],
            registry=r)
        self.broker_errors = Counter("qlab_broker_errors", "Broker calls that raised.",
                                     ["method", "error"], registry=r)
        self.loop_seconds = Histogram(
            "qlab_loop_iteration_seconds", "One bar: decide, risk, engine.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1), registry=r)
        self.set_trading_state("ACTIVE")

    def set_trading_state(self, state: str) -> None:
        for s in TRADING_STATES:
            self.trading_state.labels(state=s).set(1.0 if s == state else 0.0)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def serve(self, port: int = 0) -> tuple[Any, Any]:
        """Serve ``/metrics`` on 127.0.0.1 (``port`` 0: any free port). Returns (server,
        thread); ``server.server_address[1]`` is the port."""
        from prometheus_client import start_http_server

        return start_http_server(port, addr="127.0.0.1", registry=self.registry)
