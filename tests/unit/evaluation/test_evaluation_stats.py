"""Deltas against a baseline and Wilson intervals, with hand-computed numbers."""

from __future__ import annotations

import pytest

from fedlora.errors import FedloraError
from fedlora.evaluation import compare, summarize, wilson_interval


def test_compare_subtracts_the_baseline() -> None:
    fedavg = summarize({"a": 0.2, "b": 0.8})
    fedlora = summarize({"a": 0.4, "b": 0.7})
    delta = compare(fedlora, fedavg)
    assert delta.avg == pytest.approx(0.05)
    assert delta.min == pytest.approx(0.2)
    assert delta.std == pytest.approx(0.15 - 0.3)
    assert delta.hmean == pytest.approx(2 / (1 / 0.4 + 1 / 0.7) - 2 / (1 / 0.2 + 1 / 0.8))
    assert delta.per_site == pytest.approx({"a": 0.2, "b": -0.1})
    assert delta.improves_worst_without_hurting_average()


def test_a_worse_average_is_not_an_improvement_unless_tolerated() -> None:
    delta = compare(summarize({"a": 0.3, "b": 0.6}), summarize({"a": 0.2, "b": 0.8}))
    assert delta.avg == pytest.approx(-0.05)
    assert not delta.improves_worst_without_hurting_average()
    assert delta.improves_worst_without_hurting_average(tolerance=0.06)


def test_compare_refuses_different_sites() -> None:
    with pytest.raises(FedloraError, match="different sites"):
        compare(summarize({"a": 0.5}), summarize({"b": 0.5}))


def test_wilson_interval_at_half_on_100_items() -> None:
    # centre (0.5 + 1.96^2/200) / (1 + 1.96^2/100) = 0.5;
    # half-width 1.96 * sqrt(0.0025 + 1.96^2/40000) / 1.038416 = 0.09617.
    low, high = wilson_interval(0.5, 100)
    assert low == pytest.approx(0.40383, abs=1e-4)
    assert high == pytest.approx(0.59617, abs=1e-4)


def test_wilson_interval_stays_inside_zero_and_one() -> None:
    low, high = wilson_interval(0.0, 10)
    assert low == 0.0 and 0.0 < high < 0.35
    low, high = wilson_interval(1.0, 10)
    assert high == 1.0 and 0.65 < low < 1.0


@pytest.mark.parametrize(("accuracy", "count"), [(1.5, 10), (-0.1, 10), (0.5, 0)])
def test_wilson_interval_refuses_bad_input(accuracy: float, count: int) -> None:
    with pytest.raises(FedloraError):
        wilson_interval(accuracy, count)
