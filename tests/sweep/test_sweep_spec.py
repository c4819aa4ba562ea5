"""Sweep files and points: validation before anything runs, seeded draws, config hashes."""

from __future__ import annotations

import pytest

from research.config import load_settings
from sim.sweep.points import combinations, expand, sweep_id
from sim.sweep.spec import SweepSpecError, load_sweep, valid_fields
from tests.sweep.sweep_files import write_sweep


@pytest.fixture
def settings():
    return load_settings(None)


def test_grid_points_are_validated_and_hashed(tmp_path, settings):
    spec, base = load_sweep(write_sweep(tmp_path))
    points, dropped = expand(spec, base, settings)
    assert dropped == 0
    assert [p.values for p in points] == [
        {"strategy.lookback_days": 21, "settings.simulation.impact_y": 0.5},
        {"strategy.lookback_days": 21, "settings.simulation.impact_y": 2.0},
        {"strategy.lookback_days": 63, "settings.simulation.impact_y": 0.5},
        {"strategy.lookback_days": 63, "settings.simulation.impact_y": 2.0}]
    assert points[1].config["strategy"]["lookback_days"] == 21
    assert points[1].settings["simulation"]["impact_y"] == 2.0
    assert "tiger" not in points[0].settings and "tracking" not in points[0].settings
    assert len({p.config_hash for p in points}) == 4
    # the same file over the same inputs: the same hashes and sweep id (what resume keys on)
    again, _ = expand(*load_sweep(write_sweep(tmp_path)), settings)
    assert [p.config_hash for p in again] == [p.config_hash for p in points]
    assert sweep_id(spec, again) == sweep_id(spec, points)
    # a setting of the environment that changes results changes every hash
    other = load_settings(None, simulation={"seed": 99})
    assert not {p.config_hash for p in expand(spec, base, other)[0]} & {
        p.config_hash for p in points}


def test_random_draws_are_seeded_and_combined_with_the_grid(tmp_path):
    random = {"n": 5, "seed": 3, "fields": {
        "risk.max_position_weight": {"uniform": [0.2, 0.3]},
        "settings.simulation.impact_y": {"loguniform": [0.4, 1.6]},
        "execution.algorithm": {"choice": ["twap", "market"]}}}
    spec, _ = load_sweep(write_sweep(tmp_path, grid={"strategy.lookback_days": [21, 63]},
                                     random=random))
    values = combinations(spec)
    assert len(values) == 10
    assert values == combinations(spec)  # same seed, same draws
    # grid outer, draws inner: each grid point gets the same five draws
    assert [v["strategy.lookback_days"] for v in values] == [21] * 5 + [63] * 5
    drawn = [{k: x for k, x in v.items() if k != "strategy.lookback_days"} for v in values]
    assert drawn[:5] == drawn[5:] and len({repr(d) for d in drawn[:5]}) == 5
    assert all(0.2 <= v["risk.max_position_weight"] <= 0.3 for v in values)
    assert all(0.4 <= v["settings.simulation.impact_y"] <= 1.6 for v in values)
    reseeded, _ = load_sweep(write_sweep(tmp_path, grid={"strategy.lookback_days": [21, 63]},
                                         random={**random, "seed": 4}))
    assert combinations(reseeded) != values


def test_an_unknown_field_is_named_with_the_valid_ones(tmp_path):
    path = write_sweep(tmp_path, grid={"strategy.lookbak_days": [21]})
    with pytest.raises(SweepSpecError) as err:
        load_sweep(path)
    text = str(err.value)
    assert "unknown field 'strategy.lookbak_days'" in text
    assert "did you mean 'strategy.lookback_days'" in text
    assert "settings.simulation.impact_y" in text and "risk.max_position_weight" in text


def test_the_vectorbt_task_refuses_fields_it_would_ignore(tmp_path):
    path = write_sweep(tmp_path, task="vectorbt", grid={"execution.algorithm": ["twap"]})
    with pytest.raises(SweepSpecError, match="vectorbt task does not read 'execution.algorithm'"):
        load_sweep(path)
    assert "execution.algorithm" not in valid_fields("vectorbt")


def test_every_invalid_point_is_listed_before_anything_runs(tmp_path, settings):
    spec, base = load_sweep(write_sweep(tmp_path, grid={
        "strategy.lookback_days": [0, 21], "settings.simulation.impact_y": [-1.0, 1.0],
        "risk.max_position_weight": [0.9]}))
    with pytest.raises(SweepSpecError) as err:
        expand(spec, base, settings)
    problems = err.value.problems
    assert len(problems) == 4  # every point but (21, 1.0) is invalid, and (21, 1.0) breaks
    # the config's own rule (position limit above the sector limit)
    assert any("strategy.lookback_days" in p and "greater than 0" in p for p in problems)
    assert any("settings.simulation.impact_y" in p for p in problems)
    assert any("max_position_weight cannot exceed" in p for p in problems)


@pytest.mark.parametrize("change, message", [
    ({"grid": {}}, "neither grid nor random"),
    ({"grid": {"strategy.lookback_days": []}}, "have no values"),
    ({"start": "2021-02-30"}, "not a date"),
    ({"task": "optimise"}, "task"),
    ({"config": "missing.yaml"}, "no such file"),
    ({"random": {"n": 2, "fields": {"strategy.lookback_days": {"randint": [5, 1]}}}},
     "above high"),
])
def test_bad_sweep_files_are_refused_with_the_reason(tmp_path, change, message):
    with pytest.raises(SweepSpecError, match=message):
        load_sweep(write_sweep(tmp_path, **change))


def test_bars_and_symbols_that_name_nothing_are_refused_before_running(tmp_path, settings):
    from sim.sweep.runner import check_data

    spec, base = load_sweep(write_sweep(tmp_path, bars="no_such_dataset"))
    with pytest.raises(SweepSpecError, match="'no_such_dataset' is neither a file nor a known"):
        check_data(spec, expand(spec, base, settings)[0], settings)
    spec, base = load_sweep(write_sweep(tmp_path, grid={
        "universe.symbols": [["AAPL", "MSFT"], ["AAPL", "NOPE"]]}))
    with pytest.raises(SweepSpecError, match=r"point 1: universe.symbols \['NOPE'\] are not in "
                                             "sp500_daily"):
        check_data(spec, expand(spec, base, settings)[0], settings)


def test_a_bar_file_edited_in_place_changes_every_point_hash(tmp_path, settings):
    """Resume keys on the bars' content, not their name: the same file name with other bars
    must run again, and the same bytes must resume."""
    bars = tmp_path / "bars.csv"
    bars.write_text("timestamp,symbol,open,high,low,close,volume\n"
                    "2021-01-04T16:00:00-05:00,AAPL,1,1,1,1,1\n", encoding="utf-8")
    spec, base = load_sweep(write_sweep(tmp_path, bars=str(bars)))
    before = expand(spec, base, settings)[0]
    assert len({p.data_hash for p in before}) == 1 and before[0].data_hash
    original = bars.read_bytes()
    bars.write_bytes(original.replace(b",1,1,1,1,1", b",1,1,1,1.5,1"))
    edited = expand(spec, base, settings)[0]
    assert not {p.config_hash for p in edited} & {p.config_hash for p in before}
    assert sweep_id(spec, edited) != sweep_id(spec, before)
    bars.write_bytes(original)
    assert [p.config_hash for p in expand(spec, base, settings)[0]] == [
        p.config_hash for p in before]


def test_a_dataset_imported_again_changes_every_point_hash(tmp_path, small_minute_bars):
    from research.data import BarStore

    settings = load_settings(None, data={"store_path": str(tmp_path / "store")})
    store = BarStore(settings.data.store_path)
    store.write("mine", small_minute_bars, source="test", synthetic=True)
    spec, base = load_sweep(write_sweep(tmp_path, bars="mine"))
    before = {p.config_hash for p in expand(spec, base, settings)[0]}
    assert {p.config_hash for p in expand(spec, base, settings)[0]} == before
    changed = small_minute_bars.copy()
    changed["volume"] = changed["volume"] + 1.0
    store.write("mine", changed, source="test", synthetic=True, replace=True)
    assert not {p.config_hash for p in expand(spec, base, settings)[0]} & before


def test_a_vectorbt_sweep_is_keyed_on_the_closes_it_reads(tmp_path, settings, monkeypatch):
    """The vectorbt task reads the embedded daily closes whatever the base config's dataset
    says: its points hash those (and never build the synthetic minute dataset to hash it)."""
    import yaml

    import research.data as data
    from sim.sweep.points import data_hash
    from tests.sweep.sweep_files import BASE_CONFIG

    cfg = {**BASE_CONFIG, "universe": {**BASE_CONFIG["universe"],
                                       "dataset": "sp500_synthetic_minute"},
           "strategy": {**BASE_CONFIG["strategy"], "rebalance_every_sessions": 21}}
    path = write_sweep(tmp_path, task="vectorbt", bars=None,
                       grid={"strategy.lookback_days": [21, 63]})
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    monkeypatch.setattr(data, "ensure_synthetic_datasets", lambda *a, **k: pytest.fail(
        "the vectorbt sweep built the synthetic minute dataset"))
    spec, base = load_sweep(path)
    points, _ = expand(spec, base, settings)
    assert {p.data_hash for p in points} == {data_hash("sp500_daily", settings)}
