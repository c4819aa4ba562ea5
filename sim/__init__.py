"""The simulated world: bar replay, simulated broker with its own market-response model,
fault injection, and the replay runner."""

from __future__ import annotations

from sim.broker import SimulatedBroker, no_fees
from sim.faults import FaultConfig, FaultInjector
from sim.replay import BarReplay
from sim.response import corwin_schultz_half_spread, parkinson_variance, square_root_impact
from sim.runner import run_replay

__all__ = [
    "BarReplay",
    "FaultConfig",
    "FaultInjector",
    "SimulatedBroker",
    "corwin_schultz_half_spread",
    "no_fees",
    "parkinson_variance",
    "run_replay",
    "square_root_impact",
]
