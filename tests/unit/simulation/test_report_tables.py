"""simulate's tables: macro-F1 beside accuracy, and the majority row averaged over seeds."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from fedlora.evaluation import summarize, summary_to_dict
from fedlora.simulation.report import MAJORITY_CAPTION, print_tables


def _summary(per_site: dict[str, float]) -> dict[str, Any]:
    return summary_to_dict(summarize(per_site))


def _run(seed: int, accuracy: float, f1: float | None, majority: float | None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "method": {"label": "fedavg", "strategy": None},
        "seed": seed,
        "final": _summary({"a": accuracy, "b": accuracy}),
        "rounds": [{"summary": {"min": accuracy}}],
    }
    if f1 is not None:
        run["final_macro_f1"] = _summary({"a": f1, "b": f1})
    if majority is not None:
        accuracy_rates = _summary({"a": majority, "b": 1.0})
        run["majority_class"] = {"accuracy": accuracy_rates, "macro_f1": _summary({"a": 0.1})}
    return run


def _printed(results: list[dict[str, Any]]) -> str:
    console = Console(width=160, record=True)
    print_tables(results, console)
    return console.export_text()


def test_the_majority_row_is_the_seed_mean_of_each_sites_rate() -> None:
    # seed 0: site a 0.4, seed 1: site a 0.8 -> 60.0; site b 100.0 on both
    text = _printed([_run(0, 0.5, 0.3, 0.4), _run(1, 0.5, 0.3, 0.8)])
    majority = next(line for line in text.splitlines() if line.startswith("│ majority"))
    assert majority.endswith("│ 60.0 │ 100.0 │")  # per-site columns a, b
    assert "Final macro-F1 per site" in text
    assert text.count(MAJORITY_CAPTION) == 2


def test_runs_written_before_the_metrics_print_accuracy_alone() -> None:
    # one seed lacks the majority numbers: no row rather than a row over some seeds only
    text = _printed([_run(0, 0.5, None, 0.4), _run(1, 0.5, None, None)])
    assert "Final accuracy per site" in text
    assert "macro-F1" not in text
    assert "majority" not in text
