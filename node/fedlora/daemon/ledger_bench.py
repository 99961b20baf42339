"""Ledger benchmark: the Python Gateway client against Fabric's peer CLI, measured in one run.

Three figures, each set against a target:

(a) evaluate latency, Gateway vs ``peer chaincode query`` (median ratio, target <= 0.05x);
(b) submit-to-commit latency, Gateway vs ``peer chaincode invoke --waitForEvent`` (median
    ratio, target <= 0.8x);
(c) committed transactions per second with 16 concurrent Gateway submitters over a fixed
    number of transactions (target >= 150 tx/s), with 1 submitter as its baseline.

This module only times callables and judges the targets, so it is tested without a network;
:mod:`fedlora.daemon.ledger_bench_run` wires the callables to a live one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fedlora.errors import FedloraError

EVALUATE_RATIO_TARGET = 0.05
SUBMIT_RATIO_TARGET = 0.8
CONCURRENT_TX_PER_S_TARGET = 150.0

# One call of a client; the argument numbers the call, so writes can use fresh keys.
Call = Callable[[int], object]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Latencies:
    """Milliseconds of repeated calls of one operation through one client."""

    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """The median call."""
        return statistics.median(self.samples_ms)

    @property
    def p90_ms(self) -> float:
        """The 90th percentile call (the largest sample when there are fewer than 10)."""
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]

    def to_json(self) -> dict[str, object]:
        """Summary figures, rounded to 0.01 ms."""
        return {
            "calls": len(self.samples_ms),
            "median_ms": round(self.median_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "min_ms": round(min(self.samples_ms), 2),
            "max_ms": round(max(self.samples_ms), 2),
        }


@dataclass(frozen=True)
class LatencyComparison:
    """One operation timed through both clients in the same run."""

    operation: str
    gateway: Latencies
    cli: Latencies

    @property
    def ratio(self) -> float:
        """Gateway median / peer CLI median (below 1: the Gateway is faster)."""
        return self.gateway.median_ms / self.cli.median_ms

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "operation": self.operation,
            "gateway": self.gateway.to_json(),
            "peer_cli": self.cli.to_json(),
            "ratio": round(self.ratio, 4),
        }


@dataclass(frozen=True)
class Throughput:
    """Submissions of a fixed number of transactions by concurrent submitters."""

    submitters: int
    transactions: int
    committed: int
    seconds: float
    latencies: Latencies
    errors: tuple[str, ...] = field(default=())

    @property
    def tx_per_s(self) -> float:
        """Committed (VALID) transactions per wall-clock second, first start to last commit."""
        return self.committed / self.seconds

    def to_json(self) -> dict[str, object]:
        """JSON-ready form; only the first error message is kept."""
        return {
            "submitters": self.submitters,
            "transactions": self.transactions,
            "committed": self.committed,
            "failed": len(self.errors),
            "first_error": self.errors[0] if self.errors else "",
            "seconds": round(self.seconds, 3),
            "tx_per_s": round(self.tx_per_s, 1),
            "latency": self.latencies.to_json(),
        }


@dataclass(frozen=True)
class TargetCheck:
    """A measured figure against its bound."""

    name: str
    measured: float
    bound: float
    at_most: bool
    unit: str

    @property
    def met(self) -> bool:
        """Whether the figure is on the right side of the bound (the bound itself counts)."""
        return self.measured <= self.bound if self.at_most else self.measured >= self.bound

    @property
    def requirement(self) -> str:
        """E.g. ``<= 0.05x``."""
        return f"{'<=' if self.at_most else '>='} {self.bound:g}{self.unit}"

    def describe(self) -> str:
        """E.g. ``0.021x, needs <= 0.05x: met``."""
        verdict = "met" if self.met else "MISSED"
        return f"{self.measured:.3g}{self.unit}, needs {self.requirement}: {verdict}"

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "measured": round(self.measured, 4),
            "bound": self.bound,
            "at_most": self.at_most,
            "met": self.met,
        }


@dataclass(frozen=True)
class LedgerBenchReport:
    """Everything one run measured, and where (network, identity)."""

    evaluate: LatencyComparison
    submit: LatencyComparison
    baseline: Throughput
    concurrent: Throughput
    setting: dict[str, object]

    def targets(self) -> list[TargetCheck]:
        """The three targets, judged on this run."""
        return [
            TargetCheck("evaluate: Gateway / peer CLI", self.evaluate.ratio,
                        EVALUATE_RATIO_TARGET, at_most=True, unit="x"),
            TargetCheck("submit to commit: Gateway / peer CLI", self.submit.ratio,
                        SUBMIT_RATIO_TARGET, at_most=True, unit="x"),
            TargetCheck(f"committed tx/s, {self.concurrent.submitters} Gateway submitters",
                        self.concurrent.tx_per_s, CONCURRENT_TX_PER_S_TARGET,
                        at_most=False, unit=" tx/s"),
        ]  # fmt: skip

    def to_json(self) -> dict[str, object]:
        """JSON-ready form, targets included."""
        return {
            "setting": self.setting,
            "evaluate": self.evaluate.to_json(),
            "submit": self.submit.to_json(),
            "throughput": [self.baseline.to_json(), self.concurrent.to_json()],
            "targets": [check.to_json() for check in self.targets()],
        }


def compare_latency(
    operation: str, gateway: Call, cli: Call, repeats: int, clock: Clock = time.perf_counter
) -> LatencyComparison:
    """Time ``repeats`` calls through each client, alternating call by call.

    Each client makes one untimed warm-up call first (the Gateway's TLS handshake, the peer
    binary's first load from disk). Alternating means a change in the machine's load during
    the run hits both clients alike.
    """
    if repeats < 1:
        raise FedloraError(f"repeats must be at least 1, got {repeats}", "pass a positive count")
    gateway(0)
    cli(0)
    gateway_ms: list[float] = []
    cli_ms: list[float] = []
    for index in range(1, repeats + 1):
        gateway_ms.append(_timed_ms(gateway, index, clock))
        cli_ms.append(_timed_ms(cli, index, clock))
    return LatencyComparison(operation, Latencies(tuple(gateway_ms)), Latencies(tuple(cli_ms)))


def _timed_ms(call: Call, index: int, clock: Clock) -> float:
    started = clock()
    call(index)
    return (clock() - started) * 1000


def measure_throughput(
    submit: Call, transactions: int, submitters: int, clock: Clock = time.perf_counter
) -> Throughput:
    """Submit ``transactions`` writes from ``submitters`` threads, each waiting for its commit.

    A submitter starts its next transaction as soon as its last one committed, so exactly
    ``submitters`` are in flight until the work runs out. A failed write is counted, not
    retried here, and does not stop the others.
    """
    if transactions < 1 or submitters < 1:
        raise FedloraError(
            f"need at least one transaction and one submitter, got {transactions}/{submitters}",
            "pass positive counts",
        )

    def one(index: int) -> tuple[float, str]:
        started = clock()
        try:
            submit(index)
        except FedloraError as error:
            return clock() - started, str(error)
        return clock() - started, ""

    started = clock()
    with ThreadPoolExecutor(max_workers=submitters) as pool:
        outcomes = list(pool.map(one, range(transactions)))
    seconds = clock() - started
    errors = tuple(error for _, error in outcomes if error)
    committed_ms = tuple(s * 1000 for s, error in outcomes if not error)
    return Throughput(
        submitters,
        transactions,
        len(committed_ms),
        seconds,
        Latencies(committed_ms or (float("nan"),)),
        errors,
    )
