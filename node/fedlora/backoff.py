"""Exponential backoff, shared by the ledger client and the transport (which never import each
other): how many tries, and how long to wait between them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fedlora.errors import FedloraError


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; waits grow from ``initial_delay_s`` by ``multiplier``, capped."""

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

    def delays(self) -> Iterator[float]:
        """The waits between consecutive attempts (``attempts - 1`` of them)."""
        for failures in range(1, self.attempts):
            yield self.delay_after(failures)

    def delay_after(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (1 = after the first)."""
        return min(self.initial_delay_s * self.multiplier ** (failures - 1), self.max_delay_s)
