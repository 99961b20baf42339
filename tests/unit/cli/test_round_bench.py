"""The round benchmark's arithmetic: phases from event arrivals and the chain's round records."""

from __future__ import annotations

import msgspec
import pytest

from fedlora.cli.round_bench import (
    Arrival,
    RoundBenchResult,
    RoundMarks,
    timings_from_marks,
)
from fedlora.ledger import Endorsement, Proposal, Round, Rule, Update

A, B, C, D = "Org1MSP/a", "Org1MSP/d", "Org2MSP/b", "Org3MSP/c"


def marks(number: int, accepting: list[tuple[str, str]], quorum: int = 3) -> RoundMarks:
    updates = frozenset(f"u{number}{node}" for node in "abc")
    return RoundMarks(number, updates, f"p{number}", tuple(accepting), quorum, 0)


def test_phases_run_from_the_last_update_to_the_proposal_to_the_deciding_verdict() -> None:
    # Prepare: round 1 of four participants (quorum 3), proposed by D of Org1
    arrivals = [
        Arrival(10.0, "UpdateSubmitted", 1, "u1a"),
        Arrival(10.2, "UpdateSubmitted", 1, "u1c"),
        Arrival(10.5, "UpdateSubmitted", 1, "u1b"),  # the last update closes collection
        Arrival(11.0, "AggregateProposed", 1, "p1"),
        Arrival(11.2, "AggregateEndorsed", 1, "v1a"),  # D and A: 2 nodes, one org
        Arrival(11.5, "AggregateRejected", 1, "v1c"),
        Arrival(11.8, "AggregateEndorsed", 1, "v1b"),  # 3 nodes, two orgs: final
        Arrival(12.1, "AggregateEndorsed", 1, "v1x"),  # a late verdict changes nothing
    ]
    accepting = [("p1", D), ("v1a", A), ("v1b", C), ("v1x", B)]

    # Execute
    (timing,) = timings_from_marks([marks(1, accepting)], arrivals)

    # Assert
    assert timing.round == 1 and timing.failovers == 0
    assert timing.aggregate_s == pytest.approx(0.5) and timing.endorse_s == pytest.approx(0.8)
    assert timing.critical_path_s == pytest.approx(1.3)


def test_one_orgs_verdicts_do_not_decide_and_a_timeout_report_can_close_collection() -> None:
    arrivals = [
        Arrival(1.0, "UpdateSubmitted", 2, "u2a"),
        Arrival(5.0, "AggregationStarted", 2, "t2"),  # the collect deadline passed
        Arrival(6.0, "AggregateProposed", 2, "p2"),
        Arrival(6.5, "AggregateEndorsed", 2, "v2a"),
        Arrival(6.6, "AggregateEndorsed", 2, "v2d"),
        Arrival(7.5, "AggregateEndorsed", 2, "v2b"),
    ]
    accepting = [("p2", A), ("v2a", A), ("v2d", B), ("v2b", C)]

    (timing,) = timings_from_marks([marks(2, accepting, quorum=2)], arrivals)

    assert timing.aggregate_s == pytest.approx(1.0)
    assert timing.endorse_s == pytest.approx(1.5)


def test_a_round_whose_events_did_not_all_arrive_is_not_timed_and_round_one_is_left_out() -> None:
    arrivals = [
        Arrival(0.0, "UpdateSubmitted", 1, "u1a"),
        Arrival(4.0, "AggregateProposed", 1, "p1"),
        Arrival(5.0, "AggregateEndorsed", 1, "v1c"),
        Arrival(6.0, "UpdateSubmitted", 2, "u2a"),
        Arrival(7.0, "AggregateProposed", 2, "p2"),
        Arrival(7.5, "AggregateEndorsed", 2, "v2c"),
        Arrival(8.0, "UpdateSubmitted", 3, "u3a"),
        Arrival(9.0, "AggregateProposed", 3, "p3"),
    ]
    rounds = [marks(n, [(f"p{n}", A), (f"v{n}c", C)], quorum=2) for n in (1, 2, 3)]

    timings = timings_from_marks(rounds, arrivals)

    assert [t.round for t in timings] == [1, 2]
    median = RoundBenchResult(3, timings).median()
    assert median.aggregate_s == pytest.approx(1.0) and median.endorse_s == pytest.approx(0.5)


def test_marks_come_from_a_final_round_record() -> None:
    final = "f" * 64

    def verdict(tx: str, accept: bool, sha256: str = final) -> Endorsement:
        return Endorsement(accept=accept, at="2026-03-01T09:00:00Z", sha256=sha256, tx_id=tx)

    proposal = Proposal(
        aggregator=A, attempt=1, inputs=(), rule=Rule(name="fedavg", params={}), sha256=final,
        weights={}, proposed_at="2026-03-01T09:00:00Z", tx_id="p",
    )  # fmt: skip
    update = Update(metrics={}, num_examples=1, sha256="e" * 64, submitted_at="", tx_id="u")
    round_ = Round(
        aggregator=A, attempt=1, endorsements={A: verdict("p", True), B: verdict("vb", False),
        C: verdict("vc", True)}, final_sha256=final, opened_at="", phase="final",
        proposal=proposal, rejected_proposals=(), round=2, session_id="s", updates={A: update},
    )  # fmt: skip

    mark = RoundMarks.of(round_, quorum=2)

    assert mark == RoundMarks(2, frozenset({"u"}), "p", (("p", A), ("vc", C)), 2, 1)
    assert RoundMarks.of(msgspec.structs.replace(round_, phase="endorsing"), quorum=2) is None
