"""The one retry and poll helper: when it tries again, how long it waits, when it gives up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fedlora.backoff import Backoff, Deadline, poll, retry
from fedlora.errors import FedloraError


class Clock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def failing(times: int, error: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return calls, operation


def test_waits_grow_by_the_multiplier_up_to_the_cap() -> None:
    backoff = Backoff(attempts=5, initial_delay_s=1.0, max_delay_s=3.0, multiplier=2.0)
    assert list(backoff.delays()) == [1.0, 2.0, 3.0, 3.0]
    assert list(Backoff.every(0.5, 2.0).delays()) == [0.5] * 4


def test_a_policy_that_cannot_work_is_refused() -> None:
    with pytest.raises(FedloraError, match="invalid retry policy"):
        Backoff(attempts=0)


def test_a_retryable_failure_is_tried_again_until_it_succeeds() -> None:
    clock = Clock()
    calls, operation = failing(2, TimeoutError("slow"))
    result = retry(operation, Backoff(initial_delay_s=1.0), lambda _: True, sleep=clock.sleep)
    assert result == "done" and len(calls) == 3 and clock.waits == [1.0, 2.0]


def test_any_other_failure_is_raised_at_once() -> None:
    clock = Clock()
    calls, operation = failing(5, KeyError("no"))
    with pytest.raises(KeyError):
        retry(operation, Backoff(), lambda e: isinstance(e, TimeoutError), sleep=clock.sleep)
    assert len(calls) == 1 and clock.waits == []


def test_the_last_failure_is_raised_when_the_attempts_are_spent() -> None:
    clock = Clock()
    calls, operation = failing(5, TimeoutError("slow"))
    with pytest.raises(TimeoutError):
        retry(operation, Backoff(attempts=3), lambda _: True, sleep=clock.sleep)
    assert len(calls) == 3


def test_no_wait_is_started_that_would_reach_the_deadline() -> None:
    clock = Clock()
    calls, operation = failing(5, TimeoutError("slow"))
    deadline = Deadline(3.5, clock)
    backoff = Backoff(attempts=10, initial_delay_s=1.0, multiplier=2.0)
    with pytest.raises(TimeoutError):
        retry(operation, backoff, lambda _: True, deadline=deadline, sleep=clock.sleep)
    assert len(calls) == 3 and clock.waits == [1.0, 2.0]  # a third wait (4 s) would not fit


def test_poll_returns_as_soon_as_the_condition_holds() -> None:
    clock = Clock()
    answers = iter([False, False, True])
    assert poll(lambda: next(answers), 10.0, 0.5, sleep=clock.sleep, clock=clock)
    assert clock.waits == [0.5, 0.5]


def test_poll_checks_once_more_at_the_deadline_then_gives_up() -> None:
    clock = Clock()
    checked: list[float] = []

    def never() -> bool:
        checked.append(clock.now)
        return False

    assert not poll(never, 1.0, 0.4, sleep=clock.sleep, clock=clock)
    assert checked == pytest.approx([100.0, 100.4, 100.8, 101.0])


def test_a_condition_may_stop_the_wait_by_raising() -> None:
    def crashed() -> bool:
        raise FedloraError("peer0 exited")

    with pytest.raises(FedloraError, match="exited"):
        poll(crashed, 10.0, 0.1, sleep=Clock().sleep)
