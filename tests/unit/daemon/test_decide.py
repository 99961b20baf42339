"""The round decision: each phase, each role, before and after the deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from fedlora.daemon.decide import Action, decide
from fedlora.ledger import Endorsement, Round, Update

DEADLINE = "2026-01-01T12:00:00Z"
BEFORE = dt.datetime(2026, 1, 1, 11, 59, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 1, 1, 12, 1, tzinfo=dt.UTC)
JUST_AFTER = dt.datetime(2026, 1, 1, 12, 0, 1, tzinfo=dt.UTC)  # within the grace
ME, OTHER = "Org1MSP/node1@org1", "Org2MSP/node1@org2"
SHA = "ab" * 32
UPDATE = Update(metrics={}, num_examples=1, sha256=SHA, submitted_at=DEADLINE, tx_id="tx1")
VERDICT = Endorsement(accept=True, at=DEADLINE, sha256=SHA, tx_id="tx2")


def round_in(
    phase: str,
    aggregator: str = OTHER,
    updates: tuple[str, ...] = (),
    endorsements: tuple[str, ...] = (),
) -> Round:
    """A chain Round in ``phase`` with updates and verdicts from the nodes named."""
    return Round(
        aggregator=aggregator,
        attempt=0,
        endorsements={node: VERDICT for node in endorsements},
        opened_at=DEADLINE,
        phase=phase,
        phase_deadline=DEADLINE,
        rejected_proposals=(),
        round=1,
        session_id="s1",
        updates={node: UPDATE for node in updates},
    )


@pytest.mark.parametrize(
    ("round_", "now", "expected"),
    [
        (round_in("collecting"), BEFORE, Action.TRAIN),
        (round_in("collecting", updates=(ME,)), BEFORE, Action.WAIT),
        (round_in("collecting", updates=(ME,)), AFTER, Action.REPORT_TIMEOUT),
        (round_in("collecting"), AFTER, Action.REPORT_TIMEOUT),  # straggler: no late training
        (round_in("aggregating", aggregator=ME), BEFORE, Action.AGGREGATE),
        (round_in("aggregating", aggregator=ME), AFTER, Action.AGGREGATE),  # still its duty
        (round_in("aggregating"), BEFORE, Action.WAIT),
        (round_in("aggregating"), AFTER, Action.REPORT_TIMEOUT),
        (round_in("aggregating"), JUST_AFTER, Action.WAIT),  # a fast clock does not cut it short
        (round_in("collecting"), JUST_AFTER, Action.WAIT),  # too late to train or report
        (round_in("endorsing"), BEFORE, Action.ENDORSE),
        (round_in("endorsing", endorsements=(ME,)), BEFORE, Action.WAIT),
        (round_in("endorsing", endorsements=(ME,)), AFTER, Action.REPORT_TIMEOUT),
        (round_in("endorsing", aggregator=ME), BEFORE, Action.WAIT),  # no self-endorsement
        (round_in("final"), BEFORE, Action.ADVANCE),
        (round_in("failed"), BEFORE, Action.STOP),
    ],
)
def test_next_action(round_: Round, now: dt.datetime, expected: Action) -> None:
    assert decide(ME, "running", round_, now) is expected


def test_completed_session_stops_after_its_final_round() -> None:
    assert decide(ME, "completed", round_in("final"), BEFORE) is Action.STOP
