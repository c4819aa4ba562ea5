from __future__ import annotations

import pytest

from research.config import ExecutionSettings


@pytest.fixture
def fast_settings():
    return ExecutionSettings(retry_initial_backoff_s=1e-4, retry_max_backoff_s=1e-3,
                             retry_jitter_s=0.0, max_orders_per_second=100.0, order_burst=100)
