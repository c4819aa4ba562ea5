"""The sensitivity grid: one cell per changed assumption, ranking per cell."""

from __future__ import annotations

import pytest

from sim.tca.sensitivity import sensitivity


def test_sensitivity_table_has_one_row_per_cell_and_strategy(tca_bars, tca_orders):
    table = sensitivity(tca_bars, tca_orders, ("market", "limit"), seed=1,
                        impact_y=(0.5, 0.8), limit_fill_rules=("touch",),
                        participation_caps=(0.1,), spread_sources=("quotes", "corwin_schultz"),
                        n_boot=50)
    # base (Y=0.8, through, 10%, quotes) + Y=0.5 + touch + corwin_schultz
    assert list(table["axis"].unique()) == ["base", "impact_y", "limit_fill_rule",
                                            "spread_source"]
    assert len(table) == 4 * 2
    assert table.groupby("axis")["rank"].apply(lambda r: sorted(r) in ([1, 2], [1, 1])).all()
    base = table[table["axis"] == "base"].set_index("strategy")
    low_y = table[table["axis"] == "impact_y"].set_index("strategy")
    # less impact in the simulated market cannot make market orders dearer
    assert low_y.loc["market", "is_bps"] <= base.loc["market", "is_bps"] + 1e-9
    cs = table[table["axis"] == "spread_source"]
    assert (cs["spread_source"] == "corwin_schultz").all()
    with pytest.raises(ValueError, match="roll"):
        sensitivity(tca_bars, tca_orders, ("market",), spread_sources=("roll",))
