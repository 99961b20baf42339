"""`fedlora bench ...`: measured numbers behind the docs (one function per benchmark)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from fedlora.cli.common import console, err_console, print_json, user_errors
from fedlora.daemon.ledger_bench import LedgerBenchReport, TargetCheck, Throughput
from fedlora.errors import FedloraError

if TYPE_CHECKING:
    from fedlora.cli.round_bench import RoundBenchResult

app = typer.Typer(help="Benchmarks: training throughput, round time, memory.", no_args_is_help=True)


@app.command()
def trainer(
    model: Annotated[str, typer.Option(help="tiny or smollm2.")] = "tiny",
    steps: Annotated[int, typer.Option(min=1, help="Timed steps per variant.")] = 5,
    batch: Annotated[int, typer.Option(min=1, help="Batch size.")] = 8,
    top_layers: Annotated[int, typer.Option(help="K of the top-K variants (0: default).")] = 0,
    bf16: Annotated[bool, typer.Option(help="bf16 autocast in every variant.")] = False,
    cell_rounds: Annotated[
        int, typer.Option(help="Rounds of the results-table cell to run (0: skip; 20: all).")
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """LocalTrainer vs a bare peft loop (s/step, tokens/s, ratio), and one results-table cell."""
    from fedlora.cli.bench_trainer import cell_report, print_report, run_cell, throughput_report

    with user_errors():
        k = top_layers or (1 if model == "tiny" else 4)  # 4: the results table's setting
        report = {"model": model, "batch": batch, "top_layers": k, "bf16": bf16}
        report |= throughput_report(model, steps, batch, k, bf16)
        if cell_rounds:
            report["cell"] = cell_report(run_cell(cell_rounds, bf16, model))
        if json_output:
            print_json(report)
        else:
            print_report(report)


@app.command()
def transfer(
    size_mib: Annotated[
        list[int] | None, typer.Option("--size-mib", help="Artifact size in MiB (repeatable).")
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Timed transfers per path.")] = 7,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Verified mTLS adapter fetch vs bare gRPC loopback streams (TLS and not) of its bytes."""
    import dataclasses

    from fedlora.transport.bench import measure_transfer

    with user_errors():
        rows = []
        for mib in size_mib or [4, 64]:
            measured = measure_transfer(mib * 1024 * 1024, repeats=repeats)
            row = dataclasses.asdict(measured)
            row["ratio"] = round(measured.mtls_mib_per_s / measured.raw_mib_per_s, 3)
            row["ratio_to_tls"] = round(measured.mtls_mib_per_s / measured.tls_stream_mib_per_s, 3)
            rows.append(row)
        if json_output:
            print_json(rows)
            return
        console.print(_transfer_table(rows, repeats))


def _transfer_table(rows: list[dict[str, Any]], repeats: int) -> Table:
    table = Table(title=f"adapter transfer over loopback, median of {repeats}")
    columns = ("MiB", "verified mTLS fetch MiB/s", "bare TLS stream MiB/s", "bare stream MiB/s")
    for column in (*columns, "ratio", "ratio to TLS stream", "sha256 s"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row["size_bytes"] // (1024 * 1024)),
            f"{row['mtls_mib_per_s']:.1f}",
            f"{row['tls_stream_mib_per_s']:.1f}",
            f"{row['raw_mib_per_s']:.1f}",
            f"{row['ratio']:.2f}x",
            f"{row['ratio_to_tls']:.2f}x",
            f"{row['sha256_seconds']:.3f}",
        )
    return table


@app.command()
def ledger(
    network_dir: Annotated[
        Path | None,
        typer.Option(help="A running network (`fedlora network up --dir`); default: a new one."),
    ] = None,
    evaluations: Annotated[int, typer.Option(min=1, help="Timed queries per client.")] = 30,
    submits: Annotated[int, typer.Option(min=1, help="Timed writes per client.")] = 20,
    transactions: Annotated[int, typer.Option(min=1, help="Writes of the tx/s run.")] = 480,
    submitters: Annotated[int, typer.Option(min=1, help="Concurrent Gateway submitters.")] = 16,
    baseline: Annotated[int, typer.Option(min=1, help="Writes of the 1-submitter run.")] = 30,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Gateway client vs the peer CLI on one live network: query, submit, committed tx/s."""
    from fedlora.daemon.ledger_bench_run import LedgerBenchOptions, run_ledger_bench

    with user_errors():
        options = LedgerBenchOptions(
            network_dir, evaluations, submits, transactions, baseline, submitters
        )
        report = run_ledger_bench(options, lambda step: err_console.print(f"[dim]{step}[/]"))
        if json_output:
            print_json(report.to_json())
            return
        console.print(_ledger_table(report))
        for check in report.targets():
            console.print(f"target {check.name}: {check.describe()}")
        cpu = report.setting["cpu_seconds_of_concurrent_run"]
        assert isinstance(cpu, dict)  # process name -> CPU seconds, as ledger_bench_run sets it
        spent = ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items())
        load = report.setting["load_average_1min_at_end"]
        console.print(f"CPU seconds during the concurrent run: {spent}; load average {load}")


def _ledger_table(report: LedgerBenchReport) -> Table:
    identity = report.setting["identity"]
    table = Table(title=f"Gateway client vs peer CLI, same network, same identity ({identity})")
    for column in ("measurement", "Gateway", "peer CLI", "ratio", "target", "result"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    checks = report.targets()
    for latency, check in zip((report.evaluate, report.submit), checks, strict=False):
        table.add_row(
            f"{latency.operation}, median of {len(latency.gateway.samples_ms)}",
            f"{latency.gateway.median_ms:.1f} ms",
            f"{latency.cli.median_ms:.1f} ms",
            f"{latency.ratio:.3f}x",
            check.requirement,
            _verdict(check),
        )
    one, many, rate = report.baseline, report.concurrent, checks[2]
    table.add_row(_rate_label(one), f"{one.tx_per_s:.1f} tx/s", "", "", "", "")
    table.add_row(
        _rate_label(many),
        f"{many.tx_per_s:.1f} tx/s",
        "",
        f"{many.tx_per_s / one.tx_per_s:.1f}x 1 sub.",
        rate.requirement,
        _verdict(rate),
    )
    return table


def _rate_label(run: Throughput) -> str:
    failed = f", {len(run.errors)} failed" if run.errors else ""
    return f"committed tx/s: {run.submitters} submitter(s), {run.transactions} tx{failed}"


def _verdict(check: TargetCheck) -> str:
    return "met" if check.met else "MISSED"


@app.command("round")
def round_(
    nodes_per_org: Annotated[
        list[int] | None,
        typer.Option("--nodes-per-org", help="Nodes per org of one run (repeatable)."),
    ] = None,
    orgs: Annotated[
        list[int] | None, typer.Option("--orgs", help="Orgs of each run, paired with the above.")
    ] = None,
    rounds: Annotated[int, typer.Option(min=2, help="Rounds per session.")] = 4,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A round's coordination on a fresh live network: last update committed to round final."""
    import dataclasses

    from fedlora.cli.round_bench import bench_round

    with user_errors():
        org_counts, per_org_counts = orgs or [3, 5], nodes_per_org or [1, 2]
        if len(org_counts) != len(per_org_counts):
            raise FedloraError(
                "--orgs and --nodes-per-org must be given the same number of times",
                "pair them, e.g. --orgs 3 --nodes-per-org 1 --orgs 5 --nodes-per-org 2",
            )
        shapes = list(zip(org_counts, per_org_counts, strict=True))
        results = []
        for org_count, per_org in shapes:
            err_console.print(f"[dim]session of {org_count * per_org} nodes on {org_count} orgs[/]")
            with tempfile.TemporaryDirectory() as folder:
                results.append(bench_round(Path(folder), org_count, per_org, rounds))
        if json_output:
            print_json([dataclasses.asdict(result) for result in results])
            return
        console.print(_round_table(results, rounds))
        console.print(_phase_table(results))


def _round_table(results: list[RoundBenchResult], rounds: int) -> Table:
    table = Table(title=f"round coordination, tiny model, median of rounds 2..{rounds}")
    for column in ("nodes", "aggregate s", "endorse s", "critical path s", "failovers"):
        table.add_column(column, justify="right")
    for result in results:
        median = result.median()
        table.add_row(
            str(result.nodes),
            f"{median.aggregate_s:.2f}",
            f"{median.endorse_s:.2f}",
            f"{median.critical_path_s:.2f}",
            str(median.failovers),
        )
    return table


def _phase_table(results: list[RoundBenchResult]) -> Table:
    """Each chain phase split into the acting nodes' wake-up, fetch, work and commit."""
    from fedlora.cli.round_breakdown import wake_up_s

    table = Table(title="where the phases go: the nodes' own medians, s")
    columns = (
        "nodes",
        "update commit",
        "agg. wake-up",
        "agg. fetch",
        "aggregate",
        "propose commit",
    )
    for column in (*columns, "end. wake-up", "end. fetch", "recompute", "verdict commit"):
        table.add_column(column, justify="right")
    for result in results:
        phases, median = result.phases, result.median()
        if phases is None:
            continue
        propose, endorse = phases.propose, phases.endorse
        cells = (
            phases.train.commit_s, wake_up_s(median.aggregate_s, propose), propose.fetch_s,
            propose.work_s, propose.commit_s, wake_up_s(median.endorse_s, endorse),
            endorse.fetch_s, endorse.work_s, endorse.commit_s,
        )  # fmt: skip
        table.add_row(str(result.nodes), *(f"{cell:.2f}" for cell in cells))
    return table


@app.command()
def network(
    orgs: Annotated[int, typer.Option(min=1, max=9, help="Member organisations.")] = 3,
    idle_s: Annotated[float, typer.Option(help="Seconds idle before memory is read.")] = 10.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Network up to the first committed transaction (fresh, restart) and its idle memory."""
    import dataclasses

    from fedlora.network.bench import bench_network

    with user_errors(), tempfile.TemporaryDirectory() as folder:
        result = bench_network(Path(folder) / "network", orgs, idle_s)
        if json_output:
            print_json(dataclasses.asdict(result))
            return
        console.print(f"fresh `network up` to first committed tx: {result.fresh_up_s:.1f} s")
        console.print(f"restart on its ledgers to first committed tx: {result.restart_up_s:.1f} s")
        for name, mib in result.idle_rss_mib.items():
            console.print(f"idle RSS {name}: {mib:.0f} MiB")
        console.print(f"idle RSS of the whole network: {result.total_idle_rss_mib:.0f} MiB")
