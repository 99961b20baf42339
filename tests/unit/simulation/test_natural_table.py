"""A user's own table through `fedlora simulate --site-column`: every site kept, the small one
stated, macro-F1 and the majority-class rate beside accuracy (tiny model, end to end)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedlora.cli.simulate import app
from fedlora.simulation.report import MAJORITY_CAPTION
from fedlora.simulation.spread import run_metrics

# Skewed labels per hospital; "clinic" is small (8 rows < 2 x test_per_site=6).
SITES = {"north": (30, ["fracture"] * 4 + ["tumour"]), "south": (30, ["pregnancy", "tumour"])}
SITES["clinic"] = (8, ["fracture", "pregnancy"])


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "hospitals.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["note", "diagnosis", "hospital"])
        for site, (count, cycle) in SITES.items():
            for index in range(count):
                label = cycle[index % len(cycle)]
                writer.writerow([f"{site} patient {index} with {label}", label, site])
    return path


def _arguments(table: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--model", "tiny", "--dataset", str(table), "--text-column", "note",
        "--label-column", "diagnosis", "--site-column", "hospital", "--partition", "natural",
        "--sites", "3", "--train-per-site", "0", "--test-per-site", "6", "--global-test", "0",
        "--rounds", "1", "--local-steps", "2", "--batch", "4", "--lr", "1e-2",
        "--top-layers", "1", "--methods", "local,fedavg", "--out", str(out), "--no-plot", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def results(table: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, _arguments(table, out, "--json"))
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["results"])


def test_every_site_is_kept_and_the_small_one_is_stated(results: list[dict]) -> None:
    for run in results:
        assert set(run["final"]["per_site"]) == {"clinic", "north", "south"}
        assert run["split_sizes"]["clinic"] == {"train": 4, "test": 4}
        assert run["split_sizes"]["north"]["test"] == 6
        assert run["partition_notes"] == [
            "site clinic holds 8 rows, fewer than 2 x test_per_client=6: its test split has "
            "4 rows, half of them"
        ]


def test_macro_f1_is_recorded_per_site_and_summarized_like_accuracy(results: list[dict]) -> None:
    for run in results:
        f1 = run["final_macro_f1"]
        assert set(f1["per_site"]) == {"clinic", "north", "south"}
        assert all(0.0 <= value <= 1.0 for value in f1["per_site"].values())
        assert f1["min"] == min(f1["per_site"].values())
        assert run_metrics(run)["f1_avg"] == pytest.approx(100 * f1["avg"])
    fedavg = next(run for run in results if run["method"]["label"] == "fedavg")
    assert fedavg["final_macro_f1"]["per_site"] == fedavg["rounds"][-1]["macro_f1"]


def test_the_majority_class_rate_comes_from_each_sites_training_split(
    results: list[dict],
) -> None:
    # north: 24 fracture, 6 tumour; its 6 test rows follow that mix (5 : 1) and it trains on
    # 19 : 5, so the constant answer "fracture" is right 5 times in 6; its macro-F1 is
    # (F1 fracture 10/11 + F1 tumour 0) / 2
    majority = results[0]["majority_class"]
    assert set(majority["accuracy"]["per_site"]) == {"clinic", "north", "south"}
    assert majority["accuracy"]["per_site"]["north"] == pytest.approx(5 / 6)
    assert majority["macro_f1"]["per_site"]["north"] == pytest.approx(10 / 11 / 2)
    assert results[1]["majority_class"] == majority  # the partition's, not the method's


def test_the_tables_show_macro_f1_and_the_majority_row(table: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _arguments(table, tmp_path))
    assert result.exit_code == 0, result.output
    assert "Final macro-F1 per site" in result.output
    assert "\n│ majority " in result.output
    assert result.output.count(MAJORITY_CAPTION) == 2  # under accuracy and under macro-F1
    assert "site clinic holds 8 rows" in result.output


def test_the_spread_test_draw_is_an_option_recorded_in_the_run(table: Path, tmp_path: Path) -> None:
    arguments = _arguments(table, tmp_path, "--json", "--test-draw", "spread")
    arguments[arguments.index("--methods") + 1] = "fedavg"
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["results"]
    assert run["config"]["test_draw"] == "spread"
    assert run["split_sizes"]["north"]["test"] == 6
    bad = CliRunner().invoke(app, [*arguments, "--test-draw", "few"])
    assert bad.exit_code == 2 and "unknown test draw 'few'" in bad.output
