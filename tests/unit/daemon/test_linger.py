"""The last aggregator waits for the participants the quorum did not need, and no longer."""

from __future__ import annotations

from msgspec.structs import replace
from tests.unit.daemon.fake_ledger import NOW, make_session, open_round

from fedlora.daemon.linger import latecomers, serve_latecomers
from fedlora.ledger import Endorsement, Round
from fedlora.transport import TrafficCounter

FINAL = "f" * 64


def _final_round(aggregator: str, verdicts: dict[str, bool]) -> Round:
    endorsements = {
        node: Endorsement(accept=accept, at=NOW, sha256=FINAL, tx_id="tx")
        for node, accept in verdicts.items()
    }
    round_ = open_round(make_session("s1", ["a", "b", "c", "d"], 1, 2), 1)
    return replace(
        round_, aggregator=aggregator, endorsements=endorsements, phase="final", final_sha256=FINAL
    )


def test_only_the_last_aggregator_waits_and_only_for_nodes_without_the_final_adapter() -> None:
    session = replace(make_session("s1", ["a", "b", "c", "d"], 1, 2), status="completed")
    round_ = _final_round("a", {"a": True, "b": True, "c": False})
    assert latecomers("a", session, round_) == {"c", "d"}
    assert latecomers("b", session, round_) == set()
    failed = replace(session, status="failed", participants=("a", "b"))
    assert latecomers("a", failed, round_) == set()


def test_waiting_ends_when_each_latecomer_has_fetched_the_final_adapter() -> None:
    traffic = TrafficCounter()
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 1.0:
            traffic.artifact_sent("c", FINAL)
        traffic.artifact_sent("d", "another artifact")

    left = serve_latecomers({"c"}, FINAL, traffic, limit_s=60, clock=lambda: now[0], sleep=sleep)
    assert left == set() and 1.0 <= now[0] < 2.0


def test_waiting_gives_up_after_the_limit() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    left = serve_latecomers(
        {"c"}, FINAL, TrafficCounter(), limit_s=5, clock=lambda: now[0], sleep=sleep
    )
    assert left == {"c"} and 5.0 <= now[0] < 5.5
