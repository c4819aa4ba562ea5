"""Seeded fault injection for the simulated broker (tests and reliability runs).

Probabilities are per call (submit / query) or per report. ``submit_timeout`` creates the
order and then raises :class:`SubmitTimeout` (Tiger's "timed out but the order exists").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class FaultConfig:
    seed: int = 0
    submit_reject: float = 0.0  # broker refuses an otherwise valid order
    submit_timeout: float = 0.0  # order accepted, then the call times out
    rate_limit: float = 0.0  # submit throttled (code 4 / HTTP 429): nothing created
    disconnect: float = 0.0  # any call fails with BrokerUnavailable: nothing done
    report_delay: float = 0.0  # a report is held back 1..report_max_delay_bars bars
    report_max_delay_bars: int = 3
    report_duplicate: float = 0.0  # a report is delivered twice
    report_reorder: float = 0.0  # a poll's batch is shuffled

    def __post_init__(self) -> None:
        for name in ("submit_reject", "submit_timeout", "rate_limit", "disconnect",
                     "report_delay", "report_duplicate", "report_reorder"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"fault config: {name} must be a probability in [0, 1], got {v}")
        if self.report_max_delay_bars < 1:
            raise ValueError("fault config: report_max_delay_bars must be >= 1")


class FaultInjector:
    def __init__(self, config: FaultConfig | None):
        self.config = config or FaultConfig()
        self.enabled = config is not None
        self.rng = np.random.default_rng(self.config.seed)

    def hit(self, probability: float) -> bool:
        return self.enabled and probability > 0 and self.rng.random() < probability
