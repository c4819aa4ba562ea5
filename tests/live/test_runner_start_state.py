"""The live runner's start-state file (the broker positions a run started from) survives a power
loss: written to a temporary file, fsynced, renamed over the real name, directory fsynced."""

from __future__ import annotations

import json
import os

import pytest

from tests.live.test_live_runner import make_runner, script_market


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names fsynced files via /proc")
def test_start_state_is_fsynced_before_the_rename_and_its_directory_after(
        gateway, settings, server_keys, monkeypatch):
    script_market(gateway)
    gateway.set_position("KO", 100, 59.0)
    runner, _ = make_runner(gateway, settings, server_keys, dry=True)

    # the real calls, recorded in order with the file each one acts on
    events: list[tuple[str, ...]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    runner.start()

    path = runner.start_state_path.resolve()
    tmp = path.with_name(path.name + ".tmp")
    mine = [e for e in events if e[-1] in (str(tmp), str(path), str(path.parent))]
    assert mine == [("fsync", str(tmp)), ("replace", str(tmp), str(path)),
                    ("fsync", str(path.parent))]
    assert json.loads(path.read_text()) == {"run_id": "r1", "positions": {"KO": 100}}
    assert not tmp.exists()
