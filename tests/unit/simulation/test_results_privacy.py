"""The accuracy-against-epsilon table: runs of one method are told apart by their privacy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from fedlora.simulation.paired import paired_differences

sys.path.insert(0, str(Path(__file__).parents[3] / "scripts"))
import results_privacy


def _run(seed: int, accuracy: float, epsilon: float | None) -> dict[str, Any]:
    final = {
        "avg": accuracy,
        "min": accuracy,
        "hmean": accuracy,
        "per_site": {"a": accuracy, "b": accuracy},
    }
    privacy = {} if epsilon is None else {"epsilon_target": epsilon, "noise_multiplier": 0.5}
    method = {"label": "fedlora", "strategy": None}
    return {"method": method, "seed": seed, "final": final, "rounds": [], "privacy": privacy}


def test_private_and_non_private_runs_of_one_method_become_separate_rows() -> None:
    runs = [_run(s, 0.5, None) for s in (0, 1)] + [_run(s, 0.4, 8.0) for s in (0, 1)]
    labelled = [results_privacy.relabelled(run) for run in runs]
    assert [run["method"]["label"] for run in labelled] == ["no DP"] * 2 + ["epsilon 8"] * 2
    assert runs[2]["method"]["label"] == "fedlora"  # the loaded run itself is left as it was
    (pair,) = paired_differences(labelled, results_privacy.NO_DP, "avg")
    assert pair.method == "epsilon 8" and pair.differences == pytest.approx((-10.0, -10.0))


def test_a_run_given_a_noise_multiplier_is_named_by_it() -> None:
    run = _run(0, 0.5, 1.0)
    run["privacy"]["epsilon_target"] = None
    assert results_privacy.privacy_label(run) == "noise 0.5"
