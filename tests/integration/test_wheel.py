"""The wheel carries everything `fedlora network up` needs.

Built from the checkout's files, installed into a fresh virtualenv outside the checkout (its
heavy dependencies are the ones already installed, reached through a .pth file), and run from
a folder outside the checkout: `network up` to the first committed transaction, then `network
down --purge`. Templates, defaults and the ccaas builder must come from the installed package.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedlora import __version__
from fedlora.network import FabricInstall, down

pytestmark = [pytest.mark.fabric, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
PACKAGE_DATA = [
    "fedlora/network/defaults.toml",
    "fedlora/py.typed",
]
BUILDER = ["fedlora/network/builders/ccaas/bin/" + name for name in ("detect", "build", "release")]


def _run(
    command: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def _uv() -> Path:
    """The uv that scripts/setup_python.sh links into .venv/bin."""
    beside = Path(sys.executable).parent / "uv"
    found = beside if beside.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is missing: run scripts/setup_python.sh")
    return Path(found)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fedlora's wheel, built from a copy of the checkout so the build leaves nothing in it."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "node", source / "node", ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    # Without build isolation the backend (setuptools) is the locked one already installed.
    build = [_uv(), "build", "--wheel", "--no-build-isolation", "--offline"]
    _ok(_run([*build, "--python", sys.executable, "--out-dir", out, source]))
    (built,) = out.glob("fedlora-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv outside the checkout holding the wheel and, by a .pth, the dependencies."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    _ok(_run([_uv(), "venv", "--quiet", "--python", sys.executable, venv]))
    python = venv / "bin" / "python"
    purelib = _ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]))
    # A plain path line: the folder's own .pth files (an editable fedlora) are not processed.
    dependencies = Path(str(importlib.metadata.distribution("typer").locate_file("")))
    (Path(purelib.strip()) / "_dependencies.pth").write_text(f"{dependencies}\n")
    install = [_uv(), "pip", "install", "--quiet", "--offline", "--no-deps"]
    _ok(_run([*install, "--python", python, wheel]))
    return venv


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    paths = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(p for p in paths if not p.startswith(str(REPO)))
    env.pop("FEDLORA_CHAINCODE_BIN", None)
    return {**env, **extra}


def test_wheel_holds_the_network_definition_and_an_executable_builder(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}

    assert set(PACKAGE_DATA + BUILDER) <= names
    assert all(modes[name] & 0o111 for name in BUILDER)
    assert "fedlora/__main__.py" in names
    assert not any(name.startswith(("tests/", "network/", "scripts/")) for name in names)


def test_installed_wheel_imports_from_its_venv_and_runs_as_module(
    wheel_venv: Path, outside: Path
) -> None:
    python = wheel_venv / "bin" / "python"
    probe = (
        "import fedlora, fedlora.paths; print(fedlora.__file__, fedlora.paths.source_checkout())"
    )

    where = _ok(_run([python, "-c", probe], cwd=outside, env=_clean_env()))
    as_module = _ok(_run([python, "-m", "fedlora", "version"], cwd=outside, env=_clean_env()))
    script = _ok(_run([wheel_venv / "bin" / "fedlora", "version"], cwd=outside, env=_clean_env()))

    module_file, checkout = where.split()
    assert Path(module_file).is_relative_to(wheel_venv)
    assert checkout == "None"
    assert as_module.strip() == script.strip() == __version__


def test_wheel_asks_for_the_chaincode_server_it_does_not_ship(
    wheel_venv: Path, outside: Path, fabric_install: FabricInstall, free_base_port: int
) -> None:
    # fabric_install: `up` looks for the Fabric binaries before the chaincode server.
    fedlora = wheel_venv / "bin" / "fedlora"
    up = [fedlora, "network", "up", "--dir", outside / "net", "--orgs", "1"]

    done = _run([*up, "--base-port", str(free_base_port)], cwd=outside, env=_clean_env())

    assert done.returncode == 2
    assert "FEDLORA_CHAINCODE_BIN" in done.stderr
    assert not (outside / "net" / "state.json").exists()


@pytest.fixture
def network_folder(outside: Path) -> Iterator[Path]:
    """Where the wheel's network lives; purged by the checkout's code if the test failed."""
    folder = outside / "net"
    yield folder
    if (folder / "state.json").exists():
        down(folder, purge=True)


def test_wheel_brings_a_network_up_to_its_first_transaction_and_purges_it(
    wheel_venv: Path,
    outside: Path,
    network_folder: Path,
    chaincode_server: Path,
    free_base_port: int,
) -> None:
    fedlora = wheel_venv / "bin" / "fedlora"
    env = _clean_env(FEDLORA_CHAINCODE_BIN=str(chaincode_server))
    where = ["--dir", network_folder]

    up = _run(
        [fedlora, "network", "up", *where, "--orgs", "1", "--base-port", str(free_base_port)],
        cwd=outside,
        env=env,
    )
    builder = network_folder / "config" / "builders" / "ccaas" / "bin" / "release"
    had_builder = builder.is_file() and builder.stat().st_mode & 0o111
    purge = _run([fedlora, "network", "down", *where, "--purge"], cwd=outside, env=env)

    assert "network is up" in _ok(up)
    assert had_builder
    _ok(purge)
    assert not (network_folder / "state.json").exists()
