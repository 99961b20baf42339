"""The round decision: each phase, each role, before and after the deadline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from fedlora.daemon.decide import Action, decide

DEADLINE = "2026-01-01T12:00:00Z"
BEFORE = dt.datetime(2026, 1, 1, 11, 59, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 1, 1, 12, 1, tzinfo=dt.UTC)
JUST_AFTER = dt.datetime(2026, 1, 1, 12, 0, 1, tzinfo=dt.UTC)  # within the grace
ME, OTHER = "Org1MSP/node1@org1", "Org2MSP/node1@org2"


@dataclass(frozen=True)
class FakeRound:
    phase: str
    aggregator: str = OTHER
    phase_deadline: str = DEADLINE
    updates: dict[str, Any] = field(default_factory=dict)
    endorsements: dict[str, Any] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("round_", "now", "expected"),
    [
        (FakeRound("collecting"), BEFORE, Action.TRAIN),
        (FakeRound("collecting", updates={ME: 1}), BEFORE, Action.WAIT),
        (FakeRound("collecting", updates={ME: 1}), AFTER, Action.REPORT_TIMEOUT),
        (FakeRound("collecting"), AFTER, Action.REPORT_TIMEOUT),  # straggler: no late training
        (FakeRound("aggregating", aggregator=ME), BEFORE, Action.AGGREGATE),
        (FakeRound("aggregating", aggregator=ME), AFTER, Action.AGGREGATE),  # still its duty
        (FakeRound("aggregating"), BEFORE, Action.WAIT),
        (FakeRound("aggregating"), AFTER, Action.REPORT_TIMEOUT),
        (FakeRound("aggregating"), JUST_AFTER, Action.WAIT),  # a fast clock does not cut it short
        (FakeRound("collecting"), JUST_AFTER, Action.WAIT),  # too late to train or report
        (FakeRound("endorsing"), BEFORE, Action.ENDORSE),
        (FakeRound("endorsing", endorsements={ME: 1}), BEFORE, Action.WAIT),
        (FakeRound("endorsing", endorsements={ME: 1}), AFTER, Action.REPORT_TIMEOUT),
        (FakeRound("endorsing", aggregator=ME), BEFORE, Action.WAIT),  # no self-endorsement
        (FakeRound("final"), BEFORE, Action.ADVANCE),
        (FakeRound("failed"), BEFORE, Action.STOP),
    ],
)
def test_next_action(round_: FakeRound, now: dt.datetime, expected: Action) -> None:
    assert decide(ME, "running", round_, now) is expected


def test_completed_session_stops_after_its_final_round() -> None:
    assert decide(ME, "completed", FakeRound("final"), BEFORE) is Action.STOP
