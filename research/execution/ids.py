"""Deterministic client order ids.

The id of a child is a function of (run id, parent id, slice number) only, so a restarted
process recomputes the same id for the same slice and can ask the broker about it instead of
sending it again. 20 characters: "Q" + 19 hex digits of BLAKE2b (76 bits; the chance of a
collision among a million orders is ~1e-11).
"""

from __future__ import annotations

from hashlib import blake2b


def client_order_id(run_id: str, parent_id: str, slice_index: int) -> str:
    """Client order id of slice ``slice_index`` (0-based) of ``parent_id`` in ``run_id``."""
    if slice_index < 0:
        raise ValueError(f"parent {parent_id}: slice_index must be >= 0, got {slice_index}")
    key = f"{run_id}\x1f{parent_id}\x1f{slice_index}".encode()
    return "Q" + blake2b(key, digest_size=10).hexdigest()[:19]
