"""A node reports the session's outcome as the chain records it: failure is never 'complete'."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from msgspec.structs import replace
from tests.unit.daemon.fake_ledger import make_session

from fedlora.daemon.service import SessionFailedError, _finish
from fedlora.transport import TrafficCounter


def test_a_failed_session_raises_with_the_chain_reason_and_writes_no_adapter(
    tmp_path: Path,
) -> None:
    reason = "round 1: 3 of 6 participants submitted an update before the collect deadline"
    session = replace(make_session("s6", ["a", "b"], 2, 2), status="failed", failure_reason=reason)
    ledger = SimpleNamespace(get_session=lambda session_id: session)
    config = SimpleNamespace(data_dir=tmp_path)
    coordinator = SimpleNamespace(final_adapter={"some": "tensors"})  # must not be written out
    with pytest.raises(SessionFailedError, match="session s6 failed: round 1: 3 of 6"):
        _finish(config, "s6", coordinator, None, ledger, TrafficCounter())  # type: ignore[arg-type]
    result = json.loads((tmp_path / "result-s6.json").read_text())
    assert result["status"] == "failed" and result["reason"] == reason
    assert "final_sha256" not in result
    assert not (tmp_path / "final").exists()
