"""`fedlora simulate` with DP-SGD: the noise derived for a target epsilon, recorded per site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.simulation.test_simulate import _arguments, table
from typer.testing import CliRunner

from fedlora.cli.simulate import app
from fedlora.simulation.config import SimulationConfig
from fedlora.training.dp import epsilon_spent

__all__ = ["table"]  # the CSV fixture, shared with test_simulate


def _run(table: Path, out: Path, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    arguments = _arguments(table, out, "--json", "--no-plot", *extra)
    arguments[arguments.index("--methods") + 1] = "fedavg,centralized"
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    runs: list[dict] = json.loads(result.stdout)["results"]  # type: ignore[type-arg]
    return runs


def test_a_target_epsilon_gives_the_noise_that_spends_it_and_is_recorded(
    table: Path, tmp_path: Path
) -> None:
    fedavg, centralized = _run(table, tmp_path, "--dp-epsilon", "50", "--dp-clip-norm", "0.5")
    privacy = fedavg["privacy"]
    # 2 sites of 12 examples, batch 4: rate 1/3; 2 rounds of 2 steps
    assert privacy["sample_rate"] == {site: pytest.approx(1 / 3) for site in fedavg["sites"]}
    assert privacy["steps_per_site"] == 4 and privacy["clip_norm"] == 0.5
    sigma = privacy["noise_multiplier"]
    assert sigma > 0
    for spent in privacy["epsilon_spent"].values():
        assert 49 < spent <= 50
        assert spent == pytest.approx(epsilon_spent([(sigma, 1 / 3, 4)], 1e-5))
    assert fedavg["config"]["dp_epsilon"] == 50
    pooled = centralized["privacy"]["epsilon_spent"]["centralized (pooled)"]
    assert pooled == pytest.approx(epsilon_spent([(sigma, 4 / 24, 8)], 1e-5))


def test_a_given_noise_multiplier_is_used_as_is(table: Path, tmp_path: Path) -> None:
    fedavg, _ = _run(table, tmp_path, "--dp-noise-multiplier", "2.0")
    assert fedavg["privacy"]["noise_multiplier"] == 2.0
    assert fedavg["privacy"]["epsilon_target"] is None


def test_dp_changes_the_config_digest_and_no_dp_keeps_the_old_one() -> None:
    plain = SimulationConfig()
    assert SimulationConfig(dp_delta=1e-6).digest() == plain.digest()  # no DP: dp_ fields unused
    assert SimulationConfig(dp_epsilon=3.0).digest() != plain.digest()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dp-epsilon", "3", "--dp-noise-multiplier", "1"], "not both"),
        (["--dp-epsilon", "-1"], "dp_epsilon must be a finite number > 0"),
        (["--dp-epsilon", "3", "--dp-delta", "2"], "dp_delta must be in (0, 1)"),
    ],
)
def test_bad_dp_options_are_one_line_and_exit_2(
    table: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, [*_arguments(table, tmp_path), *extra])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
