"""One get_params/set_params/__repr__ for every estimator (research.estimator.ParamsMixin)."""

from __future__ import annotations

import numpy as np
import pytest

from research.costs import AlmgrenChriss, CostModel
from research.risk import LedoitWolf


@pytest.mark.parametrize("estimator", [
    CostModel(impact_law="almgren_2005", sqrt_impact_y=0.9, fee_schedule="zero"),
    AlmgrenChriss(sigma=0.5, eta=2e-6, risk_aversion=1e-6),
    LedoitWolf(assume_centered=True),
])
def test_an_estimator_rebuilt_from_its_params_is_the_same_estimator(estimator):
    clone = type(estimator)(**estimator.get_params(deep=False))
    assert clone is not estimator and clone.get_params() == estimator.get_params()
    assert repr(clone) == repr(estimator)


def test_repr_names_the_parameters_that_differ_from_the_defaults():
    assert repr(CostModel()) == "CostModel()"
    assert repr(CostModel(sqrt_impact_y=0.9, spread_source="roll")) == (
        "CostModel(sqrt_impact_y=0.9, spread_source='roll')")
    assert repr(AlmgrenChriss(sigma=1.0, eta=0.1)) == "AlmgrenChriss(sigma=1.0, eta=0.1)"


def test_set_params_changes_a_parameter_and_refuses_an_unknown_one():
    model = CostModel().set_params(sqrt_impact_y=1.1)
    assert model.sqrt_impact_y == 1.1
    with pytest.raises(ValueError, match="CostModel has no parameter 'sqrt_impact'"):
        model.set_params(sqrt_impact=1.0)
    schedule = AlmgrenChriss(sigma=1.0, eta=0.1).set_params(risk_aversion=1e-5)
    assert schedule.risk_aversion == 1e-5 and np.isfinite(schedule.sigma)
