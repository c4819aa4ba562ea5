"""Bar sources: one loader per source behind one interface, all returning validated bars.

* :class:`FileSource` — a user's CSV or Parquet file in the documented schema.
* :class:`StoreSource` — a dataset in the local Parquet store.
* :class:`SyntheticMinuteSource` — minute bars synthesised around the embedded real closes.

The embedded *real* data (skfolio's S&P 500 daily closes, the S&P 500 index and factor ETF
returns) are closes, not bars; they are exposed as wide frames by the ``load_*`` functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from research.data.schema import Frequency
from research.data.store import BarStore
from research.data.synth import SynthParams, minute_to_daily, synthesize_minute_bars
from research.data.validation import BarValidationError, normalise_timestamps, validate_bars

try:  # pyarrow is how pandas reads Parquet; its parse errors are not OSErrors
    from pyarrow import ArrowInvalid
except ImportError:  # pragma: no cover - pyarrow is a locked dependency
    ArrowInvalid = ValueError

#: Dataset names of the embedded, synthetic intraday data (the name says it is synthetic).
SYNTH_MINUTE_DATASET = "sp500_synthetic_minute"
SYNTH_DAILY_DATASET = "sp500_synthetic_daily"
#: The name under which a run config's universe.dataset or ``--bars`` selects the embedded
#: real daily closes: not a dataset of the store (they are closes, not bars), but a name every
#: check of a run config must know, as the backtest does.
EMBEDDED_DAILY_DATASET = "sp500_daily"
#: The last full year the embedded closes cover (they end on 2022-12-28).
SYNTH_DEFAULT_START, SYNTH_DEFAULT_END = "2022-01-01", "2022-12-28"


class BarSource(Protocol):
    """Anything that yields validated bars in the schema."""

    def load(self, symbols: list[str] | None = None, start=None, end=None) -> pd.DataFrame: ...


def load_sp500_closes() -> pd.DataFrame:
    """Real daily closes of 20 S&P 500 stocks, 1990-01-02 to 2022-12-28 (skfolio, offline)."""
    from skfolio.datasets import load_sp500_dataset

    frame = load_sp500_dataset()
    frame.index = pd.DatetimeIndex(frame.index).normalize()
    frame.index.name = "date"
    return frame


#: What the embedded benchmark is, for every output that compares against it.
SP500_INDEX_DESCRIPTION = (
    "S&P 500 price index (no dividends): against dividend-adjusted stock closes (the embedded "
    "ones are) alpha and the information ratio are overstated by about the index's dividend "
    "yield, 1-3% a year since 1990")


def load_sp500_index() -> pd.Series:
    """Real daily closes of the S&P 500 index over the same dates (the benchmark): the price
    index, described in ``attrs["description"]`` (:data:`SP500_INDEX_DESCRIPTION`)."""
    from skfolio.datasets import load_sp500_index as _load

    series = _load()["SP500"]
    series.index = pd.DatetimeIndex(series.index).normalize()
    series.attrs["description"] = SP500_INDEX_DESCRIPTION
    return series


def load_factor_prices() -> pd.DataFrame:
    """Daily prices of the factor ETFs MTUM, QUAL, SIZE, USMV, VLUE (skfolio, 2014-)."""
    from skfolio.datasets import load_factors_dataset

    frame = load_factors_dataset()
    frame.index = pd.DatetimeIndex(frame.index).normalize()
    return frame


def check_readable_file(path: Path, what: str = "file") -> None:
    """Refuse a missing path or a directory with a message that names it (not a traceback)."""
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, expected a {what}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")


def looks_like_file(spec: str) -> bool:
    """True when ``spec`` names a file rather than a dataset: it has a bar-file suffix or a
    path separator, or exists on disk. Dataset names have neither."""
    path = Path(spec)
    return (path.suffix.lower() in (".csv", ".parquet", ".pq") or "/" in spec
            or os.sep in spec or path.exists())


def _select(frame: pd.DataFrame, symbols, start, end) -> pd.DataFrame:
    if symbols:
        wanted = {s.upper() for s in symbols}
        unknown = wanted - set(frame["symbol"].unique())
        if unknown:
            raise KeyError(f"symbol(s) {sorted(unknown)} not in the data")
        frame = frame[frame["symbol"].isin(wanted)]
    ts = frame["timestamp"]
    if start is not None:
        frame = frame[ts >= pd.Timestamp(start, tz=ts.dt.tz)]
    if end is not None:
        stop = pd.Timestamp(end, tz=ts.dt.tz)
        if stop == stop.normalize():
            stop += pd.Timedelta(days=1)
        frame = frame[frame["timestamp"] < stop]
    return frame.reset_index(drop=True)


class FileSource:
    """A CSV or Parquet file in the bar schema; validated on load, never repaired silently."""

    def __init__(self, path: str | Path, assume_tz: str | None = None,
                 frequency: Frequency | str | None = None):
        self.path = Path(path)
        self.assume_tz = assume_tz
        self.frequency = frequency

    def read_raw(self) -> pd.DataFrame:
        """The file as a frame with exchange-time timestamps; every read error names the file."""
        path = self.path
        check_readable_file(path)
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                frame = pd.read_csv(path, dtype={"symbol": str}, encoding="utf-8")
            elif suffix in (".parquet", ".pq"):
                frame = pd.read_parquet(path)
            else:
                raise ValueError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path}: the file is empty (not even a header row)") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") \
                from None
        except (pd.errors.ParserError, OSError, ArrowInvalid) as exc:
            raise ValueError(f"{path}: cannot be read as {suffix[1:]}: {exc}") from None
        if "timestamp" in frame.columns:
            try:
                frame = normalise_timestamps(frame, self.assume_tz)
            except BarValidationError as exc:
                raise BarValidationError(str(path), exc.report) from None
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
        return frame

    def load(self, symbols=None, start=None, end=None) -> pd.DataFrame:
        frame = self.read_raw()
        validate_bars(frame, self.frequency).raise_if_invalid(str(self.path))
        return _select(frame, symbols, start, end)


class StoreSource:
    def __init__(self, store: BarStore, dataset: str):
        self.store = store
        self.dataset = dataset

    def load(self, symbols=None, start=None, end=None) -> pd.DataFrame:
        return self.store.read(self.dataset, symbols, start, end)


class SyntheticMinuteSource:
    """Minute bars synthesised (seeded) around the embedded real daily closes."""

    def __init__(self, params: SynthParams | None = None, progress: bool = False):
        self.params = params or SynthParams()
        self.progress = progress

    def load(self, symbols=None, start=None, end=None) -> pd.DataFrame:
        closes = load_sp500_closes()
        if symbols:
            unknown = sorted({s.upper() for s in symbols} - set(closes.columns))
            if unknown:
                raise KeyError(f"symbol(s) {unknown} not in the embedded dataset")
            closes = closes[[s.upper() for s in symbols]]
        return synthesize_minute_bars(
            closes, start or SYNTH_DEFAULT_START, end or SYNTH_DEFAULT_END,
            self.params, progress=self.progress,
        )


@dataclass(frozen=True)
class EmbeddedData:
    """Data that ships with qlab (no download): what ``qlab data list`` shows on a fresh clone."""

    name: str
    kind: str  # "closes" (a wide table of daily closes) or "bars" (a dataset of the store)
    frequency: str
    symbols: list[str]
    start: str
    end: str
    synthetic: bool
    description: str


def embedded_data() -> list[EmbeddedData]:
    """The embedded real closes, and the synthetic bar datasets built from them on first use."""
    closes, index, factors = load_sp500_closes(), load_sp500_index(), load_factor_prices()

    def span(frame) -> tuple[str, str]:
        return f"{frame.index[0]:%Y-%m-%d}", f"{frame.index[-1]:%Y-%m-%d}"

    symbols = [str(c) for c in closes.columns]
    synth_span = (SYNTH_DEFAULT_START, SYNTH_DEFAULT_END)
    return [
        EmbeddedData("sp500_closes", "closes", "daily", symbols, *span(closes), False,
                     "real daily closes of 20 S&P 500 stocks (skfolio); risk, and backtests as "
                     f"{EMBEDDED_DAILY_DATASET!r}"),
        EmbeddedData("sp500_index", "closes", "daily", ["SP500"], *span(index), False,
                     "real daily closes of the S&P 500 index (skfolio); the benchmark"),
        EmbeddedData("factor_etfs", "closes", "daily", [str(c) for c in factors.columns],
                     *span(factors), False, "real daily prices of factor ETFs (skfolio)"),
        EmbeddedData(SYNTH_MINUTE_DATASET, "bars", "minute", symbols, *synth_span, True,
                     "minute bars with quotes synthesised around the real closes (seeded)"),
        EmbeddedData(SYNTH_DAILY_DATASET, "bars", "daily", symbols, *synth_span, True,
                     "the daily aggregate of the synthetic minute bars"),
    ]


def known_bar_datasets(store: BarStore) -> dict[str, list[str]]:
    """Every bar dataset a study can name -> its symbols: the store's, and the embedded
    synthetic ones (built on first use, so known before they are in the store)."""
    known = {d.name: list(d.symbols) for d in embedded_data() if d.kind == "bars"}
    known.update({info.name: list(info.symbols) for info in store.list()})
    return known


def known_run_datasets(store: BarStore) -> dict[str, list[str]]:
    """Every dataset a run config can name -> its symbols: :func:`known_bar_datasets` and the
    embedded daily closes (:data:`EMBEDDED_DAILY_DATASET`), which backtests replay daily.
    Kept apart from :func:`known_bar_datasets` because the TCA study needs minute bars and
    must keep refusing the closes up front."""
    known = known_bar_datasets(store)
    known[EMBEDDED_DAILY_DATASET] = [str(c) for c in load_sp500_closes().columns]
    return known


def ensure_synthetic_datasets(store: BarStore, params: SynthParams | None = None,
                              start: str = SYNTH_DEFAULT_START, end: str = SYNTH_DEFAULT_END,
                              symbols: list[str] | None = None, replace: bool = False,
                              progress: bool = False) -> tuple[pd.DataFrame | None, bool]:
    """Write the synthetic minute and daily datasets unless present; return (bars, created)."""
    if store.exists(SYNTH_MINUTE_DATASET) and not replace:
        return None, False
    params = params or SynthParams()
    minute = SyntheticMinuteSource(params, progress).load(symbols, start, end)
    source = f"synthetic: seed={params.seed}, real closes from skfolio sp500 {start}..{end}"
    store.write(SYNTH_MINUTE_DATASET, minute, source=source, synthetic=True,
                frequency=Frequency.MINUTE, replace=True)
    store.write(SYNTH_DAILY_DATASET, minute_to_daily(minute), source=source, synthetic=True,
                frequency=Frequency.DAILY, replace=True)
    return minute, True


def resolve_bars(spec: str, store: BarStore, symbols=None, start=None, end=None,
                 assume_tz: str | None = None) -> tuple[pd.DataFrame, str]:
    """Bars from a file path or a dataset name; returns (bars, description)."""
    if looks_like_file(spec):
        path = Path(spec)
        return FileSource(path, assume_tz).load(symbols, start, end), f"file {path}"
    if spec == SYNTH_MINUTE_DATASET and not store.exists(spec):
        ensure_synthetic_datasets(store)
    return store.read(spec, symbols, start, end), f"dataset {spec}"


__all__ = [
    "BarSource", "EmbeddedData", "FileSource", "StoreSource", "SyntheticMinuteSource",
    "SYNTH_MINUTE_DATASET", "SYNTH_DAILY_DATASET", "check_readable_file", "embedded_data",
    "EMBEDDED_DAILY_DATASET", "known_bar_datasets", "known_run_datasets", "looks_like_file",
    "ensure_synthetic_datasets", "load_factor_prices",
    "load_sp500_closes", "load_sp500_index", "minute_to_daily", "resolve_bars",
]
