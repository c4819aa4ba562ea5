"""Every validation rule, on a small hand-built daily frame and on minute bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.data import BarValidationError, normalise_timestamps, repair_bars, validate_bars


def _daily(n=4, symbol="AAA") -> pd.DataFrame:
    days = pd.DatetimeIndex(["2022-03-01", "2022-03-02", "2022-03-03", "2022-03-04"][:n])
    ts = (days + pd.Timedelta(hours=16)).tz_localize("America/New_York")
    close = np.array([100.0, 101.0, 102.0, 101.5])[:n]
    return pd.DataFrame({
        "timestamp": ts, "symbol": symbol, "open": close - 0.5, "high": close + 1,
        "low": close - 1, "close": close, "volume": 1e6,
    })


def _rules(frame, **kw):
    return sorted({(v.rule, v.row) for v in validate_bars(frame, **kw).violations})


def test_clean_frame_passes():
    report = validate_bars(_daily())
    assert report.ok, report.summary()
    assert report.frequency == "daily"


@pytest.mark.parametrize("column,value,rule", [
    ("close", np.nan, "nan"),
    ("volume", np.inf, "inf"),
    ("open", -1.0, "non_positive_price"),
    ("low", 0.0, "non_positive_price"),
    ("high", 99.0, "high_below_open_close"),
    ("low", 100.9, "low_above_open_close"),
    ("volume", -5.0, "negative_volume"),
])
def test_each_row_rule_names_symbol_timestamp_and_row(column, value, rule):
    frame = _daily()
    frame.loc[1, column] = value
    report = validate_bars(frame)
    hits = [v for v in report.violations if v.rule == rule]
    assert hits and all(v.row == 1 for v in hits)
    assert hits[0].symbol == "AAA"
    assert hits[0].timestamp.startswith("2022-03-02T16:00:00-05:00")
    assert "row 1" in str(hits[0]) and "AAA" in str(hits[0])


def test_values_in_messages_are_plain_numbers_not_numpy_reprs():
    frame = _daily()
    frame.loc[1, "open"] = -5.0
    frame.loc[2, "close"] = 2e7
    details = [v.detail for v in validate_bars(frame).violations]
    assert "open=-5.0 <= 0" in details
    assert any(d.startswith("close=20000000.0 above") for d in details)
    assert not any("np." in d for d in details)


def test_daily_bars_declared_minute_are_refused_and_not_repairable():
    report = validate_bars(_daily(), "minute")
    assert [v.rule for v in report.violations] == ["not_minute"]
    with pytest.raises(BarValidationError, match="not repairable"):
        repair_bars(_daily(), report)
    assert validate_bars(_daily(1), "minute").ok  # one close bar: nothing says it is daily


def test_bid_above_ask_and_negative_size():
    frame = _daily()
    frame["bid"] = frame["close"] - 0.01
    frame["ask"] = frame["close"] + 0.01
    frame["bid_size"] = 100.0
    frame.loc[2, "bid"] = frame.loc[2, "ask"] + 0.05
    frame.loc[3, "bid_size"] = -100.0
    assert _rules(frame) == [("bid_above_ask", 2), ("negative_size", 3)]


def test_duplicate_and_unsorted_timestamps_per_symbol():
    frame = pd.concat([_daily(), _daily(symbol="BBB")], ignore_index=True)
    frame.loc[2, "timestamp"] = frame.loc[1, "timestamp"]  # AAA duplicate
    frame.loc[7, "timestamp"] = frame.loc[4, "timestamp"]  # BBB goes back in time... and dup
    rules = _rules(frame)
    assert ("duplicate_timestamp", 2) in rules
    assert ("unsorted_timestamp", 7) in rules or ("duplicate_timestamp", 7) in rules
    frame2 = _daily()
    frame2 = frame2.iloc[[0, 2, 1, 3]].reset_index(drop=True)  # 03-01, 03-03, 03-02, 03-04
    # one row out of the longest increasing run (03-01, 03-02, 03-04): one row flagged
    assert _rules(frame2) == [("unsorted_timestamp", 1)]


def test_a_duplicate_far_from_its_first_copy_is_a_duplicate_naming_both_rows():
    """Corrections appended at the end of a file: not only 'unsorted', and the row kept is
    named, with whether the two copies agree."""
    frame = pd.concat([_daily(), _daily(symbol="BBB")], ignore_index=True)
    frame = pd.concat([frame, frame.iloc[[1, 2]]], ignore_index=True)  # rows 8, 9
    frame.loc[9, "close"] += 0.25
    report = validate_bars(frame)
    assert sorted((v.rule, v.row) for v in report.violations) == [
        ("duplicate_timestamp", 8), ("duplicate_timestamp", 9)]
    details = {v.row: v.detail for v in report.violations}
    assert details[8] == "same symbol and timestamp as row 1, with the same values"
    assert details[9] == "same symbol and timestamp as row 2, with different close"
    kept, dropped = repair_bars(frame, report)
    assert [d.row for d in dropped] == [8, 9] and kept.equals(frame.iloc[:8])
    assert validate_bars(kept).ok


def test_one_misplaced_bar_is_one_unsorted_row_named_against_its_neighbour():
    """The fewest rows whose removal sorts the symbol are flagged (its longest increasing
    run is kept): a bar moved early is 'later than' the next kept row, one moved late
    'earlier than' the previous kept row — and repairing drops that row only."""
    frame = _daily().iloc[[0, 3, 1, 2]].reset_index(drop=True)  # 03-01, 03-04, 03-02, 03-03
    report = validate_bars(frame)
    assert [(v.rule, v.row) for v in report.violations] == [("unsorted_timestamp", 1)]
    assert "later than row 2 of this symbol (at 2022-03-02T16:00:00-05:00)" in \
        report.violations[0].detail
    late = _daily().iloc[[0, 2, 3, 1]].reset_index(drop=True)  # 03-01, 03-03, 03-04, 03-02
    (v,) = validate_bars(late).violations
    assert v.row == 3 and "earlier than row 2 of this symbol" in v.detail
    kept, dropped = repair_bars(frame, report)
    assert [d.row for d in dropped] == [1] and validate_bars(kept).ok


@pytest.mark.parametrize("seed", range(6))
def test_repair_leaves_bars_that_validate(seed, small_minute_bars):
    """What --repair promises: dropping the flagged rows once leaves valid bars (an import
    with --repair imports), whatever the order, copies and stray intraday rows."""
    rng = np.random.default_rng(seed)
    for frame, frequency in ((pd.concat([_daily(), _daily(symbol="BBB")], ignore_index=True),
                              "daily"), (small_minute_bars.head(60), "minute"),
                             (small_minute_bars.head(12), "daily")):
        copies = frame.iloc[rng.integers(0, len(frame), size=4)]
        messy = pd.concat([frame, copies], ignore_index=True)
        messy = messy.iloc[rng.permutation(len(messy))].reset_index(drop=True)
        report = validate_bars(messy, frequency)
        assert not report.ok
        kept, _ = repair_bars(messy, report)
        assert validate_bars(kept, frequency).ok, validate_bars(kept, frequency).summary()


def test_intraday_outside_session_and_holiday(small_minute_bars):
    bars = small_minute_bars[small_minute_bars["symbol"] == "AAPL"].head(5).copy()
    bars = bars.reset_index(drop=True)
    bars.loc[0, "timestamp"] = pd.Timestamp("2022-11-21 09:30:00", tz="America/New_York")  # = open
    bars.loc[4, "timestamp"] = pd.Timestamp("2022-11-24 10:00:00", tz="America/New_York")  # holiday
    rules = _rules(bars, frequency="minute")
    assert ("outside_session", 0) in rules and ("outside_session", 4) in rules


def test_early_close_is_respected(small_minute_bars):
    # 2022-11-25 closed at 13:00: synthetic bars stop there and validate; 13:01 does not.
    day = small_minute_bars[small_minute_bars["timestamp"].dt.day == 25]
    assert day["timestamp"].max().strftime("%H:%M") == "13:00"
    bad = day.head(1).copy()
    bad["timestamp"] = pd.Timestamp("2022-11-25 13:01", tz="America/New_York")
    assert _rules(bad, frequency="minute") == [("outside_session", 0)]


def test_unknown_and_missing_columns_and_dtypes():
    frame = _daily().drop(columns=["volume"]).assign(vwap=1.0)
    rules = {v.rule for v in validate_bars(frame).violations}
    assert rules == {"missing_column", "unknown_column"}
    frame = _daily()
    frame["close"] = frame["close"].astype(str)
    assert [v.rule for v in validate_bars(frame).violations] == ["dtype"]


def test_naive_timestamps_are_refused_or_explicitly_localised():
    frame = _daily()
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    with pytest.raises(BarValidationError, match="naive"):
        normalise_timestamps(frame)
    fixed = normalise_timestamps(frame, assume_tz="America/New_York")
    assert validate_bars(fixed).ok
    utc = _daily()
    utc["timestamp"] = utc["timestamp"].dt.tz_convert("UTC")
    converted = normalise_timestamps(utc)
    assert str(converted["timestamp"].dt.tz) == "America/New_York"
    assert converted["timestamp"].iloc[0].hour == 16


def test_validation_never_mutates_and_repair_lists_every_dropped_row():
    frame = _daily()
    frame.loc[1, "close"] = np.nan
    frame.loc[3, "volume"] = -1
    before = frame.copy()
    report = validate_bars(frame)
    pd.testing.assert_frame_equal(frame, before)
    kept, dropped = repair_bars(frame, report)
    assert len(kept) == 2 and sorted({d.row for d in dropped}) == [1, 3]
    assert validate_bars(kept).ok


def test_repair_refuses_frame_level_problems():
    frame = _daily().assign(extra=1)
    with pytest.raises(BarValidationError, match="not repairable"):
        repair_bars(frame, validate_bars(frame))


@pytest.mark.parametrize("symbol", ["aapl", " AAPL", "AAPL ", "", "../X", "A/B", ".X", "BRK.",
                                    "TOOLONGSYMBOLNAME1"])
def test_symbols_that_are_not_tickers_are_located(symbol):
    frame = _daily()
    frame["symbol"] = frame["symbol"].astype(object)
    frame.loc[2, "symbol"] = symbol
    assert ("invalid_symbol", 2) in _rules(frame)
    assert [r for r, row in _rules(frame) if row != 2] == []


@pytest.mark.parametrize("symbol", ["AAPL", "BRK.B", "BF-B", "X", "T2"])
def test_real_ticker_shapes_pass(symbol):
    assert validate_bars(_daily(symbol=symbol)).ok


def test_a_missing_symbol_is_located():
    frame = _daily()
    frame["symbol"] = frame["symbol"].astype(object)
    frame.loc[1, "symbol"] = None
    assert ("invalid_symbol", 1) in _rules(frame)


def test_finite_but_absurd_prices_are_refused():
    frame = _daily()
    frame.loc[3, ["high", "close"]] = 1e308
    assert ("implausible_price", 3) in _rules(frame)


def test_intraday_bars_declared_daily_are_refused(small_minute_bars):
    one_day = small_minute_bars[small_minute_bars["symbol"] == "AAPL"].head(3)
    rules = _rules(one_day.reset_index(drop=True), frequency="daily")
    assert ("not_daily", 1) in rules and ("not_daily", 2) in rules
    assert ("not_daily", 0) not in rules


def test_offsets_that_change_across_dst_parse_to_the_right_instants():
    raw = pd.DataFrame({"timestamp": ["2022-03-11T16:00:00-05:00", "2022-03-14T16:00:00-04:00"]})
    out = normalise_timestamps(raw)
    assert [t.isoformat() for t in out["timestamp"]] == ["2022-03-11T16:00:00-05:00",
                                                         "2022-03-14T16:00:00-04:00"]
    assert out["timestamp"].dt.tz_convert("UTC").dt.hour.tolist() == [21, 20]


def test_naive_rows_among_zoned_rows_are_located_not_guessed():
    raw = pd.DataFrame({"timestamp": ["2022-03-11T16:00:00-05:00", "2022-03-14T16:00:00",
                                      "2022-03-15T16:00:00-04:00"]})
    with pytest.raises(BarValidationError) as err:
        normalise_timestamps(raw)
    assert [(v.rule, v.row) for v in err.value.report.violations] == [("timezone", 1)]


def test_an_unparseable_timestamp_is_located():
    raw = pd.DataFrame({"timestamp": ["2022-03-11T16:00:00-05:00", "yesterday"]})
    with pytest.raises(BarValidationError) as err:
        normalise_timestamps(raw)
    assert [(v.rule, v.row) for v in err.value.report.violations] == [("dtype", 1)]


def test_an_unknown_zone_is_named():
    raw = pd.DataFrame({"timestamp": ["2022-03-11T16:00:00"]})
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        normalise_timestamps(raw, assume_tz="Mars/Base")


def test_an_unparseable_timestamp_among_dst_offsets_is_located():
    raw = pd.DataFrame({"timestamp": ["2022-03-11T16:00:00-05:00", "2022-03-14T16:00:00-04:00",
                                      "2022-03-14T1x:00:00-04:00"]})
    with pytest.raises(BarValidationError) as err:
        normalise_timestamps(raw)
    assert [(v.rule, v.row) for v in err.value.report.violations] == [("dtype", 2)]


def test_moves_shaped_like_unadjusted_splits_are_named_and_nothing_else():
    from research.data.validation import suspected_splits

    days = pd.bdate_range("2021-01-04", periods=6)
    closes = pd.DataFrame({"JNJ": [263.6, 264.0, 132.1, 131.0, 130.5, 131.2],
                           "XOM": [50.0, 55.0, 49.5, 50.0, 150.6, 151.0],
                           "KO": [50.0, 45.0, 40.5, 41.0, 41.2, 41.0]}, index=days)
    assert suspected_splits(closes) == ["JNJ 2021-01-06: x0.500 (a 2:1 split?)",
                                        "XOM 2021-01-08: x3.012 (a 1:3 reverse split?)"]


def test_the_embedded_closes_have_one_split_shaped_move(sp500_closes):
    """The embedded data are split-adjusted, except RRC on 1990-04-10 (a third of the previous
    close): the daily replays say so in meta.assumptions whenever RRC's 1990 is read."""
    from research.data.validation import suspected_splits

    assert suspected_splits(sp500_closes) == ["RRC 1990-04-10: x0.333 (a 3:1 split?)"]


def test_sessions_before_1990_are_known_and_a_weekend_names_the_calendar_s_range():
    """The calendar reaches back to 1962 (daily US equity files do): 1989's sessions pass; a
    Saturday is refused with the range of dates the calendar knows."""
    old = _daily()
    old["timestamp"] = (pd.DatetimeIndex(["1989-12-26", "1989-12-27", "1989-12-28",
                                          "1989-12-29"]) + pd.Timedelta(hours=16)
                        ).tz_localize("America/New_York")
    assert _rules(old, frequency="daily") == []
    old.loc[3, "timestamp"] = pd.Timestamp("1989-12-30 16:00", tz="America/New_York")
    (v,) = validate_bars(old, frequency="daily").violations
    assert v.rule == "not_a_session" and "which knows 1962-01-02 to" in v.detail


def test_daily_bars_stamped_at_midnight_utc_are_refused_not_dated_a_session_early():
    """2022-03-01 00:00 UTC is 2022-02-28 19:00 in New York: taken as stamped, each bar would
    be the previous session's. Refused as a whole (no row repair can fix it), saying how."""
    utc = _daily()
    utc["timestamp"] = pd.DatetimeIndex(["2022-03-01", "2022-03-02", "2022-03-03",
                                         "2022-03-04"]).tz_localize("UTC")
    rules = {x.rule for x in validate_bars(utc, frequency="daily").violations}
    assert "midnight_utc" in rules
    assert "midnight_utc" not in {x.rule for x in validate_bars(_daily(), frequency="daily")
                                  .violations}
