"""GICS sectors of the 20 S&P 500 names in skfolio's embedded dataset.

Facts as of the GICS structure in force since March 2023 (Communication Services and Real
Estate split out earlier; no name here moved). Sources: S&P Dow Jones Indices / MSCI GICS
classifications as published on the companies' index fact sheets.
"""

from __future__ import annotations

from collections.abc import Mapping

GICS_SECTOR: dict[str, str] = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "BAC": "Financials",
    "BBY": "Consumer Discretionary",
    "CVX": "Energy",
    "GE": "Industrials",
    "HD": "Consumer Discretionary",
    "JNJ": "Health Care",
    "JPM": "Financials",
    "KO": "Consumer Staples",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "MSFT": "Information Technology",
    "PEP": "Consumer Staples",
    "PFE": "Health Care",
    "PG": "Consumer Staples",
    "RRC": "Energy",
    "UNH": "Health Care",
    "WMT": "Consumer Staples",
    "XOM": "Energy",
}


def sector_map(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The GICS sectors of the embedded names with ``extra`` (a run config's
    ``universe.sectors``: names the map lacks, or overrides) on top."""
    return {**GICS_SECTOR, **(extra or {})}


def sector_of(symbol: str, sectors: dict[str, str] | None = None) -> str:
    """The sector of ``symbol``; an unknown symbol is an error, never a silent 'Other'."""
    table = GICS_SECTOR if sectors is None else sectors
    try:
        return table[symbol]
    except KeyError:
        raise KeyError(f"no sector known for symbol {symbol!r}; add it to the sector map") from None
