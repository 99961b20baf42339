"""Mean and spread over seeds: worst site per seed first, off-site accuracy, Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from fedlora.simulation.spread import (
    off_site_accuracy,
    render_markdown,
    run_metrics,
    seed_spread,
)


def _run(label: str, seed: int, per_site: dict[str, float], **extra: Any) -> dict[str, Any]:
    values = list(per_site.values())
    final = {
        "avg": sum(values) / len(values),
        "min": min(values),
        "hmean": len(values) / sum(1 / v for v in values),
        "per_site": per_site,
    }
    rounds = [{"summary": {"min": m}} for m in extra.pop("round_mins", [])]
    return {"method": {"label": label}, "seed": seed, "final": final, "rounds": rounds, **extra}


def test_worst_site_is_taken_per_seed_before_averaging() -> None:
    # Each seed has a different worst site; averaging per site first would report 0.6.
    runs = [
        _run("fedavg", 0, {"a": 0.2, "b": 1.0}),
        _run("fedavg", 1, {"a": 1.0, "b": 0.2}),
    ]
    spread = seed_spread(runs)["fedavg"]
    assert spread["min"].mean == pytest.approx(20.0)
    assert spread["min"].std == pytest.approx(0.0)
    assert spread["avg"].mean == pytest.approx(60.0)


def test_spread_is_the_sample_standard_deviation() -> None:
    runs = [_run("m", seed, {"a": value, "b": value}) for seed, value in enumerate((0.4, 0.6))]
    spread = seed_spread(runs)["m"]["avg"]
    assert (spread.mean, spread.count) == (pytest.approx(50.0), 2)
    assert spread.std == pytest.approx(14.142, abs=1e-3)
    assert spread.render() == "50.0 ± 14.1"


def test_off_site_accuracy_of_a_shared_model_excludes_each_sites_own_split() -> None:
    run = _run("fedavg", 0, {"a": 0.9, "b": 0.3, "c": 0.6})
    # a sees (0.3+0.6)/2, b (0.9+0.6)/2, c (0.9+0.3)/2 -> mean 0.6
    assert off_site_accuracy(run) == pytest.approx(60.0)


def test_off_site_accuracy_of_local_models_comes_from_the_cross_matrix() -> None:
    run = _run("local", 0, {"a": 0.9, "b": 0.8}, cross={"mean": 0.07})
    assert off_site_accuracy(run) == pytest.approx(7.0)


def test_metrics_include_global_test_and_last_rounds_only_when_measured() -> None:
    local = run_metrics(_run("local", 0, {"a": 0.5, "b": 0.5}, cross={"mean": 0.1}))
    assert "global" not in local and "last3_min" not in local
    shared = run_metrics(
        _run(
            "f", 0, {"a": 0.5, "b": 0.7}, global_test_accuracy=0.55, round_mins=[0.1, 0.4, 0.5, 0.6]
        )
    )
    assert shared["global"] == pytest.approx(55.0)
    assert shared["last3_min"] == pytest.approx(50.0)


def test_markdown_has_a_row_per_method_and_dashes_for_missing_metrics() -> None:
    runs = [
        _run("local", 0, {"a": 0.5, "b": 0.7}, cross={"mean": 0.1}),
        _run("fedavg", 0, {"a": 0.5, "b": 0.7}, global_test_accuracy=0.5, round_mins=[0.5]),
    ]
    table = render_markdown(seed_spread(runs)).splitlines()
    assert table[0].startswith("| method | seeds | Avg |")
    local_cells = [cell.strip() for cell in table[2].strip("|").split("|")]
    fedavg_cells = [cell.strip() for cell in table[3].strip("|").split("|")]
    assert local_cells[:4] == ["local", "1", "60.0", "50.0"] and local_cells.count("-") == 2
    assert fedavg_cells[:4] == ["fedavg", "1", "60.0", "50.0"] and "-" not in fedavg_cells


def test_macro_f1_and_the_majority_class_rate_are_columns_when_recorded() -> None:
    # Prepare: two seeds of one method, each with its macro-F1 and majority-class summaries
    runs = [
        _run(
            "fedavg",
            seed,
            {"a": 0.8, "b": 0.6},
            final_macro_f1={"avg": f1_avg, "min": f1_min},
            majority_class={"accuracy": {"avg": 0.7, "min": maj_min}},
        )
        for seed, f1_avg, f1_min, maj_min in ((0, 0.5, 0.2, 0.6), (1, 0.3, 0.2, 0.4))
    ]
    # Execute
    spread = seed_spread(runs)["fedavg"]
    table = render_markdown(seed_spread(runs)).splitlines()
    # Assert: in percent, worst site per seed; old runs without them get no such columns
    assert spread["f1_avg"].mean == pytest.approx(40.0)
    assert spread["f1_min"].mean == pytest.approx(20.0)
    assert spread["maj_avg"].mean == pytest.approx(70.0)
    assert spread["maj_min"].mean == pytest.approx(50.0)
    assert "| Macro-F1 Avg | Macro-F1 Min | Majority class Avg | Majority class Min |" in table[0]
    assert "Macro-F1" not in render_markdown(seed_spread([_run("old", 0, {"a": 0.5, "b": 0.5})]))
