"""Parent orders: the unit an execution study or the live runner works on.

A parent-order frame has exactly these columns (the documented orders-file schema):

============== ==========================================================================
order_id       str, unique
symbol         str (upper-cased on load)
side           "buy" or "sell" (case-insensitive on load)
quantity       int shares, > 0
decision_time  tz-aware timestamp (converted to America/New_York), inside the regular
               session of a trading day: open <= t < close (early closes respected)
horizon_minutes int minutes, > 0: how long the execution strategy may work the order
============== ==========================================================================

:func:`validate_parent_orders` checks a frame and returns it normalised;
:func:`load_parent_orders` reads a CSV or Parquet file and validates it. Every problem is
reported with its row (1-based data row, the header not counted) and order id; nothing is
dropped or repaired.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from research.data.schema import EXCHANGE_TZ

PARENT_ORDER_COLUMNS: tuple[str, ...] = (
    "order_id", "symbol", "side", "quantity", "decision_time", "horizon_minutes",
)
SIDES = ("buy", "sell")
#: More shares than any US company has outstanding (Apple: about 1.5e10). A larger quantity is
#: a unit or typing error; checking it before the int64 cast also keeps 1e20 or 2**63 from
#: overflowing into a negative number.
MAX_ORDER_QUANTITY = 10**11
# A time of day followed by a UTC offset: "10:00:00-05:00", "15:00Z" ("2022-03-01" is naive).
_OFFSET = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")
_MAX_LISTED = 20
MAX_HORIZON_MINUTES = 7 * 24 * 60


class ParentOrderError(ValueError):
    """Invalid parent orders; ``problems`` lists ``row N (order_id X): field: reason``."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:_MAX_LISTED])
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        super().__init__(f"{source}: {len(problems)} problem(s) in the parent orders\n{shown}{more}")


def _where(frame: pd.DataFrame, mask: np.ndarray) -> list[str]:
    rows = np.flatnonzero(mask)
    ids = frame["order_id"].to_numpy() if "order_id" in frame.columns else None
    return [f"row {r + 1}" + (f" (order_id {ids[r]!r})" if ids is not None else "") for r in rows]


def _decision_times(raw: pd.Series, problems: list[str], frame: pd.DataFrame) -> pd.Series:
    """Parse decision_time, refusing naive values (whose zone would be a guess)."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert(EXCHANGE_TZ)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        problems.append("decision_time: timestamps have no time zone (write them with an "
                        "offset, e.g. 2022-03-01 10:00:00-05:00)")
        return pd.Series(pd.NaT, index=raw.index, dtype=f"datetime64[ns, {EXCHANGE_TZ}]")
    missing = raw.isna().to_numpy()
    naive = np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw.to_numpy()):
        if missing[i]:
            continue
        if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "tzinfo"):
            naive[i] = getattr(value, "tzinfo", None) is None
        else:
            naive[i] = _OFFSET.search(str(value).strip()) is None
    for where in _where(frame, missing):
        problems.append(f"{where}: decision_time: missing")
    for where in _where(frame, naive):
        problems.append(f"{where}: decision_time: no time zone offset (naive times are refused)")
    ok = ~(missing | naive)
    unparsable = np.zeros(len(raw), dtype=bool)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype=f"datetime64[ns, {EXCHANGE_TZ}]")
    if ok.any():
        subset = raw[ok]
        text = isinstance(subset.iloc[0], str)
        values = pd.to_datetime(subset, utc=True, errors="coerce",
                                format="ISO8601" if text else None)
        unparsable[ok] = values.isna().to_numpy()
        parsed = values.reindex(raw.index).dt.tz_convert(EXCHANGE_TZ)
    for where in _where(frame, unparsable):
        problems.append(f"{where}: decision_time: not a timestamp")
    return parsed


def _integers(raw: pd.Series, name: str, problems: list[str], frame: pd.DataFrame,
              maximum: float) -> np.ndarray:
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad_number = np.isnan(values)
    for where in _where(frame, bad_number):
        problems.append(f"{where}: {name}: missing or not a number")
    too_large = ~bad_number & (np.abs(values) > maximum)  # inf included
    for where, value in zip(_where(frame, too_large), values[too_large], strict=True):
        problems.append(f"{where}: {name}: {value:g} is too large (at most {maximum:g})")
    usable = ~bad_number & ~too_large
    fractional = usable & (values != np.round(values))
    for where in _where(frame, fractional):
        problems.append(f"{where}: {name}: must be a whole number")
    non_positive = usable & (values <= 0)
    for where in _where(frame, non_positive):
        problems.append(f"{where}: {name}: must be > 0")
    return np.where(usable, values, 0).astype(np.int64)


def validate_parent_orders(frame: pd.DataFrame, source: str = "parent orders",
                           calendar: str = "XNYS") -> pd.DataFrame:
    """Check a parent-order frame; return it normalised (types, upper-case symbols, NY time).

    Raises :class:`ParentOrderError` listing every problem. Extra columns are refused too: a
    misspelt column name must not pass silently.
    """
    missing = [c for c in PARENT_ORDER_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in PARENT_ORDER_COLUMNS]
    if missing or extra:
        problems = [f"missing column {c!r}" for c in missing]
        problems += [f"unexpected column {c!r}" for c in extra]
        problems.append(f"expected exactly the columns {list(PARENT_ORDER_COLUMNS)}")
        raise ParentOrderError(source, problems)
    frame = frame.reset_index(drop=True)
    problems: list[str] = []

    order_id = frame["order_id"]
    for where in _where(frame, order_id.isna().to_numpy()):
        problems.append(f"{where}: order_id: missing")
    ids = order_id.astype(str)
    for where in _where(frame, (ids.duplicated(keep="first") & order_id.notna()).to_numpy()):
        problems.append(f"{where}: order_id: duplicate")

    symbol = frame["symbol"].astype("string").str.strip().str.upper()
    for where in _where(frame, (symbol.isna() | (symbol == "")).to_numpy()):
        problems.append(f"{where}: symbol: missing")

    side = frame["side"].astype("string").str.strip().str.lower()
    bad_side = ~side.isin(SIDES).fillna(False).to_numpy(dtype=bool)
    for where, value in zip(_where(frame, bad_side), frame["side"][bad_side], strict=True):
        problems.append(f"{where}: side: {value!r} is not 'buy' or 'sell'")

    quantity = _integers(frame["quantity"], "quantity", problems, frame, MAX_ORDER_QUANTITY)
    # a parent order is worked within days, not years: a week of minutes is already generous
    horizon = _integers(frame["horizon_minutes"], "horizon_minutes", problems, frame,
                        MAX_HORIZON_MINUTES)
    decision = _decision_times(frame["decision_time"], problems, frame)

    known = decision.notna().to_numpy()
    if known.any():
        from research.data.calendar import epoch_ns, session_bounds_for

        opens, closes = session_bounds_for(decision[known], calendar)
        t = epoch_ns(decision[known])
        outside = np.zeros(len(frame), dtype=bool)
        outside[known] = (opens < 0) | (t < opens) | (t >= closes)
        for where, value in zip(_where(frame, outside), decision[outside], strict=True):
            problems.append(f"{where}: decision_time: {value} is outside regular trading hours "
                            "(not a session, or before the open / at or after the close)")
    if problems:
        raise ParentOrderError(source, problems)
    return pd.DataFrame({
        "order_id": ids.to_numpy(dtype=object),
        "symbol": symbol.to_numpy(dtype=object),
        "side": side.to_numpy(dtype=object),
        "quantity": quantity,
        "decision_time": decision,
        "horizon_minutes": horizon,
    })


def load_parent_orders(path: str | Path, calendar: str = "XNYS") -> pd.DataFrame:
    """Read a CSV or Parquet parent-order file and validate it (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, expected an orders file (CSV or Parquet)")
    if not path.is_file():
        raise FileNotFoundError(f"no such orders file: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, encoding="utf-8",
                                dtype={"order_id": str, "symbol": str, "side": str,
                                       "decision_time": str})
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty (not even a header row)") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except (pd.errors.ParserError, OSError) as exc:
        raise ValueError(f"{path}: cannot be read: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow's errors for a file that is not Parquet
        raise ValueError(f"{path}: cannot be read as {suffix.lstrip('.')}: {exc}") from None
    if frame.empty:
        raise ParentOrderError(str(path), ["no orders (only a header?)"])
    return validate_parent_orders(frame, str(path), calendar)


__all__ = ["PARENT_ORDER_COLUMNS", "SIDES", "ParentOrderError", "load_parent_orders",
           "validate_parent_orders"]
