"""Retrying and polling, written once: how many tries, how long to wait between them, and when
time is up.

Shared by the ledger client, the transport (which never import each other) and the network's
start-up waits. Which failures are worth another try stays with each caller, as a predicate.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from fedlora.errors import FedloraError

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; waits grow from ``initial_delay_s`` by ``multiplier``, capped.

    The defaults are the ledger client's, and suit a local network.
    """

    attempts: int = 6
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_delay_s < 0 or self.multiplier < 1:
            raise FedloraError(
                f"invalid retry policy {self}",
                "attempts must be >= 1, delays >= 0 and the multiplier >= 1",
            )

    @classmethod
    def every(cls, interval_s: float, for_s: float) -> Backoff:
        """Tries ``interval_s`` apart for ``for_s`` seconds (pass the deadline to :func:`retry`
        too: the attempts themselves take time)."""
        attempts = max(1, math.ceil(for_s / interval_s) + 1) if interval_s > 0 else 1
        return cls(attempts, interval_s, interval_s, 1.0)

    def delays(self) -> Iterator[float]:
        """The waits between consecutive attempts (``attempts - 1`` of them)."""
        for failures in range(1, self.attempts):
            yield min(self.initial_delay_s * self.multiplier ** (failures - 1), self.max_delay_s)


class Deadline:
    """A point in time ``seconds`` from now, on the monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def left_s(self) -> float:
        """Seconds until the deadline; 0 once it has passed."""
        return max(0.0, self._ends - self._clock())


def retry(
    operation: Callable[[], T],
    backoff: Backoff,
    retryable: Callable[[Exception], bool],
    *,
    deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "call",
) -> T:
    """Call ``operation`` until it returns; re-raise its error once trying again is pointless.

    That is when ``retryable(error)`` is false, the backoff's attempts are spent, or the next
    wait would reach the ``deadline``. ``what`` names the operation in the log.
    """
    delays = backoff.delays()
    while True:
        try:
            return operation()
        except Exception as error:
            if not retryable(error):
                raise
            delay = next(delays, None)
            if delay is None or (deadline is not None and delay >= deadline.left_s()):
                raise
            reason = " ".join(str(error).split())[:300]  # gRPC errors span several lines
            _log.info("%s failed (%s); trying again in %.2f s", what, reason, delay)
            sleep(delay)


def poll(
    condition: Callable[[], bool],
    timeout_s: float,
    interval_s: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Check ``condition`` every ``interval_s`` until it holds or ``timeout_s`` has passed.

    The condition is checked once more at the deadline; the result is its last answer. It may
    raise to stop the wait early (a process that died while it was awaited).
    """
    deadline = Deadline(timeout_s, clock)
    while not condition():
        left = deadline.left_s()
        if left <= 0:
            return False
        sleep(min(interval_s, left))
    return True
