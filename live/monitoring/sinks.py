"""Glue between the trading objects and monitoring: an AlertManager sink and a Broker wrapper.

:class:`InstrumentedBroker` is the Broker protocol around another broker: it times every call
(``qlab_broker_request_duration_seconds``), counts submits by side and order type, rejects by
the broker's reason code, and fills, and logs each order with its context.
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
    def __init__(self, inner: Any, metrics: LiveMetrics, logger: Any):
        self.inner = inner
        self.metrics = metrics
        self.logger = logger

    def _timed(self, method: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.metrics.broker_errors.labels(method=method, error=type(exc).__name__).inc()
            raise
        finally:
            self.metrics.broker_latency.labels(method=method).observe(time.perf_counter() - t0)

    def submit(self, order: Order) -> str:
        ctx = {"client_order_id": order.client_order_id, "parent_id": order.parent_id,
               "symbol": order.symbol, "side": order.side.value, "quantity": order.quantity,
               "order_type": order.order_type.value, "limit_price": order.limit_price}
        try:
            broker_id = self._timed("submit", self.inner.submit, order)
        except Rejected as exc:
            reason = exc.code or "rejected"
            self.metrics.rejects.labels(reason=reason).inc()
            self.logger.warning("order_rejected", reason=reason, error=str(exc), **ctx)
            raise
        self.metrics.orders_submitted.labels(side=order.side.value,
                                             order_type=order.order_type.value).inc()
        self.logger.info("order_submitted", broker_order_id=broker_id, **ctx)
        return broker_id

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
