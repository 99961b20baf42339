"""The round benchmark's arithmetic: phases from event arrival times."""

from __future__ import annotations

import pytest

from fedlora.cli.round_bench import RoundBenchResult, timings_from_events


def test_phases_run_from_collection_closed_to_proposal_to_final() -> None:
    arrivals = [
        (10.0, "UpdateSubmitted", 1),
        (10.5, "AggregationStarted", 1),
        (11.0, "AggregateProposed", 1),
        (11.2, "AggregateEndorsed", 1),
        (11.8, "RoundFinalized", 1),
        (20.0, "AggregationStarted", 2),
        (21.0, "AggregateProposed", 2),
        (22.0, "AggregatorFailedOver", 2),
        (23.0, "AggregateProposed", 2),  # the proposal that passed is the one that counts
        (23.4, "SessionCompleted", 2),
    ]
    first, second = timings_from_events(arrivals)
    assert (first.round, first.failovers) == (1, 0)
    assert first.aggregate_s == pytest.approx(0.5) and first.endorse_s == pytest.approx(0.8)
    assert first.critical_path_s == pytest.approx(1.3)
    assert second.aggregate_s == pytest.approx(3.0) and second.failovers == 1


def test_a_round_that_never_became_final_is_not_timed_and_round_one_is_left_out() -> None:
    arrivals = [
        (0.0, "AggregationStarted", 1),
        (4.0, "AggregateProposed", 1),
        (5.0, "RoundFinalized", 1),
        (6.0, "AggregationStarted", 2),
        (7.0, "AggregateProposed", 2),
        (7.5, "RoundFinalized", 2),
        (8.0, "AggregationStarted", 3),
    ]
    timings = timings_from_events(arrivals)
    assert [t.round for t in timings] == [1, 2]
    median = RoundBenchResult(3, timings).median()
    assert median.aggregate_s == pytest.approx(1.0) and median.endorse_s == pytest.approx(0.5)
