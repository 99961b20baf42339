"""`fedlora demo` (what `make demo` runs): three hospitals fine-tune SmolLM2 together.

With Fabric 2.5 binaries installed it runs the real thing: a 3-org network, one node per org on
its own non-IID ICD-10-CM shard, a session of a few rounds, then the per-site table and the audit
trail. Where the binaries cannot be had (see scripts/setup_fabric.sh), it says so in one line and,
unless --require-network is given, runs the learning part in one process with the very same
training and aggregation code (`fedlora simulate`), clearly labelled as such.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fedlora.cli.common import console, err_console, user_errors
from fedlora.errors import FedloraError
from fedlora.network import locate_fabric

app = typer.Typer(help="Run the end-to-end demo (what `make demo` runs).")


@app.callback(invoke_without_command=True)
def demo(
    root: Annotated[Path, typer.Option(help="Folder for the demo's network and nodes.")] = Path(
        "runs/demo"
    ),
    model: Annotated[str, typer.Option(help="smollm2 (pretrained) or tiny (random, fast).")] = (
        "smollm2"
    ),
    rounds: Annotated[int, typer.Option(min=1, help="Federated rounds.")] = 5,
    steps: Annotated[int, typer.Option(min=1, help="Local training steps per round.")] = 30,
    personalize_steps: Annotated[
        int, typer.Option(min=0, help="Steps of each site's personal fine-tune at the end.")
    ] = 30,
    top_layers: Annotated[int, typer.Option(min=0, help="LoRA on the top N layers.")] = 4,
    lr: Annotated[float, typer.Option(help="Local learning rate (AdamW).")] = 2e-3,
    alpha: Annotated[float, typer.Option(help="Dirichlet label skew (smaller: stronger).")] = 0.1,
    require_network: Annotated[
        bool, typer.Option(help="Fail instead of running the in-process part alone.")
    ] = False,
    keep: Annotated[bool, typer.Option(help="Leave the network running at the end.")] = False,
    base_port: Annotated[
        int | None, typer.Option(help="First port of the network's block (default 27050).")
    ] = None,
) -> None:
    """Run the demo end to end and print the per-site results and the audit trail."""
    with user_errors():
        try:
            locate_fabric()
        except FedloraError as missing:
            if require_network:
                raise
            err_console.print(f"[yellow]network part skipped:[/] {missing}")
            steps_of = (steps, personalize_steps)
            _learning_only(root, model, rounds, steps_of, top_layers, alpha, lr)
            return
        from fedlora.cli.demo_steps import DemoSettings

        # A fresh session id per run: a second demo on the same network adds to its audit trail.
        settings = DemoSettings(
            root.resolve(),
            model,
            rounds,
            steps,
            personalize_steps=personalize_steps,
            top_layers=top_layers,
            alpha=alpha,
            lr=lr,
            session_id=time.strftime("demo-%Y%m%d-%H%M%S"),
            base_port=base_port,
        )
        _networked(settings, keep)


def _networked(settings: Any, keep: bool) -> None:
    from fedlora.cli import demo_steps as run
    from fedlora.network import down

    report = console.print
    started = time.monotonic()
    state, layout = run.start_network(settings, report)
    report(f"network ready in {time.monotonic() - started:.1f} s")
    try:
        nodes = run.create_nodes(settings, state, layout, report)
        run.start_session(settings, layout, state, nodes)
        report(
            f"session {settings.session_id} started: {settings.rounds} rounds, {len(nodes)} nodes"
        )
        session_started = time.monotonic()
        run.run_nodes(settings, nodes, report)
        session_seconds = time.monotonic() - session_started
        rows = run.collect_results(settings, nodes)
        console.print(results_table(rows))
        _report_timing(rows, session_seconds, time.monotonic() - started)
        _report_where(settings, nodes, rows)
    finally:
        if not keep:
            down(settings.root / "network")


def _report_timing(rows: list[dict[str, Any]], session_s: float, total_s: float) -> None:
    """Wall time, and how much of the session the nodes spent outside training and evaluation."""
    computing = [row["compute_seconds"] for row in rows]
    outside = 1 - sum(computing) / len(computing) / session_s if computing else math.nan
    console.print(
        f"demo took {total_s / 60:.1f} min; the session {session_s:.0f} s, of which "
        f"{outside:.0%} (mean over nodes) outside training and evaluation"
    )


def _report_where(settings: Any, nodes: list[Any], rows: list[dict[str, Any]]) -> None:
    """Where the audit trail and the final and personal adapters are, and how to check them."""
    from fedlora.cli.audit import write_history_csv

    config = nodes[0].config_path
    trail = settings.root / f"audit-{settings.session_id}.csv"
    count = write_history_csv(config, settings.session_id, trail)
    lines = [f"audit trail: {trail} ({count} committed records)"]
    lines += [f"final adapter of {row['node']}: {row['adapter_dir']}" for row in rows]
    lines += [  # never shared: each stays in its node's folder
        f"personal adapter of {row['node']} (stays on its site): {row['personal_dir']}"
        for row in rows
        if row["personal_dir"]
    ]
    lines += [
        f"check one: fedlora audit verify {rows[0]['adapter_dir']} --config {config}",
        f"rounds as recorded: fedlora session status --id {settings.session_id} --config {config}",
    ]
    for line in lines:  # paths stay whole, so they can be copied
        console.print(line, soft_wrap=True, highlight=False)


def results_table(rows: list[dict[str, Any]]) -> Table:
    """Accuracy on each site's own test split: before, the global adapter, the personal one."""
    table = Table(title="per-site accuracy on the site's own test split")
    for column in ("site", "node", "before", "global", "change", "personalized"):
        table.add_column(column)
    for row in rows:
        change = row["after"] - row["before"]
        table.add_row(row["site"], row["node"], f"{row['before']:.1%}", f"{row['after']:.1%}",
                      f"{change:+.1%}", _percent(row.get("personal", math.nan)))  # fmt: skip
    for label, pick in (("average", statistics.fmean), ("worst", min)):
        before, after = pick(r["before"] for r in rows), pick(r["after"] for r in rows)
        personal = pick(r.get("personal", math.nan) for r in rows)
        table.add_row(label, "", f"{before:.1%}", f"{after:.1%}", f"{after - before:+.1%}",
                      _percent(personal))  # fmt: skip
    return table


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def _learning_only(
    root: Path,
    model: str,
    rounds: int,
    steps_of: tuple[int, int],
    top_layers: int,
    alpha: float,
    lr: float,
) -> None:
    """``steps_of``: local steps per round, then steps of each site's personal fine-tune."""
    from fedlora.cli.simulate import simulate

    console.print(
        "[bold]in-process run:[/] the same local training and fedlora aggregation as the nodes, "
        "without the Fabric network and gRPC exchange"
    )
    simulate(
        methods="fedlora",
        model=model,
        rounds=rounds,
        local_steps=steps_of[0],
        personalize_steps=steps_of[1],
        top_layers=top_layers,
        alpha=alpha,
        lr=lr,
        out=root / "in-process",
    )
