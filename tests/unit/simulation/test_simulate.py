"""`fedlora simulate` end to end on the tiny model: results, resume, equal compute, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fedlora.simulation.experiment as experiment
from fedlora.cli.simulate import app
from fedlora.simulation.config import SimulationConfig, method_specs
from fedlora.simulation.spread import run_metrics
from fedlora.training import default_device

METHODS = ["local", "fedavg", "fedlora", "ffa", "centralized"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-label CSV big enough for 2 sites with small splits."""
    path = tmp_path_factory.mktemp("data") / "notes.csv"
    words = ("fracture", "pregnancy", "tumour")
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "label"])
        for index in range(72):
            writer.writerow([f"patient {index} with {words[index % 3]}", words[index % 3]])
    return path


def _arguments(table: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--model", "tiny", "--dataset", str(table), "--partition", "iid", "--sites", "2",
        "--train-per-site", "12", "--test-per-site", "6", "--global-test", "6",
        "--rounds", "2", "--local-steps", "2", "--batch", "4", "--lr", "1e-2",
        "--top-layers", "1", "--methods", ",".join(METHODS), "--out", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def first_run(table: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, _arguments(table, out, "--json"))
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_simulate_writes_one_result_per_method_with_every_round(first_run: tuple) -> None:
    out, payload = first_run
    files = sorted(out.glob("*.json"))
    assert len(files) == len(METHODS)
    by_label = {r["method"]["label"]: r for r in payload["results"]}
    assert sorted(by_label) == sorted(METHODS)
    for result in by_label.values():
        assert len(result["rounds"]) == 2
        assert set(result["final"]["per_site"]) == {"client-0", "client-1"}
        assert all(0.0 <= v <= 1.0 for v in result["final"]["per_site"].values())
    assert set(by_label["local"]["matrix"]) == {"client-0", "client-1"}
    assert "mean" in by_label["local"]["cross"]
    assert (out / "convergence.png").stat().st_size > 0
    assert (out / "sites.png").stat().st_size > 0


def test_every_method_gets_the_same_total_steps(first_run: tuple) -> None:
    _, payload = first_run
    steps = {r["method"]["label"]: r["total_steps"] for r in payload["results"]}
    assert set(steps.values()) == {2 * 2 * 2}, steps  # rounds x local steps x sites


def test_federated_rounds_record_bytes_and_ffa_sends_less(first_run: tuple) -> None:
    _, payload = first_run
    by_label = {r["method"]["label"]: r for r in payload["results"]}
    fedavg = by_label["fedavg"]["rounds"][0]["bytes"]["uploads"]
    ffa = by_label["ffa"]["rounds"][0]["bytes"]["uploads"]
    assert fedavg > 0
    assert ffa < 0.75 * fedavg  # FFA ships lora_B only


def test_second_invocation_resumes_without_training(
    first_run: tuple, table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, payload = first_run
    before = {path: path.stat().st_mtime_ns for path in out.glob("*.json")}

    def refuse(*_: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(experiment, "run_method", refuse)
    result = CliRunner().invoke(app, _arguments(table, out, "--json", "--no-plot"))
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)["results"]
    assert [r["final"] for r in again] == [r["final"] for r in payload["results"]]
    assert {path: path.stat().st_mtime_ns for path in out.glob("*.json")} == before


def test_a_changed_config_is_not_mistaken_for_a_finished_run(tmp_path: Path) -> None:
    specs = method_specs(["fedavg"], {})
    first = experiment.result_path(tmp_path, SimulationConfig(rounds=2), specs[0], 0)
    second = experiment.result_path(tmp_path, SimulationConfig(rounds=3), specs[0], 0)
    ablation = method_specs(["fedlora"], {"lora_mode": "fedit"})[0]
    assert first != second
    assert ablation.label == "fedlora+lora_mode=fedit"
    assert ablation.strategy is not None and ablation.strategy.lora_mode == "fedit"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "bogus"], "unknown method"),
        (["--set", "nonsense"], "bad --set"),
        (["--set", "momentum=lots"], "needs a number"),
        (["--rounds", "0"], "rounds must be >= 1"),
        (["--seeds", "x"], "bad --seeds"),
        (["--model", "gpt9"], "unknown model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    table: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, [*_arguments(table, tmp_path), *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_dataset_file_is_reported(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _arguments(tmp_path / "absent.csv", tmp_path))
    assert result.exit_code == 2
    assert "not found" in result.output


def test_several_seeds_print_mean_and_spread_per_method(table: Path, tmp_path: Path) -> None:
    arguments = _arguments(table, tmp_path, "--no-plot")
    arguments[arguments.index("--methods") + 1] = "fedavg"
    result = CliRunner().invoke(app, [*arguments, "--seeds", "0,1"])
    assert result.exit_code == 0, result.output
    assert "Mean ± std over seeds" in result.output
    files = sorted(path.name for path in tmp_path.glob("*.json"))
    assert [name.rsplit("__", 1)[1] for name in files] == ["seed0.json", "seed1.json"]
    devices = {json.loads(path.read_text())["device"] for path in tmp_path.glob("*.json")}
    assert devices == {default_device()}


def test_json_output_sends_progress_lines_to_stderr(table: Path, tmp_path: Path) -> None:
    # Prepare: one federated method, 2 rounds x 2 sites = 4 site-rounds
    arguments = _arguments(table, tmp_path, "--json", "--no-plot")
    arguments[arguments.index("--methods") + 1] = "fedavg"
    # Execute
    result = CliRunner().invoke(app, arguments)
    # Assert: stdout is the JSON document alone, stderr tells how far the run is
    assert result.exit_code == 0, result.output
    assert [r["method"]["label"] for r in json.loads(result.stdout)["results"]] == ["fedavg"]
    lines = result.stderr.splitlines()
    assert any("fedavg started, 4 site-rounds" in line for line in lines), lines
    assert any("fedavg 4/4 client-1 round 2" in line and "s left" in line for line in lines)


def test_personalization_fine_tunes_the_global_adapter_at_each_site(
    table: Path, tmp_path: Path
) -> None:
    # Prepare: fedavg with 3 personalization steps per site after the last round
    arguments = _arguments(table, tmp_path, "--json", "--no-plot", "--personalize-steps", "3")
    arguments[arguments.index("--methods") + 1] = "fedavg,local"
    # Execute
    result = CliRunner().invoke(app, arguments)
    # Assert: the federated run carries per-site personalized accuracies and paid the steps;
    # the baseline has none, and the global model's numbers are those of the last round
    assert result.exit_code == 0, result.output
    fedavg, local = json.loads(result.stdout)["results"]
    personalized = fedavg["personalized"]
    assert set(personalized["per_site"]) == set(fedavg["final"]["per_site"])
    assert set(fedavg["personalized_macro_f1"]["per_site"]) == set(personalized["per_site"])
    assert fedavg["total_steps"] == local["total_steps"] + 2 * 3
    assert "personalized" not in local
    assert fedavg["final"] == fedavg["rounds"][-1]["summary"]


def test_leave_one_out_tests_each_site_on_a_model_trained_without_it(
    table: Path, tmp_path: Path
) -> None:
    # Prepare: fedavg and local over 2 sites, with the leave-one-site-out test
    arguments = _arguments(table, tmp_path, "--json", "--no-plot", "--leave-one-out")
    arguments[arguments.index("--methods") + 1] = "fedavg,local"
    # Execute
    result = CliRunner().invoke(app, arguments)
    # Assert: one unseen-site accuracy per site; the extra runs are not counted as training
    assert result.exit_code == 0, result.output
    fedavg, local = json.loads(result.stdout)["results"]
    assert set(fedavg["unseen_site"]["per_site"]) == set(fedavg["final"]["per_site"])
    assert set(fedavg["unseen_site_macro_f1"]["per_site"]) == set(fedavg["final"]["per_site"])
    assert fedavg["total_steps"] == local["total_steps"]
    assert "Unseen site" not in result.stdout  # JSON only on stdout
    metrics = [run_metrics(run) for run in (fedavg, local)]
    assert metrics[0]["unseen"] == pytest.approx(100 * fedavg["unseen_site"]["avg"])
    assert metrics[1]["unseen"] == pytest.approx(metrics[1]["off_site"])


def test_the_same_seed_run_twice_on_cpu_gives_the_same_numbers(table: Path, tmp_path: Path) -> None:
    runs = []
    for folder in ("first", "second"):  # two folders: the second cannot resume the first
        arguments = _arguments(table, tmp_path / folder, "--json", "--no-plot")
        arguments[arguments.index("--methods") + 1] = "fedlora"
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        runs.append(json.loads(result.stdout)["results"][0])
    first, second = runs
    assert [r["accuracy"] for r in first["rounds"]] == [r["accuracy"] for r in second["rounds"]]
    assert [r["loss"] for r in first["rounds"]] == [r["loss"] for r in second["rounds"]]
