"""Bar validation: every broken rule is reported with its symbol, timestamp and row.

Validation never drops or repairs anything by itself. :func:`repair_bars` is the explicit,
opt-in alternative: it drops every offending row and returns the list of what it dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.data.calendar import calendar_bounds, epoch_ns, session_bounds_for
from research.data.schema import (
    ALL_COLUMNS,
    EXCHANGE_TZ,
    NUMERIC_COLUMNS,
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
    Frequency,
)

#: Rules that concern the whole frame rather than rows; nothing can be repaired row by row.
FRAME_RULES = frozenset({"missing_column", "unknown_column", "dtype", "timezone", "empty",
                         "not_minute", "midnight_utc"})

#: A ticker as exchanges and Tiger write it: upper case, digits, '.' or '-' inside (BRK.B,
#: BF-B). Lower case or padding would make a second series of the same stock, and a '/' or a
#: leading '.' would let a symbol escape its file in the store.
SYMBOL_PATTERN = r"[A-Z0-9](?:[A-Z0-9.\-]{0,14}[A-Z0-9])?"
#: No US stock trades anywhere near this (BRK.A: under $1M); a larger price is a unit or
#: parsing error, not a price.
MAX_PRICE = 10_000_000.0


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    detail: str
    row: int | None = None  # 0-based position in the input frame
    symbol: str | None = None
    timestamp: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.symbol is not None:
            where.append(f"symbol {self.symbol}")
        if self.timestamp is not None:
            where.append(f"at {self.timestamp}")
        prefix = ", ".join(where)
        return f"[{self.rule}] {prefix + ': ' if prefix else ''}{self.detail}"


@dataclass
class ValidationReport:
    frequency: Frequency | None
    rows: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def offending_rows(self) -> list[int]:
        return sorted({v.row for v in self.violations if v.row is not None})

    def summary(self, limit: int | None = 50) -> str:
        if self.ok:
            return f"OK: {self.rows} rows, no violations"
        shown = self.violations if limit is None else self.violations[:limit]
        lines = [f"{len(self.violations)} violation(s) in {self.rows} rows:"]
        lines += [f"  {v}" for v in shown]
        if limit is not None and len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)

    def raise_if_invalid(self, source: str = "bars") -> None:
        if not self.ok:
            raise BarValidationError(source, self)


class BarValidationError(ValueError):
    """Bars broke the schema; ``report`` holds every violation."""

    def __init__(self, source: str, report: ValidationReport):
        self.report = report
        super().__init__(f"{source}: {report.summary(limit=20)}")


#: A timestamp string that carries its own zone: "...09:31:00-05:00", "...09:31Z".
_OFFSET_SUFFIX = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_MAX_LOCATED = 20


def _frame_error(rule: str, detail: str, rows: int) -> BarValidationError:
    return BarValidationError("bars", ValidationReport(None, rows, [Violation(rule, detail)]))


def _row_errors(rule: str, detail: str, rows: np.ndarray, total: int) -> BarValidationError:
    found = [Violation(rule, detail, int(i)) for i in rows[:_MAX_LOCATED]]
    return BarValidationError("bars", ValidationReport(None, total, found))


def _parse_timestamp_text(ts: pd.Series) -> pd.Series:
    """Parse ISO-8601 text; offsets may differ row to row (a file across a DST change has
    -05:00 then -04:00), but naive and zoned text must not be mixed: a naive row's zone would
    be a guess."""
    try:
        return pd.to_datetime(ts, format="ISO8601")
    except (ValueError, TypeError) as exc:
        if "Mixed timezones" not in str(exc):
            parsed = pd.to_datetime(ts, format="ISO8601", errors="coerce", utc=True)
            bad = np.flatnonzero(parsed.isna().to_numpy() & ts.notna().to_numpy())
            if not len(bad):  # parsing failed as a whole, no row to blame
                raise _frame_error("dtype", f"timestamp: {exc}", len(ts)) from None
            raise _row_errors("dtype", "timestamp is not an ISO-8601 date-time", bad,
                              len(ts)) from None
    text = ts.astype("string").str.strip()
    naive = np.flatnonzero(~text.str.contains(_OFFSET_SUFFIX, regex=True).fillna(False)
                           .to_numpy(dtype=bool))
    if len(naive):
        raise _row_errors("timezone", "timestamp has no UTC offset while other rows have one "
                          "(write every row with its offset, e.g. 2022-03-14T09:31:00-04:00)",
                          naive, len(ts))
    parsed = pd.to_datetime(ts, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & ts.notna().to_numpy())
    if len(bad):
        raise _row_errors("dtype", "timestamp is not an ISO-8601 date-time", bad, len(ts))
    return parsed


def normalise_timestamps(frame: pd.DataFrame, assume_tz: str | None = None) -> pd.DataFrame:
    """Return a copy whose ``timestamp`` is tz-aware exchange time.

    Naive timestamps are refused unless ``assume_tz`` says which zone they are in: guessing
    would shift every bar by hours. Other zones are converted; UTC offsets may change from row
    to row (daylight saving time), as they do in any export of New York bars.
    """
    if assume_tz is not None:
        _check_zone(assume_tz)
    out = frame.copy()
    ts = out["timestamp"]
    if len(ts) == 0:  # nothing to convert; validation reports the empty frame
        return out
    if not pd.api.types.is_datetime64_any_dtype(ts):
        ts = _parse_timestamp_text(ts)
    if ts.dt.tz is None:
        if assume_tz is None:
            raise _frame_error(
                "timezone",
                "timestamps are naive (no time zone); write them with an offset "
                f"(e.g. 2022-01-03T09:31:00-05:00) or pass assume_tz='{EXCHANGE_TZ}'",
                len(frame))
        ts = ts.dt.tz_localize(assume_tz)
    out["timestamp"] = ts.dt.tz_convert(EXCHANGE_TZ).dt.as_unit("ns")
    return out


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"assume_tz (--assume-tz): unknown time zone {name!r}; use an IANA "
                         f"name such as {EXCHANGE_TZ!r} or 'UTC'") from None


def _is_text(column: pd.Series) -> bool:
    """Text, allowing missing values (each is then reported on its row as an invalid symbol)."""
    if pd.api.types.is_string_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return True
    return column.dtype == object and all(isinstance(x, str) for x in column.dropna().unique())


def infer_frequency(frame: pd.DataFrame) -> Frequency:
    """Minute bars sit at different clock times within a day; daily bars have one per date."""
    ts = frame["timestamp"]
    if len(ts) == 0:
        return Frequency.DAILY
    first = frame["symbol"].iloc[0]
    one = pd.DatetimeIndex(ts[frame["symbol"] == first])
    dates = one.tz_convert(EXCHANGE_TZ).normalize() if one.tz is not None else one.normalize()
    # distinct stamps, not rows: a copied daily bar is a duplicate, not a second bar a date
    return Frequency.MINUTE if len(one.unique()) > len(dates.unique()) else Frequency.DAILY


def validate_bars(
    frame: pd.DataFrame,
    frequency: Frequency | str | None = None,
    calendar: str = "XNYS",
) -> ValidationReport:
    """Check ``frame`` against the bar schema; return a report listing every violation."""
    report = ValidationReport(None, len(frame))
    v = report.violations

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in ALL_COLUMNS]
    for c in missing:
        v.append(Violation("missing_column", f"required column {c!r} is missing"))
    for c in unknown:
        v.append(Violation(
            "unknown_column",
            f"column {c!r} is not in the bar schema (allowed: {', '.join(ALL_COLUMNS)})",
        ))
    if "bid" in frame.columns and "ask" not in frame.columns:
        v.append(Violation("missing_column", "'bid' given without 'ask'"))
    if "ask" in frame.columns and "bid" not in frame.columns:
        v.append(Violation("missing_column", "'ask' given without 'bid'"))
    if missing:
        return report
    if len(frame) == 0:
        v.append(Violation("empty", "no rows"))
        return report

    ts = frame["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        v.append(Violation("dtype", f"timestamp must be a datetime column, got {ts.dtype}"))
        return report
    if ts.dt.tz is None:
        v.append(Violation("timezone", "timestamps are naive; they must carry a time zone"))
        return report
    for c in NUMERIC_COLUMNS:
        if c in frame.columns and not pd.api.types.is_numeric_dtype(frame[c]):
            v.append(Violation("dtype", f"column {c!r} must be numeric, got {frame[c].dtype}"))
    if not _is_text(frame["symbol"]):
        v.append(Violation("dtype", f"symbol must be text, got {frame['symbol'].dtype}"))
    if any(x.rule in FRAME_RULES for x in v):
        return report

    freq = Frequency.parse(frequency) if frequency is not None else infer_frequency(frame)
    report.frequency = freq
    # Symbols are handled as codes of their distinct values (a frame has a few dozen): no
    # per-row string work on a clean frame. A missing symbol gets the code of "".
    codes, uniques = pd.factorize(frame["symbol"])
    names = np.array([str(u) for u in uniques] + [""], dtype=object)
    symbol_codes = np.where(codes < 0, len(uniques), codes)
    symbols = names[symbol_codes]
    stamps = pd.DatetimeIndex(ts).tz_convert(EXCHANGE_TZ)
    ns = epoch_ns(stamps)

    def flag(mask: np.ndarray, rule: str, detail) -> None:
        # Only offending rows are formatted: a clean 2M-row frame costs no string work.
        for i in np.flatnonzero(mask):
            text = detail(i) if callable(detail) else detail
            v.append(Violation(rule, text, int(i), symbols[i], stamps[i].isoformat()))

    valid = pd.Series(names, dtype="string").str.fullmatch(SYMBOL_PATTERN).to_numpy(bool)
    flag(~valid[symbol_codes], "invalid_symbol",
         lambda i: f"symbol {symbols[i]!r} is not a ticker (upper-case letters and digits, "
                   "'.' or '-' inside, no spaces; e.g. AAPL, BRK.B)")

    num = {c: frame[c].to_numpy(dtype=np.float64) for c in NUMERIC_COLUMNS if c in frame.columns}
    for c, arr in num.items():
        flag(np.isnan(arr), "nan", f"{c} is NaN")
        flag(np.isinf(arr), "inf", f"{c} is infinite")
    finite = {c: np.where(np.isfinite(a), a, np.nan) for c, a in num.items()}
    with np.errstate(invalid="ignore"):
        for c in PRICE_COLUMNS:
            flag(finite[c] <= 0, "non_positive_price", lambda i, c=c: f"{c}={float(num[c][i])!r} <= 0")
        for c in ("bid", "ask"):
            if c in finite:
                flag(finite[c] <= 0, "non_positive_price", lambda i, c=c: f"{c}={float(num[c][i])!r} <= 0")
        for c in (*PRICE_COLUMNS, "bid", "ask"):
            if c in finite:
                flag(finite[c] > MAX_PRICE, "implausible_price",
                     lambda i, c=c: f"{c}={float(num[c][i])!r} above {MAX_PRICE:,.0f}: not a share price")
        o, h, lo, cl = finite["open"], finite["high"], finite["low"], finite["close"]
        flag(h < np.fmax(o, cl), "high_below_open_close",
             lambda i: f"high={h[i]} below max(open={o[i]}, close={cl[i]})")
        flag(lo > np.fmin(o, cl), "low_above_open_close",
             lambda i: f"low={lo[i]} above min(open={o[i]}, close={cl[i]})")
        flag(finite["volume"] < 0, "negative_volume", lambda i: f"volume={num['volume'][i]} < 0")
        for c in ("bid_size", "ask_size"):
            if c in finite:
                flag(finite[c] < 0, "negative_size", lambda i, c=c: f"{c}={num[c][i]} < 0")
        if "bid" in finite and "ask" in finite:
            b, a = finite["bid"], finite["ask"]
            flag(b > a, "bid_above_ask", lambda i: f"bid={b[i]} above ask={a[i]}")

    # Uniqueness and order per symbol, wherever the rows sit in the file (a vendor's
    # corrections appended at the end are as much duplicates as adjacent copies). The rules
    # are defined so that dropping every flagged row leaves a valid frame, as --repair
    # promises: a duplicate is any later copy of an earlier row's (symbol, timestamp), and a
    # row is unsorted when it is outside its symbol's longest increasing run (below). The
    # first copy is kept and named.
    n = len(frame)
    rows = np.arange(n)
    by_time = np.lexsort((rows, ns, symbol_codes))
    s_time, t_time = symbol_codes[by_time], ns[by_time]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (s_time[1:] != s_time[:-1]) | (t_time[1:] != t_time[:-1])
    first_copy = np.empty(n, dtype=np.int64)
    first_copy[by_time] = by_time[np.maximum.accumulate(np.where(starts, rows, 0))]
    dup = first_copy != rows

    # unsorted: the rows outside the longest run of each symbol's rows (file order) whose
    # timestamps increase — the fewest rows whose removal leaves the symbol sorted, so one
    # misplaced bar is one flagged row, not every row after it
    order = np.lexsort((rows, symbol_codes))
    order = order[~dup[order]]  # a later copy is reported (and dropped) as a duplicate
    back = np.zeros(n, dtype=bool)
    ref_row = np.zeros(n, dtype=np.int64)
    ref_before = np.zeros(n, dtype=bool)
    bounds = np.flatnonzero(np.diff(symbol_codes[order])) + 1
    for group in np.split(order, bounds):
        t = ns[group]
        if t.size < 2 or bool((np.diff(t) > 0).all()):
            continue
        kept = _longest_increasing(t)
        kept_pos = np.flatnonzero(kept)
        for k in np.flatnonzero(~kept):
            i = group[k]
            back[i] = True
            before = kept_pos[kept_pos < k]
            if before.size and t[k] <= t[before[-1]]:
                ref_row[i], ref_before[i] = group[before[-1]], True
            else:  # later than the next kept row of its symbol
                after = kept_pos[kept_pos > k]
                ref_row[i] = group[after[0]] if after.size else group[before[-1]]

    def copy_detail(i: int) -> str:
        j = int(first_copy[i])
        differ = [c for c, a in num.items()
                  if not (a[i] == a[j] or (np.isnan(a[i]) and np.isnan(a[j])))]
        values = f"different {', '.join(differ)}" if differ else "the same values"
        return f"same symbol and timestamp as row {j}, with {values}"

    flag(dup, "duplicate_timestamp", copy_detail)
    flag(back, "unsorted_timestamp",
         lambda i: (f"timestamp earlier than row {ref_row[i]} of this symbol (at "
                    f"{stamps[ref_row[i]].isoformat()}), which comes before it")
         if ref_before[i] else
         (f"timestamp later than row {ref_row[i]} of this symbol (at "
          f"{stamps[ref_row[i]].isoformat()}), which comes after it"))

    if freq is Frequency.MINUTE:
        opens, closes = session_bounds_for(stamps, calendar)
        outside = (opens < 0) | (ns <= opens) | (ns > closes)
        flag(outside, "outside_session",
             lambda i: "not a trading day" if opens[i] < 0 else
             "bar close outside regular hours (session open < close stamp <= session close)")
        # Bars declared minute that are all stamped at their session's close (so one per
        # symbol and session) are daily bars: stored as minute, every replay would treat a day
        # as one minute. (Inferred minute needs several bars a date, so only a declaration
        # gets here.) Two sessions at least: one bar alone says nothing about its frequency.
        sessions_seen = np.unique(stamps.normalize().asi8)
        if len(sessions_seen) >= 2 and closes.min() >= 0 and bool((ns == closes).all()):
            v.append(Violation(
                "not_minute",
                f"declared minute bars, but every bar is stamped at its session's close "
                f"({len(sessions_seen)} sessions): these are daily "
                "bars (use --frequency daily, or leave it out to infer it)"))
    else:
        # Vendors often stamp a daily bar with its date at 00:00 UTC: that is the previous
        # evening in New York, so every bar would be dated (and traded) a session early.
        if n and bool((ns % 86_400_000_000_000 == 0).all()):
            v.append(Violation(
                "midnight_utc",
                "every daily bar is stamped 00:00 UTC, the previous evening in New York: each "
                "would be dated a session early. Stamp them at the session close (16:00 "
                "America/New_York), or give date-only timestamps with --assume-tz "
                "America/New_York"))
        opens, _ = session_bounds_for(stamps, calendar)
        first, last = calendar_bounds(calendar)
        flag(opens < 0, "not_a_session", "date is not a trading session of the calendar "
             f"(which knows {first:%Y-%m-%d} to {last:%Y-%m-%d})")
        # Daily bars have one row per symbol and session; a second one on the same date means
        # the file holds intraday bars and was declared (or inferred) daily by mistake.
        # The first row of a symbol and date (file order) is its bar; any other row there at
        # another time is flagged, wherever it sits, so that dropping them leaves one a date.
        day = stamps.normalize().asi8
        # (the date's bar is its first row not already flagged unsorted or a copy: flagging
        # the others as well would leave the date, after a repair, without a bar)
        by_day = np.lexsort((rows, back | dup, day, symbol_codes))
        s_day, d_day = symbol_codes[by_day], day[by_day]
        day_starts = np.ones(n, dtype=bool)
        day_starts[1:] = (s_day[1:] != s_day[:-1]) | (d_day[1:] != d_day[:-1])
        first_of_day = np.empty(n, dtype=np.int64)
        first_of_day[by_day] = by_day[np.maximum.accumulate(np.where(day_starts, rows, 0))]
        second = (first_of_day != rows) & (ns != ns[first_of_day]) & ~dup & ~back
        flag(second, "not_daily",
             lambda i: f"a second bar of this symbol on the date of row {first_of_day[i]}: "
                       "these are intraday bars, not daily (use --frequency minute)")

    v.sort(key=lambda x: (x.row if x.row is not None else -1, x.rule))
    return report


def repair_bars(frame: pd.DataFrame, report: ValidationReport) -> tuple[pd.DataFrame, list[Violation]]:
    """Drop every offending row (explicit ``--repair``); return the kept frame and what was dropped.

    Frame-level problems (missing or unknown columns, dtypes, naive timestamps) cannot be repaired
    by dropping rows and raise instead.
    """
    frame_level = [x for x in report.violations if x.rule in FRAME_RULES]
    if frame_level:
        raise BarValidationError("bars (not repairable by dropping rows)",
                                 ValidationReport(report.frequency, report.rows, frame_level))
    drop = report.offending_rows
    dropped = [x for x in report.violations if x.row is not None]
    kept = frame.drop(frame.index[drop]).reset_index(drop=True)
    return kept, dropped


#: Split ratios whose footprint (a close of 1/k or k times the previous) unadjusted data shows.
SPLIT_RATIOS = (2, 3, 4, 5, 10)


def suspected_splits(closes: pd.DataFrame, tolerance: float = 0.03) -> list[str]:
    """Session-to-session moves of wide daily ``closes`` that look like an unadjusted split
    (a close within ``tolerance`` of 1/k or k times the previous one, k in
    :data:`SPLIT_RATIOS`), as ``"SYM YYYY-MM-DD: x0.500 (a 2:1 split?)"``. Nothing is changed:
    a real crash can look the same, so this is for the reader, who knows whether the prices
    are split-adjusted (a backtest assumes they are)."""
    ratio = closes / closes.ffill().shift(1)
    out = []
    for k in SPLIT_RATIOS:
        for r, what in ((1.0 / k, f"a {k}:1 split?"), (float(k), f"a 1:{k} reverse split?")):
            hit = ((ratio / r - 1.0).abs() <= tolerance).to_numpy()
            for i, j in zip(*np.nonzero(hit), strict=True):
                day, sym = ratio.index[i], ratio.columns[j]
                out.append((day, sym, f"{sym} {pd.Timestamp(day):%Y-%m-%d}: "
                                      f"x{ratio.iat[i, j]:.3f} ({what})"))
    return [text for _, _, text in sorted(out)]


def _longest_increasing(t: np.ndarray) -> np.ndarray:
    """Mask of one longest strictly increasing subsequence of ``t`` (patience sorting,
    O(n log n)); ties go to the earliest rows."""
    from bisect import bisect_left

    tails: list = []  # smallest tail value of an increasing run of each length
    tail_at: list[int] = []  # its position
    previous = np.full(t.size, -1, dtype=np.int64)
    for k, value in enumerate(t.tolist()):
        j = bisect_left(tails, value)
        if j == len(tails):
            tails.append(value)
            tail_at.append(k)
        else:
            tails[j], tail_at[j] = value, k
        previous[k] = tail_at[j - 1] if j else -1
    keep = np.zeros(t.size, dtype=bool)
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        keep[k] = True
        k = int(previous[k])
    return keep
