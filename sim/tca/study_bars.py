"""The bars of a TCA study: a bar file or a dataset of the store, with the history before the
study window that the cost model, the VWAP profile and the risk model learn from.

Shared by ``qlab tca`` and the execution-comparison report, so both load exactly the same bars.
"""

from __future__ import annotations

#: Calendar days of bars loaded before --start for the cost model, VWAP profile and risk model.
HISTORY_CALENDAR_DAYS = 45


def load_study_bars(spec: str, settings, start: str | None, end: str | None):
    """(bars, description, synthetic flag): ``spec`` is a bar file or a dataset of the store;
    with ``start`` the bars begin HISTORY_CALENDAR_DAYS earlier (history for the models)."""
    import pandas as pd

    from research.data import BarStore, looks_like_file, resolve_bars

    store = BarStore(settings.data.store_path)
    load_start = None
    if start is not None:
        load_start = (pd.Timestamp(start) - pd.Timedelta(days=HISTORY_CALENDAR_DAYS)).strftime(
            "%Y-%m-%d")
    bars, description = resolve_bars(spec, store, start=load_start, end=end)
    synthetic = False
    if not looks_like_file(spec):
        try:
            info = next((d for d in store.list() if d.name == spec), None)
            synthetic = bool(getattr(info, "synthetic", False))
        except Exception:  # noqa: BLE001 - the flag is informative; the manifest may be old
            synthetic = "synthetic" in spec
    return bars, description, synthetic
