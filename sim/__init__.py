"""The simulated world: bar replay, simulated broker with its own market-response model,
fault injection, the replay runner, parent-order generators and the execution study (tca).

Public names resolve lazily (PEP 562) so that ``qlab --help``, which imports ``sim.cli``,
does not load numpy, pandas and the engine.
"""

from importlib import import_module

_EXPORTS = {
    "sim.broker": ("SimulatedBroker", "no_fees"),
    "sim.faults": ("FaultConfig", "FaultInjector"),
    "sim.replay": ("BarReplay",),
    "sim.response": ("parkinson_variance", "square_root_impact"),
    "sim.runner": ("run_replay",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
