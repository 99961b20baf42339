"""Torch compute threads that fit the cores other processes leave free.

torch runs one OpenMP thread per core, and an OpenMP thread that finishes its share of an
operation spins while it waits for the others. When another process takes one of two cores,
every operation waits for the thread that lost its core, and the spinning thread burns the
core that is left: the bare peft loop on SmolLM2 went from about 2 s to 7-10 s per step with
a second job on the 2-core machine, while one thread kept 2.7 s (docs/bench-training.md).
``ThreadFitter("auto")`` therefore measures, before each unit of work, how much CPU the
*other* processes used since the last one, and gives torch only the cores they left free.

It is opt-in: sums split over a different number of threads round differently, so a run
whose thread count followed the machine's load would not repeat bit for bit (the same-seed
test of ``fedlora simulate`` catches it). By default the count is left as torch set it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import torch

Threads = int | Literal["auto"] | None

# Environment variables through which a person fixes the thread count themselves.
PINNING_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have used since boot (Linux /proc/stat), None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:8]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class CpuShare:
    """Share of all CPUs that *other* processes used between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        """Begin counting (construction starts it too)."""
        self._busy = busy_cpu_seconds()
        self._own = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> float | None:
        """Others' CPU seconds over (wall seconds x CPUs) since ``start``; None off Linux."""
        busy, own, wall = busy_cpu_seconds(), time.process_time(), time.perf_counter()
        if busy is None or self._busy is None or wall <= self._wall:
            return None
        others = max(0.0, (busy - self._busy) - (own - self._own))
        return min(1.0, others / ((wall - self._wall) * (os.cpu_count() or 1)))


class ThreadFitter:
    """Set torch's thread count: fixed, left alone, or fitted to the cores others left free.

    Parameters
    ----------
    threads
        A count (set once); None (default) leaves torch's count alone; "auto" fits it before
        each unit of work, unless ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` pin it.
    """

    def __init__(self, threads: Threads = None) -> None:
        self._cores = usable_cores()
        pinned = any(os.environ.get(variable) for variable in PINNING_VARIABLES)
        self._adaptive = threads == "auto" and not pinned
        self._share = CpuShare()
        if isinstance(threads, int):
            torch.set_num_threads(max(1, threads))

    def fit(self) -> int:
        """Choose the thread count for the next unit of work from the load since the last."""
        if self._adaptive:
            others = self._share.stop()
            if others is not None:
                # Others' busy cores, counted on this machine's CPUs, taken from ours.
                free = self._cores - others * (os.cpu_count() or 1)
                torch.set_num_threads(max(1, min(self._cores, round(free))))
            self._share.start()
        return torch.get_num_threads()
