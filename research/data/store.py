"""Local Parquet store of validated bars, partitioned by dataset, frequency and symbol.

Layout under the store root (``data/store`` by default, git-ignored)::

    <dataset>/manifest.json                       what it is, where it came from, synthetic or not
    <dataset>/<frequency>/symbol=<SYMBOL>.parquet  one file per symbol, sorted by timestamp

Writes are atomic per dataset: a dataset is written to a temporary folder beside the store and
renamed into place only after every file is written, so a failed or interrupted import leaves
the store exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from research.data.schema import ALL_COLUMNS, EXCHANGE_TZ, Frequency
from research.data.validation import validate_bars

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    frequency: str
    symbols: list[str]
    rows: int
    start: str
    end: str
    columns: list[str]
    synthetic: bool
    source: str
    content_hash: str
    created: str

    @property
    def has_quotes(self) -> bool:
        return "bid" in self.columns and "ask" in self.columns


class DatasetNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash of a bar frame (order-independent of columns) for run tracking."""
    cols = [c for c in ALL_COLUMNS if c in frame.columns]
    h = hashlib.sha256()
    h.update(",".join(cols).encode())
    h.update(pd.util.hash_pandas_object(frame[cols], index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


class BarStore:
    """Reads and writes datasets of validated bars under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid dataset name {name!r}")
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self._dir(name) / MANIFEST).is_file()

    def list(self) -> list[DatasetInfo]:
        if not self.root.is_dir():
            return []
        return [self.info(p.name) for p in sorted(self.root.iterdir())
                if (p / MANIFEST).is_file()]

    def info(self, name: str) -> DatasetInfo:
        path = self._dir(name) / MANIFEST
        if not path.is_file():
            known = ", ".join(d.name for d in self.list()) or "none"
            raise DatasetNotFound(f"no dataset {name!r} in {self.root} (known: {known})")
        return DatasetInfo(**json.loads(path.read_text()))

    def write(
        self,
        name: str,
        bars: pd.DataFrame,
        *,
        source: str,
        synthetic: bool,
        frequency: Frequency | str | None = None,
        replace: bool = False,
        validate: bool = True,
    ) -> DatasetInfo:
        """Validate and write ``bars`` as dataset ``name``; all or nothing."""
        target = self._dir(name)
        if self.exists(name) and not replace:
            raise FileExistsError(f"dataset {name!r} exists; pass replace=True (--replace)")
        report = validate_bars(bars, frequency)
        if validate:
            report.raise_if_invalid(f"dataset {name!r}")
        freq = report.frequency or Frequency.parse(frequency or "daily")
        bars = bars.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)
        cols = [c for c in ALL_COLUMNS if c in bars.columns]

        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".staging-{name}-{uuid.uuid4().hex[:8]}"
        try:
            part_dir = staging / freq.value
            part_dir.mkdir(parents=True)
            for symbol, group in bars.groupby("symbol", sort=True):
                # The symbol lives in the file name; a string column per row would only cost
                # read time. It comes back as a categorical on read.
                group[[c for c in cols if c != "symbol"]].to_parquet(
                    part_dir / f"symbol={symbol}.parquet", index=False)
            ts = bars["timestamp"]
            info = DatasetInfo(
                name=name, frequency=freq.value,
                symbols=sorted(bars["symbol"].astype(str).unique().tolist()),
                rows=len(bars), start=ts.min().isoformat(), end=ts.max().isoformat(),
                columns=cols, synthetic=synthetic, source=source,
                content_hash=frame_hash(bars),
                created=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            (staging / MANIFEST).write_text(json.dumps(asdict(info), indent=2))
            old = None
            if target.exists():
                old = self.root / f".trash-{name}-{uuid.uuid4().hex[:8]}"
                os.replace(target, old)
            os.replace(staging, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return info

    def read(
        self,
        name: str,
        symbols: list[str] | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``name`` (optionally some symbols, a date range), sorted by symbol and time.

        Stored data was validated on write, so reading does not validate again: that keeps a
        year of minute bars for 20 symbols well under a second.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        info = self.info(name)
        wanted = info.symbols if not symbols else [s.upper() for s in symbols]
        unknown = sorted(set(wanted) - set(info.symbols))
        if unknown:
            raise KeyError(f"dataset {name!r} has no symbol(s) {unknown}; it has {info.symbols}")
        folder = self._dir(name) / info.frequency
        filters = []
        if start is not None:
            filters.append(("timestamp", ">=", _bound(start, end=False)))
        if end is not None:
            filters.append(("timestamp", "<=", _bound(end, end=True)))
        tables = [pq.read_table(folder / f"symbol={s}.parquet", filters=filters or None)
                  for s in wanted]
        counts = np.array([t.num_rows for t in tables])
        frame = pa.concat_tables(tables).to_pandas()
        codes = np.repeat(np.arange(len(wanted)), counts)
        frame.insert(1, "symbol", pd.Categorical.from_codes(codes, categories=wanted))
        frame["timestamp"] = frame["timestamp"].dt.tz_convert(EXCHANGE_TZ)
        return frame

    def delete(self, name: str) -> None:
        self.info(name)
        shutil.rmtree(self._dir(name))


def _bound(value, end: bool) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(EXCHANGE_TZ)
    if end and ts == ts.normalize():  # a bare date as the end means the whole day
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)
    return ts
