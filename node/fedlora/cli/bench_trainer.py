"""`fedlora bench trainer`: LocalTrainer vs a bare peft loop, and one cell of the results table.

The cell runs as its own `fedlora simulate` process, so its wall time and peak memory are
those of one trainer (one model copy, its feature cache, evaluation), not of the bench's
five model copies.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from fedlora.cli.common import console, err_console
from fedlora.errors import FedloraError

# One cell of docs/results.md (scripts/results_grid.py: COMMON, skew a0.1, method fedlora).
CELL_ARGUMENTS = (
    "--model", "smollm2", "--dataset", "icd10", "--sites", "3", "--train-per-site", "250",
    "--test-per-site", "100", "--global-test", "200", "--local-steps", "20", "--batch", "8",
    "--top-layers", "4", "--lr", "2e-3", "--partition", "dirichlet", "--alpha", "0.1",
    "--methods", "fedlora", "--seeds", "0", "--no-plot", "--json",
)  # fmt: skip
CELL_ROUNDS = 20
BUSY_WARNING = 0.10  # others' CPU share above which absolute numbers are not idle numbers


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput_report(
    model: str, steps: int, batch: int, top_layers: int, bf16: bool
) -> dict[str, Any]:
    """Every variant on the same ICD-10 batches (8 codes per chapter, seed 0), as JSON."""
    from fedlora.data import load_icd10
    from fedlora.training import prompt_format_for
    from fedlora.training.bench import measure_throughput

    corpus = load_icd10(max_per_label=8, seed=0)
    prompt = prompt_format_for(corpus.name, corpus.instruction)
    labels = len(corpus.label_names)
    measured = measure_throughput(
        model, corpus.examples, prompt, labels, steps, batch, top_layers, bf16
    )
    rows = [
        {
            "variant": row.variant,
            "steps": row.steps,
            "tokens": row.tokens,
            "seconds": round(row.seconds, 3),
            "s_per_step": round(row.seconds_per_step, 3),
            "tokens_per_s": round(row.tokens_per_second, 1),
        }
        for row in measured.rows
    ]
    share = measured.others_cpu_share
    return {
        "throughput": rows,
        "threads": measured.threads,
        "ratio_localtrainer_all_layers_vs_peft_loop": round(measured.ratio(), 3),
        "ratio_dp_sgd_vs_nonprivate_s_per_step": round(measured.private_ratio(), 3),
        "others_cpu_share": None if share is None else round(share, 3),
        "peak_rss_mib_throughput_phase": round(peak_rss_mib(), 1),
    }


@dataclass(frozen=True)
class CellRun:
    """A results-table cell run for ``rounds`` of its 20 rounds, timed from outside."""

    rounds: int
    wall_seconds: float
    round_seconds: list[float]
    steps: int
    peak_rss_mib: float

    def estimate_seconds(self, total_rounds: int = CELL_ROUNDS) -> float:
        """Measured wall time plus the missing rounds at the mean time of rounds 2.. (round 1
        also builds the feature cache, which the later rounds reuse)."""
        steady = self.round_seconds[1:] or self.round_seconds
        return self.wall_seconds + (total_rounds - self.rounds) * sum(steady) / len(steady)


def _peak_mib(pid: int) -> float:
    """A live process's peak resident memory (VmHWM) in MiB; 0 once it is gone or off Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields.get("VmHWM", "0 kB").split()[0]) / 1024


def _run_watched(command: list[str]) -> tuple[int, str, float]:
    """Run ``command``; return its exit code, stdout and peak resident memory in MiB.

    The peak is read from the child itself while it runs: getrusage(RUSAGE_CHILDREN) would
    also count the memory the child shared with this process when it was forked.
    """
    peak = 0.0
    # Progress lines (stderr) pass straight through; stdout is the JSON result.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        while True:
            try:
                stdout, _ = child.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                peak = max(peak, _peak_mib(child.pid))
    return child.returncode, stdout, peak


def run_cell(rounds: int, bf16: bool, model: str = "smollm2") -> CellRun:
    """Run ``fedlora simulate`` on the cell's settings in a child process and time it."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "fedlora.cli.simulate", *CELL_ARGUMENTS]
        command += ["--rounds", str(rounds), "--out", folder, "--model", model]
        command += ["--bf16"] if bf16 else []
        started = time.perf_counter()
        code, stdout, peak = _run_watched(command)
        wall = time.perf_counter() - started
    if code != 0:
        raise FedloraError(f"the cell's simulate run failed (exit {code})")
    result = json.loads(stdout)["results"][0]
    return CellRun(
        rounds=rounds,
        wall_seconds=wall,
        round_seconds=[float(r["seconds"]) for r in result["rounds"]],
        steps=int(result["total_steps"]),
        peak_rss_mib=peak,
    )


def cell_report(cell: CellRun) -> dict[str, Any]:
    """The cell run as JSON: measured, and extrapolated to the full 20 rounds."""
    estimate = cell.estimate_seconds()
    return {
        "rounds_run": cell.rounds,
        "steps_run": cell.steps,
        "wall_seconds": round(cell.wall_seconds, 1),
        "round_seconds": [round(s, 2) for s in cell.round_seconds],
        "estimated_seconds_20_rounds": round(estimate, 1),
        "estimated": cell.rounds < CELL_ROUNDS,
        "s_per_step_incl_evaluation": round(estimate / (cell.steps / cell.rounds * CELL_ROUNDS), 3),
        "peak_rss_mib": round(cell.peak_rss_mib, 1),
    }


def print_report(report: dict[str, Any]) -> None:
    """The human-readable form of ``fedlora bench trainer``."""
    title = f"Training throughput, {report['model']}, batch {report['batch']}"
    title += ", bf16 autocast" if report["bf16"] else ", fp32"
    table = Table(title=f"{title}, {report['threads']} threads")
    for column in ("variant", "steps", "s_per_step", "tokens_per_s"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in report["throughput"]:
        table.add_row(*(str(row[c]) for c in ("variant", "steps", "s_per_step", "tokens_per_s")))
    console.print(table)
    ratio = report["ratio_localtrainer_all_layers_vs_peft_loop"]
    console.print(f"LocalTrainer / bare peft loop (same layers, same batches): {ratio:.2f}x")
    private = report["ratio_dp_sgd_vs_nonprivate_s_per_step"]
    console.print(f"DP-SGD / non-private, s per step (top-K cached, same batches): {private:.2f}x")
    console.print(f"peak RSS, throughput phase: {report['peak_rss_mib_throughput_phase']:.0f} MiB")
    share = report["others_cpu_share"]
    if share is not None and share > BUSY_WARNING:
        err_console.print(
            f"[yellow]warning:[/] other processes used {share:.0%} of the CPUs while this ran:"
            " the ratios hold, the absolute numbers are not an idle machine's"
        )
    cell = report.get("cell")
    if cell:
        kind = "estimated from" if cell["estimated"] else "measured over"
        seconds = cell["estimated_seconds_20_rounds"]
        console.print(
            f"results-table cell (1,200 steps, top-4 LoRA): {seconds:.0f} s"
            f" ({kind} {cell['rounds_run']} rounds), peak RSS {cell['peak_rss_mib']:.0f} MiB"
        )
