"""`fedlora simulate`: compare local, federated and centralized LoRA on one machine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fedlora.cli.common import console, err_console, print_json, user_errors
from fedlora.errors import FedloraError

app = typer.Typer(help="Run federated-learning experiments in one process (same code as a node).")

DEFAULT_METHODS = "local,fedavg,fedlora,centralized"
_DP = "DP-SGD at every site (record-level DP per site): "


class RichProgress:
    """One progress bar per method, advanced after each site-round of training.

    When no bar is drawn (``--json``, or no terminal, e.g. under nohup), each step is logged as
    one plain line on stderr instead: long runs stay observable and stdout stays pure JSON.
    """

    def __init__(self, progress: Progress, log_lines: bool) -> None:
        self._progress = progress
        self._task: Any = None
        self._log_lines = log_lines
        self._label = ""
        self._done = 0
        self._total = 0
        self._started = 0.0

    def start(self, label: str, total: int) -> None:
        """Open a bar for a new method."""
        self._task = self._progress.add_task(label, total=total, detail="")
        self._label, self._done, self._total = label, 0, total
        self._started = time.perf_counter()
        self._log(f"started, {total} site-rounds")

    def advance(self, detail: str) -> None:
        """Advance the current bar by one site-round."""
        self._progress.update(self._task, advance=1, detail=detail)
        self._done += 1
        elapsed = time.perf_counter() - self._started
        left = elapsed / self._done * (self._total - self._done)
        self._log(f"{self._done}/{self._total} {detail} ({elapsed:.0f} s, ~{left:.0f} s left)")

    def _log(self, text: str) -> None:
        if self._log_lines:
            stamp = time.strftime("%H:%M:%S")
            err_console.print(
                f"{stamp} {self._label} {text}", markup=False, highlight=False, soft_wrap=True
            )


def _split(values: str) -> list[str]:
    return [value.strip() for value in values.split(",") if value.strip()]


def _seeds(values: str) -> list[int]:
    try:
        return [int(value) for value in _split(values)]
    except ValueError:
        raise FedloraError(f"bad --seeds {values!r}", "give integers, e.g. 0,1,2") from None


@app.callback(invoke_without_command=True)
def simulate(
    methods: Annotated[str, typer.Option(help="Comma list: local, centralized, or strategies.")] = (
        DEFAULT_METHODS
    ),
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Strategy override KEY=VALUE for all but fedavg (repeat)."),
    ] = None,
    dataset: Annotated[
        str, typer.Option(help="'icd10', 'drugreview' (needs its package) or a CSV/JSONL file.")
    ] = "icd10",
    text_column: Annotated[str, typer.Option(help="Text column of a table.")] = "text",
    label_column: Annotated[str, typer.Option(help="Label column of a table.")] = "label",
    site_column: Annotated[str | None, typer.Option(help="Site column (natural).")] = None,
    max_per_label: Annotated[int, typer.Option(help="ICD-10 rows per chapter (0: all).")] = 300,
    partition: Annotated[str, typer.Option(help="natural, dirichlet, quantity or iid.")] = (
        "dirichlet"
    ),
    alpha: Annotated[float, typer.Option(help="Dirichlet concentration.")] = 0.1,
    sites: Annotated[int, typer.Option(help="Number of sites.")] = 3,
    seeds: Annotated[str, typer.Option(help="Comma list of seeds.")] = "0",
    train_per_site: Annotated[int, typer.Option(help="Training rows per site (0: all).")] = 250,
    test_per_site: Annotated[int, typer.Option(help="Test rows per site.")] = 100,
    global_test: Annotated[int, typer.Option(help="Global test rows.")] = 200,
    test_draw: Annotated[
        str, typer.Option(help="groups (whole groups) or spread (few rows from many groups).")
    ] = "groups",
    validation: Annotated[
        int,
        typer.Option(
            min=0, help="Score on N validation rows per site instead of the test split (tuning)."
        ),
    ] = 0,
    rounds: Annotated[int, typer.Option(help="Federated rounds.")] = 10,
    local_steps: Annotated[int, typer.Option(help="Local steps per site per round.")] = 20,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 8,
    lr: Annotated[float, typer.Option(help="Local learning rate (AdamW).")] = 5e-4,
    model: Annotated[str, typer.Option(help="smollm2 or tiny.")] = "smollm2",
    rank: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha.")] = 16,
    top_layers: Annotated[int, typer.Option(help="LoRA on the top K layers (0: all).")] = 8,
    bf16: Annotated[bool, typer.Option(help="bf16 autocast (faster on AVX512-BF16).")] = False,
    personalize_steps: Annotated[
        int, typer.Option(min=0, help="Steps each site fine-tunes the final global adapter.")
    ] = 0,
    leave_one_out: Annotated[
        bool, typer.Option(help="Also federate without each site; test on the unseen site.")
    ] = False,
    dp_epsilon: Annotated[
        float | None, typer.Option(help=_DP + "target epsilon; the noise is derived for it.")
    ] = None,
    dp_noise_multiplier: Annotated[
        float | None, typer.Option(help=_DP + "noise multiplier (instead of --dp-epsilon).")
    ] = None,
    dp_delta: Annotated[float, typer.Option(help=_DP + "delta.")] = 1e-5,
    dp_clip_norm: Annotated[float, typer.Option(help=_DP + "per-example clipping norm.")] = 1.0,
    out: Annotated[Path, typer.Option(help="Result folder (reruns resume).")] = Path("runs/sim"),
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    plot: Annotated[bool, typer.Option(help="Write convergence and per-site PNGs.")] = True,
) -> None:
    """Train every method on the same partition with equal compute; print Avg/Min/H-mean."""
    from fedlora.simulation.config import SimulationConfig, method_specs, parse_overrides
    from fedlora.simulation.experiment import run_experiment

    with user_errors():
        config = SimulationConfig(
            dataset=dataset,
            text_column=text_column,
            label_column=label_column,
            site_column=site_column,
            max_per_label=max_per_label or None,
            partition=partition,
            alpha=alpha,
            num_sites=sites,
            train_per_site=train_per_site or None,
            test_per_site=test_per_site,
            global_test=global_test,
            test_draw=test_draw,
            validation_per_site=validation,
            rounds=rounds,
            local_steps=local_steps,
            batch_size=batch,
            lr=lr,
            model=model,
            rank=rank,
            lora_alpha=lora_alpha,
            top_layers=top_layers or None,
            bf16=bf16,
            personalize_steps=personalize_steps,
            leave_one_out=leave_one_out,
            dp_epsilon=dp_epsilon,
            dp_noise_multiplier=dp_noise_multiplier,
            dp_delta=dp_delta,
            dp_clip_norm=dp_clip_norm,
        )
        specs = method_specs(_split(methods), parse_overrides(set_ or []))
        seed_list = _seeds(seeds)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        extra = (TimeElapsedColumn(), TextColumn("{task.fields[detail]}"))
        with Progress(*columns, *extra, console=console, disable=json_output) as bar:
            reporter = RichProgress(bar, log_lines=json_output or not console.is_terminal)
            outcomes = run_experiment(config, specs, seed_list, out, reporter)
        results = [outcome.result for outcome in outcomes]
        _report(results, out, json_output, plot)


def _report(results: list[dict[str, Any]], out: Path, json_output: bool, plot: bool) -> None:
    from fedlora.simulation.report import print_tables, write_plots

    plots = write_plots(results, out) if plot else []
    if json_output:
        print_json({"results": results, "plots": [str(path) for path in plots]})
        return
    print_tables(results, console)
    for path in plots:
        console.print(f"plot: {path}")


if __name__ == "__main__":
    # `python -m fedlora.cli.simulate` runs this command alone, without the node's
    # dependencies (gRPC, Fabric client) that the full `fedlora` app imports.
    app()
