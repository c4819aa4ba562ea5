"""Local Parquet store of validated bars, partitioned by dataset, frequency and symbol.

Layout under the store root (``data/store`` by default, git-ignored)::

    <dataset>/manifest.json                       what it is, where it came from, synthetic or not
    <dataset>/<frequency>/symbol=<SYMBOL>.parquet  one file per symbol, sorted by timestamp

Writes are atomic per dataset: a dataset is written to a temporary folder beside the store and
renamed into place only after every file is written, so a failed or interrupted import leaves
the store exactly as it was.

A killed write leaves its ``.staging-*`` (or ``.trash-*``) folder behind. Each write holds an
exclusive ``flock`` on a ``.lock-<token>`` file for as long as its folders exist; the kernel
drops the lock when the process dies, however it dies. The next list, write or delete removes
every leftover whose lock it can take, and never touches a folder whose writer is running.
Names starting with a dot are never datasets.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from research.data.schema import ALL_COLUMNS, EXCHANGE_TZ, Frequency
from research.data.validation import SYMBOL_PATTERN, validate_bars

MANIFEST = "manifest.json"
#: Prefixes of a write's temporary folders and of the lock file that says it is still running.
STAGING_PREFIX, TRASH_PREFIX, LOCK_PREFIX = ".staging-", ".trash-", ".lock-"
DATASET_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"


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
        if not isinstance(name, str) or not re.fullmatch(DATASET_NAME_PATTERN, name) \
                or ".." in name:
            raise ValueError(f"invalid dataset name {name!r}: use letters, digits, '_', '-' "
                             "and '.', starting with a letter or digit")
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self._dir(name) / MANIFEST).is_file()

    def list(self) -> list[DatasetInfo]:
        self.remove_leftovers()
        if not self.root.is_dir():
            return []
        return [self.info(p.name) for p in sorted(self.root.iterdir())
                if not p.name.startswith(".") and (p / MANIFEST).is_file()]

    def remove_leftovers(self) -> list[str]:
        """Delete the temporary folders of writes that died; return their names.

        A folder is removed only when the lock of its write can be taken, i.e. no live process
        holds it: a write running in another process right now is left alone.
        """
        if not self.root.is_dir():
            return []
        removed = []
        for path in sorted(self.root.iterdir()):
            name = path.name
            if not (name.startswith(STAGING_PREFIX) or name.startswith(TRASH_PREFIX)):
                continue
            token = name.rsplit("-", 1)[-1]
            with _WriteLock(self.root, token, wait=False) as held:
                if held:
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(name)
        return removed

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

        bad_symbols = [s for s in bars["symbol"].astype(str).unique()
                       if not re.fullmatch(SYMBOL_PATTERN, s)]
        if bad_symbols:  # they name files: never write one whatever `validate` says
            raise ValueError(f"dataset {name!r}: invalid symbol(s) {bad_symbols[:5]}")

        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()
        token = uuid.uuid4().hex[:12]
        with _WriteLock(self.root, token, wait=True):
            return self._write_locked(name, target, bars, cols, freq, token, source, synthetic)

    def _write_locked(self, name, target, bars, cols, freq, token, source, synthetic):
        staging = self.root / f"{STAGING_PREFIX}{name}-{token}"
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
                old = self.root / f"{TRASH_PREFIX}{name}-{token}"
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
        self.remove_leftovers()
        shutil.rmtree(self._dir(name))


class _WriteLock:
    """An exclusive ``flock`` on ``<root>/.lock-<token>`` for the life of one write.

    ``wait=False`` only tries: the context value says whether the lock was taken. The lock file
    is removed by whoever holds the lock when leaving, so a finished write leaves nothing.
    """

    def __init__(self, root: Path, token: str, wait: bool):
        self.path = root / f"{LOCK_PREFIX}{token}"
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _bound(value, end: bool) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(EXCHANGE_TZ)
    if end and ts == ts.normalize():  # a bare date as the end means the whole day
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)
    return ts
