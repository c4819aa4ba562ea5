"""Market data: the bar schema, validation, the Parquet store, sources and intraday synthesis."""

from research.data.schema import (
    ALL_COLUMNS,
    EXCHANGE_TZ,
    QUOTE_COLUMNS,
    REQUIRED_COLUMNS,
    Frequency,
    has_quotes,
)
from research.data.sectors import GICS_SECTOR, sector_of
from research.data.sources import (
    EMBEDDED_DAILY_DATASET,
    SYNTH_DAILY_DATASET,
    SYNTH_MINUTE_DATASET,
    BarSource,
    EmbeddedData,
    FileSource,
    StoreSource,
    SyntheticMinuteSource,
    check_readable_file,
    embedded_data,
    ensure_synthetic_datasets,
    known_bar_datasets,
    known_run_datasets,
    load_factor_prices,
    load_sp500_closes,
    load_sp500_index,
    looks_like_file,
    resolve_bars,
)
from research.data.store import BarStore, DatasetInfo, DatasetNotFound, frame_hash
from research.data.synth import SynthParams, minute_to_daily, synthesize_minute_bars
from research.data.validation import (
    BarValidationError,
    ValidationReport,
    Violation,
    normalise_timestamps,
    repair_bars,
    validate_bars,
)

__all__ = [
    "ALL_COLUMNS", "EMBEDDED_DAILY_DATASET", "EXCHANGE_TZ", "GICS_SECTOR", "QUOTE_COLUMNS", "REQUIRED_COLUMNS",
    "SYNTH_DAILY_DATASET", "SYNTH_MINUTE_DATASET", "BarSource", "BarStore", "BarValidationError",
    "DatasetInfo", "DatasetNotFound", "EmbeddedData", "check_readable_file", "embedded_data",
    "known_bar_datasets", "known_run_datasets", "looks_like_file", "FileSource", "Frequency", "StoreSource",
    "SynthParams", "SyntheticMinuteSource", "ValidationReport", "Violation",
    "ensure_synthetic_datasets", "frame_hash", "has_quotes", "load_factor_prices",
    "load_sp500_closes", "load_sp500_index", "minute_to_daily", "normalise_timestamps",
    "repair_bars", "resolve_bars", "sector_of", "synthesize_minute_bars", "validate_bars",
]
