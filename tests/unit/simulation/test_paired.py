"""Paired differences over seeds, and methods told apart by all their parameters."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from fedlora.simulation import experiment
from fedlora.simulation.config import SimulationConfig, method_specs
from fedlora.simulation.keys import group_by_method
from fedlora.simulation.paired import (
    PairedDifference,
    paired_differences,
    render_paired_markdown,
    t_975,
)
from fedlora.simulation.spread import seed_spread


def _run(label: str, seed: int, accuracy: float, **strategy: Any) -> dict[str, Any]:
    per_site = {"a": accuracy, "b": accuracy}
    final = {"avg": accuracy, "min": accuracy, "hmean": accuracy, "per_site": per_site}
    method = {"label": label, "strategy": strategy or None}
    return {"method": method, "seed": seed, "final": final, "rounds": []}


def test_differences_are_taken_seed_by_seed_with_a_t_interval() -> None:
    runs = [_run("fedavg", s, a) for s, a in enumerate((0.50, 0.40, 0.60))]
    runs += [_run("fedlora", s, a) for s, a in enumerate((0.55, 0.48, 0.61))]
    (pair,) = paired_differences(runs, "fedavg", "avg")
    assert pair.seeds == (0, 1, 2) and pair.differences == pytest.approx((5.0, 8.0, 1.0))
    assert pair.mean == pytest.approx(14 / 3)
    # sample sd of (5, 8, 1) is sqrt(37/3); t(2) = 4.303
    assert pair.half_width == pytest.approx(4.303 * math.sqrt(37 / 3) / math.sqrt(3))
    assert pair.signs == "+++"
    assert "| fedlora | fedavg | Avg | +4.7 [" in render_paired_markdown([pair])


def test_personalized_adapters_pair_with_the_baselines_own_site_numbers() -> None:
    local = [_run("local", s, a) for s, a in enumerate((0.60, 0.70))]
    federated = [_run("fedlora", s, 0.5) for s in range(2)]
    for run, personal in zip(federated, (0.65, 0.68), strict=True):
        run["personalized"] = {"avg": personal, "min": personal - 0.1}
    (pair,) = paired_differences(local + federated, "local", "pers_avg", "avg")
    assert pair.differences == pytest.approx((5.0, -2.0)) and pair.signs == "+-"
    (worst,) = paired_differences(local + federated, "local", "pers_min", "min")
    assert worst.differences == pytest.approx((-5.0, -12.0))
    assert "| Personalized Avg vs Avg | +1.5 [" in render_paired_markdown([pair])


def test_only_seeds_both_methods_ran_are_paired_and_one_seed_has_no_interval() -> None:
    runs = [_run("local", 0, 0.5), _run("local", 1, 0.5), _run("fedavg", 1, 0.4)]
    (pair,) = paired_differences(runs, "local", "min")
    assert pair.seeds == (1,) and pair.signs == "-"
    assert math.isinf(pair.half_width)


def test_t_quantiles_are_conservative_between_rows() -> None:
    assert t_975(4) == pytest.approx(2.776)
    assert t_975(11) == t_975(10) > t_975(12)
    assert t_975(1000) == pytest.approx(1.96)


def test_methods_that_share_a_label_but_not_their_parameters_are_kept_apart() -> None:
    runs = [_run("fedlora", 0, 0.5, proximal_mu=0.01), _run("fedlora", 0, 0.7, proximal_mu=0.0)]
    grouped = group_by_method(runs)
    assert len(grouped) == 2 and all(name.startswith("fedlora [") for name in grouped)
    assert sorted(s["avg"].mean for s in seed_spread(runs).values()) == pytest.approx([50, 70])


def test_result_files_are_keyed_by_every_strategy_parameter(tmp_path: Path) -> None:
    config = SimulationConfig()
    (preset,) = method_specs(["fedlora"], {})
    (changed,) = method_specs(["fedlora"], {"proximal_mu": 0.5})
    relabelled = type(changed)(preset.label, changed.strategy)  # same label, other parameters
    paths = {experiment.result_path(tmp_path, config, spec, 0) for spec in (preset, relabelled)}
    assert len(paths) == 2


def test_a_difference_of_float_rounding_is_level() -> None:
    pair = PairedDifference("m", "b", "avg", (0, 1, 2), (1e-14, -1e-13, 0.5))
    assert pair.signs == "==+"
