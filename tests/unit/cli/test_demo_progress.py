"""The demo's progress lines: each phase's time from the chain's own timestamps."""

from __future__ import annotations

from fedlora.cli.demo_progress import RoundProgress, phase_times
from fedlora.ledger import Endorsement, Proposal, Round, Rule, Update

A, B, C = "Org1MSP/node1@org1", "Org2MSP/node1@org2", "Org3MSP/node1@org3"
FINAL = "f" * 64


def at(seconds: float) -> str:
    return f"2026-03-01T09:00:{seconds:06.3f}Z"


def final_round(proposal: bool = True) -> Round:
    def update(node: str, when: float) -> Update:
        return Update(metrics={}, num_examples=1, sha256=node[-1] * 64, submitted_at=at(when),
                      tx_id=f"u{node}")  # fmt: skip

    def verdict(when: float, accept: bool) -> Endorsement:
        return Endorsement(accept=accept, at=at(when), sha256=FINAL, tx_id=f"v{when}")

    passed = Proposal(
        aggregator=A, attempt=1, inputs=(), rule=Rule(name="fedavg", params={}), sha256=FINAL,
        weights={}, proposed_at=at(31.5), tx_id="p",
    )  # fmt: skip
    return Round(
        aggregator=A, attempt=1, final_sha256=FINAL, opened_at=at(0), phase="final",
        endorsements={A: verdict(31.5, True), B: verdict(31.8, True), C: verdict(32.5, False)},
        proposal=passed if proposal else None, rejected_proposals=(), round=1, session_id="s",
        updates={A: update(A, 20.0), B: update(B, 31.0), C: update(C, 25.0)},
    )  # fmt: skip


def test_phases_run_from_opening_to_last_update_to_proposal_to_last_accepting_verdict() -> None:
    assert phase_times(final_round()) == " (training 31.0 s, aggregating 0.5 s, endorsing 0.3 s)"


def test_a_round_without_a_passed_proposal_has_no_phase_times() -> None:
    assert phase_times(final_round(proposal=False)) == ""


def test_the_final_line_carries_the_phase_times() -> None:
    lines: list[str] = []
    progress = RoundProgress(1, lines.append, clock=lambda: 0.0)
    progress._close(final_round())
    assert lines == [
        "round 1/1 final after 0 s: aggregate ffffffffffff by org1/node1, 3 updates, "
        "2 accepting verdicts (training 31.0 s, aggregating 0.5 s, endorsing 0.3 s)"
    ]
