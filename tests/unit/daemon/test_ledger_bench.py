"""The ledger benchmark's arithmetic and verdicts, on fake clients and a fake clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedlora.cli.app import app
from fedlora.daemon import ledger_bench_run
from fedlora.daemon.ledger_bench import (
    Latencies,
    LatencyComparison,
    LedgerBenchReport,
    TargetCheck,
    Throughput,
    compare_latency,
    measure_throughput,
)
from fedlora.errors import FedloraError
from fedlora.ledger import SessionSpec
from fedlora.ledger._json import decode


class FakeClock:
    """Time moves only when a fake client says how long its call took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def client(self, ms: float, calls: list[int]) -> Callable[[int], object]:
        def call(index: int) -> None:
            calls.append(index)
            self.now += ms / 1000

        return call


def _report(
    evaluate_ms: tuple[float, float], submit_ms: tuple[float, float], tx_per_s: tuple[float, float]
) -> LedgerBenchReport:
    """A report whose (Gateway, CLI) medians and (1, 16 submitter) rates are the given ones."""

    def comparison(name: str, medians: tuple[float, float]) -> LatencyComparison:
        return LatencyComparison(name, Latencies(medians[:1]), Latencies(medians[1:]))

    def run(submitters: int, rate: float) -> Throughput:
        return Throughput(submitters, 100, 100, 100 / rate, Latencies((10.0,)))

    return LedgerBenchReport(
        comparison("evaluate GetSession", evaluate_ms),
        comparison("submit to commit CreateSession", submit_ms),
        run(1, tx_per_s[0]),
        run(16, tx_per_s[1]),
        {
            "identity": "Org1MSP admin",
            "cpu_seconds_of_concurrent_run": {"bench client": 0.8, "peer0.org1": 1.9},
            "load_average_1min_at_end": 2.5,
        },
    )


def test_latencies_give_median_and_p90() -> None:
    samples = Latencies(tuple(float(ms) for ms in range(1, 11)))
    assert samples.median_ms == 5.5
    assert samples.p90_ms == 10.0
    assert Latencies((3.0,)).p90_ms == 3.0


def test_clients_alternate_after_an_untimed_warm_up_each() -> None:
    # Prepare
    clock, gateway_calls, cli_calls = FakeClock(), [], []
    # Execute
    result = compare_latency(
        "evaluate GetSession",
        clock.client(2.0, gateway_calls),
        clock.client(50.0, cli_calls),
        repeats=5,
        clock=clock,
    )
    # Assert
    assert gateway_calls == cli_calls == [0, 1, 2, 3, 4, 5]
    assert result.gateway.samples_ms == pytest.approx((2.0,) * 5)
    assert result.cli.median_ms == pytest.approx(50.0)
    assert result.ratio == pytest.approx(0.04)


def test_throughput_keeps_the_submitters_busy_and_counts_failures_apart() -> None:
    # Prepare: a write that takes 20 ms and fails for every 10th transaction
    lock, in_flight, most = threading.Lock(), [0], [0]

    def submit(index: int) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        if index % 10 == 0:
            raise FedloraError(f"[BAD_ARGUMENT] tx {index}")

    # Execute
    result = measure_throughput(submit, transactions=40, submitters=4)
    # Assert
    assert most[0] == 4
    assert result.committed == 36 and len(result.errors) == 4
    assert result.errors[0] == "[BAD_ARGUMENT] tx 0"
    assert result.tx_per_s == pytest.approx(36 / result.seconds)
    assert result.to_json()["failed"] == 4


def test_targets_are_met_on_the_bound_and_misses_are_reported_as_misses() -> None:
    assert TargetCheck("r", 0.05, 0.05, at_most=True, unit="x").met
    assert not TargetCheck("r", 0.051, 0.05, at_most=True, unit="x").met
    assert TargetCheck("t", 150.0, 150.0, at_most=False, unit=" tx/s").met
    # Prepare: evaluate 1 vs 50 ms (met), submit 300 vs 350 ms (missed), 120 tx/s (missed)
    report = _report((1.0, 50.0), (300.0, 350.0), (4.0, 120.0))
    # Execute
    evaluate, submit, rate = report.targets()
    # Assert
    assert evaluate.met and evaluate.describe() == "0.02x, needs <= 0.05x: met"
    assert not submit.met and submit.requirement == "<= 0.8x"
    assert not rate.met and rate.describe() == "120 tx/s, needs >= 150 tx/s: MISSED"
    assert [check["met"] for check in report.to_json()["targets"]] == [True, False, False]


def test_each_benchmark_write_is_a_new_open_session() -> None:
    raw = ledger_bench_run.session_spec_json("bench-1234abcd-gw-7")
    spec = decode(raw.encode(), SessionSpec, "spec")
    assert spec.session_id == "bench-1234abcd-gw-7" and spec.participants == ()


def test_the_command_prints_the_table_and_json_and_names_misses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Prepare: no network; the measuring function is replaced by a canned report
    seen: list[ledger_bench_run.LedgerBenchOptions] = []

    def fake_run(options: ledger_bench_run.LedgerBenchOptions, report: object) -> LedgerBenchReport:
        seen.append(options)
        return _report((1.5, 60.0), (270.0, 340.0), (3.5, 120.0))

    monkeypatch.setattr(ledger_bench_run, "run_ledger_bench", fake_run)
    runner = CliRunner()
    # Execute
    table = runner.invoke(app, ["bench", "ledger", "--network-dir", str(tmp_path)])
    document = runner.invoke(app, ["bench", "ledger", "--json", "--submitters", "8"])
    # Assert
    assert table.exit_code == 0, table.output
    assert "MISSED" in table.output and "0.025x" in table.output
    assert "bench client 0.80, peer0.org1 1.90" in " ".join(table.output.split())
    assert seen[0].network_dir == tmp_path and seen[1].submitters == 8
    assert json.loads(document.output)["throughput"][1]["tx_per_s"] == 120.0
