"""A node reports the session's outcome as the chain records it: failure is never 'complete'."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from msgspec.structs import replace
from tests.unit.daemon.fake_ledger import make_session

from fedlora.daemon.outcome import NodeOutcome, outcome_path, read_outcome, write_outcome
from fedlora.daemon.service import SessionFailedError, _finish
from fedlora.errors import FedloraError
from fedlora.transport import TrafficCounter


def test_a_failed_session_raises_with_the_chain_reason_and_writes_no_adapter(
    tmp_path: Path,
) -> None:
    reason = "round 1: 3 of 6 participants submitted an update before the collect deadline"
    session = replace(make_session("s6", ["a", "b"], 2, 2), status="failed", failure_reason=reason)
    ledger = SimpleNamespace(get_session=lambda session_id: session)
    config = SimpleNamespace(data_dir=tmp_path)
    coordinator = SimpleNamespace(final_adapter={"some": "tensors"})  # must not be written out
    final = SimpleNamespace(ledger=ledger)
    with pytest.raises(SessionFailedError, match="session s6 failed: round 1: 3 of 6"):
        _finish(config, "s6", coordinator, final, TrafficCounter(), [])  # type: ignore[arg-type]
    outcome = read_outcome(tmp_path, "s6")
    assert outcome.status == "failed" and outcome.reason == reason
    assert outcome.final_sha256 == "" and outcome.adapter_dir == ""
    assert not (tmp_path / "final").exists()


def test_an_outcome_reads_back_as_written_and_a_stranger_file_is_refused(tmp_path: Path) -> None:
    traffic = TrafficCounter()
    traffic.artifact_received("Org2MSP/b", "ab" * 32)
    written = NodeOutcome(
        session_id="s1", status="completed", final_sha256="cd" * 32, adapter_dir="/x",
        accuracy=0.5, compute_seconds=1.5, traffic=traffic.snapshot(),
    )  # fmt: skip
    write_outcome(tmp_path, written)
    assert read_outcome(tmp_path, "s1") == written
    outcome_path(tmp_path, "s2").write_text('{"status": 3}')
    with pytest.raises(FedloraError, match="is not a node outcome"):
        read_outcome(tmp_path, "s2")
