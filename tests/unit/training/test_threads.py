"""ThreadFitter("auto") gives torch the cores other processes leave free; else counts stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

import fedlora.training.threads as threads
from fedlora.training.threads import ThreadFitter


class FakeClock:
    """Machine-wide busy CPU seconds, this process's CPU seconds and wall seconds, by hand."""

    def __init__(self) -> None:
        self.busy, self.own, self.wall = 100.0, 10.0, 1000.0

    def advance(self, wall: float, own: float, others: float) -> None:
        self.wall += wall
        self.own += own
        self.busy += own + others

    def process_time(self) -> float:
        return self.own

    def perf_counter(self) -> float:
        return self.wall


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    for variable in threads.PINNING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(threads, "time", fake)
    monkeypatch.setattr(threads, "busy_cpu_seconds", lambda: fake.busy)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    before = torch.get_num_threads()
    yield fake
    torch.set_num_threads(before)


def test_a_second_job_on_one_of_two_cores_leaves_one_thread(clock: FakeClock) -> None:
    # Prepare
    fitter = ThreadFitter("auto")
    # Execute: over 10 s, this process used 10 CPU s and the others 10 CPU s (one core)
    clock.advance(wall=10.0, own=10.0, others=10.0)
    busy = fitter.fit()
    clock.advance(wall=10.0, own=20.0, others=0.5)
    idle = fitter.fit()
    # Assert
    assert (busy, idle) == (1, 2)


def test_own_work_never_counts_as_load(clock: FakeClock) -> None:
    fitter = ThreadFitter("auto")
    clock.advance(wall=10.0, own=20.0, others=0.0)
    assert fitter.fit() == 2


def test_a_pinned_count_is_left_alone(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    fitter = ThreadFitter("auto")
    clock.advance(wall=10.0, own=10.0, others=20.0)
    assert fitter.fit() == 2


def test_an_explicit_count_is_set_once_and_kept(clock: FakeClock) -> None:
    fitter = ThreadFitter(threads=1)
    clock.advance(wall=10.0, own=0.0, others=0.0)
    assert fitter.fit() == 1


def test_by_default_the_count_follows_no_load(clock: FakeClock) -> None:
    # Same seed, same numbers: without "auto" the thread count never moves
    torch.set_num_threads(2)
    fitter = ThreadFitter()
    clock.advance(wall=10.0, own=10.0, others=20.0)
    assert fitter.fit() == 2
