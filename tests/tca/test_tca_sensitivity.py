"""The sensitivity grid: one cell per changed assumption, ranking per cell."""

from __future__ import annotations

import pytest

from sim.response import SPREAD_SOURCES
from sim.tca.sensitivity import sensitivity


def test_sensitivity_table_has_one_row_per_cell_and_strategy(tca_bars, tca_orders):
    table = sensitivity(tca_bars, tca_orders, ("market", "limit"), seed=1,
                        impact_y=(0.5, 0.8), limit_fill_rules=("touch",),
                        participation_caps=(0.1,), spread_sources=("quotes", "corwin_schultz"))
    # base (Y=0.8, through, 10%, quotes) + Y=0.5 + touch + corwin_schultz
    assert list(table["axis"].unique()) == ["base", "impact_y", "limit_fill_rule",
                                            "spread_source"]
    assert len(table) == 4 * 2
    assert table.groupby("axis")["rank"].apply(lambda r: sorted(r) in ([1, 2], [1, 1])).all()
    base = table[table["axis"] == "base"].set_index("strategy")
    low_y = table[table["axis"] == "impact_y"].set_index("strategy")
    # less impact in the simulated market cannot make market orders dearer
    assert low_y.loc["market", "is_bps"] <= base.loc["market", "is_bps"] + 1e-9
    # every cell carries its own intervals and the days they rest on (2 sessions here)
    assert (table["clusters"] == 2).all()
    assert (table["is_ci_lo"] <= table["is_bps"]).all() and (table["is_bps"] <= table["is_ci_hi"]).all()
    cs = table[table["axis"] == "spread_source"]
    assert (cs["spread_source"] == "corwin_schultz").all()
    with pytest.raises(ValueError, match="effective_spread"):
        sensitivity(tca_bars, tca_orders, ("market",), spread_sources=("effective_spread",))


def test_sensitivity_sweeps_quotes_and_every_bar_estimator(tca_bars, tca_orders):
    assert set(SPREAD_SOURCES) == {"quotes", "corwin_schultz", "abdi_ranaldo", "roll"}
    table = sensitivity(tca_bars, tca_orders, ("market",), seed=1, impact_y=(0.8,),
                        limit_fill_rules=("through",), participation_caps=(0.1,),
                        spread_sources=SPREAD_SOURCES)
    # base (quotes) + one cell per bar estimator, each run without the quote columns
    assert list(table["axis"]) == ["base"] + ["spread_source"] * 3
    assert list(table["spread_source"]) == list(SPREAD_SOURCES)
    # the spread paid changes the cost, not what fills
    assert table["is_bps"].notna().all() and table["is_bps"].nunique() == 4
    assert table["fill_rate"].nunique() == 1
