"""The import contracts in pyproject.toml catch the imports the design forbids.

Each probe adds one forbidden import to a copy of the package and runs import-linter on the
copy: the contract that names the rule must then be broken. A contract that stays kept under
its probe does not enforce the rule it names (as happened when the torch contract checked only
direct imports: the ledger could import artifacts, and through it torch).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = ROOT / "node" / "fedlora"
CONTRACT_IDS = {
    contract["id"]
    for contract in tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
}


@dataclass(frozen=True)
class Probe:
    """One import the design forbids, and the contract that must refuse it."""

    module: str  # file under fedlora/ that gains the import
    statement: str
    contract: str  # the contract's id in pyproject.toml

    def __str__(self) -> str:
        return f"{self.module}: {self.statement}"


PROBES = [
    # artifacts imports torch, which the ledger must never load
    Probe("ledger/gateway.py", "import fedlora.artifacts", "no-torch"),
    Probe("transport/client.py", "import fedlora.aggregation", "transport"),
    # a root module importing a composition root is an upward import
    Probe("config.py", "import fedlora.daemon.service", "layers"),
    Probe("simulation/runner.py", "import peft", "peft-in-training"),
]


def lint_imports(package_parent: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """Run import-linter with pyproject.toml's contracts on the package under ``package_parent``."""
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    command = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run(
        [sys.executable, "-c", command, "--config", str(PYPROJECT), "--no-cache", *selected],
        cwd=package_parent,
        env={**os.environ, "PYTHONPATH": str(package_parent)},  # the copy, not the checkout
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_package(target: Path) -> Path:
    shutil.copytree(PACKAGE, target / "fedlora", ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_package(tmp_path_factory.mktemp("pristine"))


def test_every_probed_contract_exists() -> None:
    assert {probe.contract for probe in PROBES} <= CONTRACT_IDS


def test_the_package_as_it_is_keeps_every_contract(pristine: Path) -> None:
    result = lint_imports(pristine)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("probe", PROBES, ids=str)
def test_a_forbidden_import_breaks_its_contract(
    probe: Probe, pristine: Path, tmp_path: Path
) -> None:
    probed = tmp_path / "probed"
    shutil.copytree(pristine, probed)
    with (probed / "fedlora" / probe.module).open("a", encoding="utf-8") as module:
        module.write(f"\n{probe.statement}\n")

    result = lint_imports(probed, probe.contract)

    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert "Contracts: 0 kept, 1 broken." in report, report
