"""Deliberately broken execution engines, for proving that the kill tests can fail.

Each is the production :class:`~research.execution.ExecutionEngine` with one recovery step
done wrong, the way a plausible bug would do it. The kill tests (tests/sim and tests/live) run
their campaigns against these too and assert that they are caught: a crash test that passes a
broken engine proves nothing. Test code only: production code has no switch for them.

They override private steps of the engine on purpose (that is where such bugs live); if a step
is renamed, the override stops applying, the "broken" engine becomes correct and the tests that
expect it to be caught fail, which is the alarm wanted.
"""

from __future__ import annotations

from research.domain import OrderStatus
from research.execution import ExecutionEngine


class DropsFillsAtRecovery(ExecutionEngine):
    """Reconciliation ignores the fills the broker reports, so fills that reached the broker
    after the last journal write are never booked."""

    def _ingest_fills(self, fills, recovered=False):
        if recovered:
            return
        super()._ingest_fills(fills, recovered)


class ResendsUnansweredIntents(ExecutionEngine):
    """At restart, every journaled intent without an outcome is sent again (as if the crash
    must have come before the send) instead of being looked up at the broker by its client
    order id."""

    def _reconcile(self):
        for cid, child in list(self.children.items()):
            if child.status is OrderStatus.INITIALIZED:
                outcome = self._submit(cid)
                self.journal.stage(outcome.kind, outcome.payload, cid, outcome.bar_index)
                self._apply(outcome)
        super()._reconcile()


#: engine variants by the name a kill worker takes on its command line
ENGINES = {
    "real": ExecutionEngine,
    "drops-fills-at-recovery": DropsFillsAtRecovery,
    "resends-unanswered-intents": ResendsUnansweredIntents,
}
