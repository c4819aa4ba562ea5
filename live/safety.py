"""Things that keep the live process from doing harm: the kill switch, the dry-run broker and
the risk manager adapter the engine's pre-trade check calls."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from research.domain import Fill, Order, OrderStatus
from research.execution.model import BrokerOrder


class KillSwitch:
    """Engaged by SIGTERM/SIGINT (once :meth:`install` ran in the main thread), by
    :meth:`engage`, or by the presence of ``file`` (checked on every :attr:`engaged` read)."""

    def __init__(self, file: str | Path | None = None):
        self.file = Path(file) if file is not None else None
        self.reason = ""
        self._flag = threading.Event()
        self._previous: dict[int, Any] = {}

    def engage(self, reason: str) -> None:
        if not self._flag.is_set():
            self.reason = reason
            self._flag.set()

    @property
    def engaged(self) -> bool:
        if not self._flag.is_set() and self.file is not None and self.file.exists():
            self.engage(f"kill file {self.file} present")
        return self._flag.is_set()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(
                sig, lambda s, _f: self.engage(f"signal {signal.Signals(s).name}"))

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class DryRunBroker:
    """Reads positions, account and open orders from the real broker; never sends anything.

    A submitted order is logged and kept as ``SUBMITTED`` (no fills, no reports)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.submitted: dict[str, BrokerOrder] = {}

    def submit(self, order: Order) -> str:
        bid = f"dry-{len(self.submitted) + 1}"
        self.submitted[order.client_order_id] = BrokerOrder(
            order.client_order_id, bid, order.symbol, order.side, int(order.quantity),
            order.order_type, order.limit_price, OrderStatus.SUBMITTED, 0)
        return bid

    def cancel(self, client_order_id: str, broker_order_id: str | None = None) -> None:
        return None

    def get_order(self, client_order_id: str) -> BrokerOrder | None:
        return self.submitted.get(client_order_id)

    def open_orders(self) -> list[BrokerOrder]:
        return list(self.inner.open_orders())

    def fills(self, client_order_ids: Iterable[str] | None = None,
              since: datetime | None = None) -> list[Fill]:
        return []

    def positions(self):
        return self.inner.positions()

    def account(self):
        return self.inner.account()

    def poll_reports(self):
        return []
