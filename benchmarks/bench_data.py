"""Data layer: synthesising and reading one year of minute bars for 20 symbols (~2M rows)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine, repeat, row  # noqa: E402

from research.data import (  # noqa: E402
    SYNTH_MINUTE_DATASET,
    BarStore,
    SynthParams,
    load_sp500_closes,
    synthesize_minute_bars,
    validate_bars,
)
from research.data.sources import ensure_synthetic_datasets  # noqa: E402


def main() -> None:
    print(f"machine: {machine()}")
    closes = load_sp500_closes()
    bars = None

    def synth():
        nonlocal bars
        bars = synthesize_minute_bars(closes, "2022-01-01", "2022-12-28", SynthParams())

    row("synthesise 2022 minute bars, 20 symbols", repeat(synth, 3, warmup=1), "< 10 s")
    print(f"  rows: {len(bars):,d}")
    row("validate them (every rule incl. sessions)", repeat(lambda: validate_bars(bars), 3, 1),
        "(info)")
    with tempfile.TemporaryDirectory() as tmp:
        store = BarStore(tmp)
        ensure_synthetic_datasets(store)
        row("read them from the Parquet store", repeat(lambda: store.read(SYNTH_MINUTE_DATASET),
                                                       5, 1), "< 1 s")


if __name__ == "__main__":
    main()
