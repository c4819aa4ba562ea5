"""The simulated world: bar replay, simulated broker with its own market-response model,
fault injection, the replay runner, parent-order generators and the execution study (tca).

Public names resolve lazily (PEP 562) so that ``qlab --help``, which imports ``sim.cli``,
does not load numpy, pandas and the engine.
"""

from research.lazy import lazy_names, names_of

_WHERE = names_of({
    "broker": ("SimulatedBroker", "no_fees"),
    "faults": ("FaultConfig", "FaultInjector"),
    "replay": ("BarReplay",),
    "response": ("parkinson_variance", "square_root_impact"),
    "runner": ("run_replay",),
})
__all__ = sorted(_WHERE)
__getattr__ = lazy_names(__name__, _WHERE)
