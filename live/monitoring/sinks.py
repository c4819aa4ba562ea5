"""Glue between the trading objects and monitoring: an AlertManager sink and a Broker wrapper.

:class:`InstrumentedBroker` is the Broker protocol around another broker: it times every call
(``qlab_broker_request_duration_seconds``; the adapter's own rate-limit waits are counted apart,
``qlab_broker_pacing_wait_seconds``, see :mod:`research.execution.pacing`), counts submits by side and order type and rejects by
the broker's reason code; submits are logged and counted in bulk once per bar (:meth:`flush`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from live.monitoring.metrics import LiveMetrics
from research.domain import Fill, Order
from research.execution.errors import Rejected
from research.execution.pacing import pacing_waited


class MetricsAlertSink:
    """``AlertSink``: every risk alert to the JSON log and the metrics; the last ``keep`` are
    kept for the status endpoint."""

    _LEVEL = {"info": "info", "warning": "warning", "critical": "error"}

    def __init__(self, metrics: LiveMetrics, logger: Any, keep: int = 100):
        self.metrics = metrics
        self.logger = logger
        self.recent: deque[dict] = deque(maxlen=keep)

    def emit(self, event: Any) -> None:
        d = event.as_dict()
        self.recent.append(d)
        self.metrics.alerts.labels(limit=d["limit"], severity=d["severity"]).inc()
        if d["state"] == "breach":
            self.metrics.limit_breaches.labels(limit=d["limit"]).inc()
        getattr(self.logger, self._LEVEL.get(d["severity"], "warning"))("risk_alert", **d)


class InstrumentedBroker:
    """Broker wrapper for monitoring. Submits are the hot path (up to one per symbol per bar):
    each is only recorded in memory (its ids, side, type and latency); :meth:`flush`, called
    once per bar after the engine's step, turns them into one ``orders_submitted`` log line
    (every client / broker order id in it) and bulk metric updates. Rejects, cancels and
    errors are rare and are logged when they happen."""

    def __init__(self, inner: Any, metrics: LiveMetrics, logger: Any):
        self.inner = inner
        self.metrics = metrics
        self.logger = logger
        self._submitted: list[tuple[str, str, str, str, str, int, float]] = []

    def _timed(self, method: str, fn, *args, **kwargs):
        w0 = pacing_waited()
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.metrics.broker_errors.labels(method=method, error=type(exc).__name__).inc()
            raise
        finally:
            self._observe_latency(method, time.perf_counter() - t0, pacing_waited() - w0)

    def _observe_latency(self, method: str, seconds: float, paced: float) -> float:
        """The broker's part of a call's time (``paced``: the adapter's own rate-limit waits,
        counted apart, as the engine's latency breaker leaves them out)."""
        if paced > 0:
            self.metrics.broker_pacing.labels(method=method).inc(paced)
        seconds = max(0.0, seconds - paced)
        self.metrics.broker_latency.labels(method=method).observe(seconds)
        return seconds

    def submit(self, order: Order) -> str:
        w0 = pacing_waited()
        t0 = time.perf_counter()
        try:
            broker_id = self.inner.submit(order)
        except Rejected as exc:
            self._observe_failed_submit(order, exc, time.perf_counter() - t0,
                                        pacing_waited() - w0)
            raise
        except Exception as exc:
            self.metrics.broker_errors.labels(method="submit", error=type(exc).__name__).inc()
            self._observe_latency("submit", time.perf_counter() - t0, pacing_waited() - w0)
            raise
        paced = pacing_waited() - w0
        if paced > 0:
            self.metrics.broker_pacing.labels(method="submit").inc(paced)
        self._submitted.append((order.client_order_id, str(broker_id), order.symbol,
                                order.side._value_, order.order_type._value_,
                                int(order.quantity), time.perf_counter() - t0 - paced))
        return broker_id

    def _observe_failed_submit(self, order: Order, exc: Rejected, seconds: float,
                               paced: float) -> None:
        reason = exc.code or "rejected"
        self._observe_latency("submit", seconds, paced)
        self.metrics.broker_errors.labels(method="submit", error=type(exc).__name__).inc()
        self.metrics.rejects.labels(reason=reason).inc()
        self.logger.warning("order_rejected", reason=reason, error=str(exc),
                            client_order_id=order.client_order_id, parent_id=order.parent_id,
                            symbol=order.symbol, side=order.side.value,
                            quantity=order.quantity, order_type=order.order_type.value,
                            limit_price=order.limit_price)

    def flush(self, **context: Any) -> int:
        """Log and count the submits since the last flush (one log line); returns how many."""
        done, self._submitted = self._submitted, []
        if not done:
            return 0
        counts: dict[tuple[str, str], int] = {}
        latency = self.metrics.broker_latency.labels(method="submit")
        for _cid, _bid, _sym, side, otype, _qty, seconds in done:
            counts[(side, otype)] = counts.get((side, otype), 0) + 1
            latency.observe(seconds)
        for (side, otype), n in counts.items():
            self.metrics.orders_submitted.labels(side=side, order_type=otype).inc(n)
        self.logger.info(
            "orders_submitted", count=len(done),
            orders=[{"client_order_id": c, "broker_order_id": b, "symbol": s, "side": sd,
                     "order_type": t, "quantity": q} for c, b, s, sd, t, q, _ in done],
            **context)
        return len(done)

    def cancel(self, client_order_id: str, broker_order_id: str | None = None) -> None:
        self._timed("cancel", self.inner.cancel, client_order_id, broker_order_id)
        self.logger.info("order_cancel_sent", client_order_id=client_order_id,
                         broker_order_id=broker_order_id)

    def get_order(self, client_order_id: str):
        return self._timed("get_order", self.inner.get_order, client_order_id)

    def open_orders(self):
        return self._timed("open_orders", self.inner.open_orders)

    def fills(self, client_order_ids: Iterable[str] | None = None,
              since: datetime | None = None) -> list[Fill]:
        return self._timed("fills", self.inner.fills, client_order_ids, since)

    def positions(self):
        return self._timed("positions", self.inner.positions)

    def account(self):
        return self._timed("account", self.inner.account)

    def poll_reports(self):
        return self._timed("poll_reports", self.inner.poll_reports)
