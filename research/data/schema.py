"""The one bar schema every qlab module reads (documented for users in ``data/README.md``).

A bar frame is *long*: one row per (symbol, timestamp). ``timestamp`` is the bar's **close**
in exchange time (tz-aware America/New_York), so a decision taken on a bar can only use
information that existed when the bar closed.
"""

from __future__ import annotations

from enum import StrEnum

EXCHANGE_TZ = "America/New_York"

REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
QUOTE_COLUMNS: tuple[str, ...] = ("bid", "ask", "bid_size", "ask_size")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
NUMERIC_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume", *QUOTE_COLUMNS)
ALL_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, *QUOTE_COLUMNS)


class Frequency(StrEnum):
    DAILY = "daily"
    MINUTE = "minute"

    @classmethod
    def parse(cls, value: str | Frequency) -> Frequency:
        aliases = {"1d": "daily", "day": "daily", "d": "daily", "1min": "minute", "1m": "minute",
                   "min": "minute"}
        text = str(value).strip().lower()
        try:
            return cls(aliases.get(text, text))
        except ValueError:
            raise ValueError(f"frequency must be 'daily' or 'minute', got {value!r}") from None


def has_quotes(frame) -> bool:
    """True when the frame carries at least bid and ask (sizes are optional)."""
    return "bid" in frame.columns and "ask" in frame.columns
