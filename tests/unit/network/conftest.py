"""Fixtures for the network unit tests: a stand-in Fabric toolchain and a free port block."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedlora.network.install import BINARIES, FABRIC_VERSION, STAMP_NAME, FabricInstall
from fedlora.network.topology import find_free_base_port

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
FAKE_TOOL = HERE / "fake_fabric_tool.py"


def _wrapper(path: Path, program: str) -> None:
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_TOOL}" {program} "$@"\n')
    path.chmod(0o755)


@pytest.fixture
def fake_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FabricInstall:
    """A complete toolchain folder whose programs are the stand-ins in fake_fabric_tool.py.

    It sits where setup_fabric.sh would put it under a private FEDLORA_CACHE, so the CLI finds
    it too. Also points FEDLORA_CHAINCODE_BIN at a stand-in chaincode server.
    """
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))
    install = FabricInstall(tmp_path / "cache" / f"fabric-{FABRIC_VERSION}")
    install.bin_dir.mkdir(parents=True)
    for name in BINARIES:
        _wrapper(install.binary(name), name)
    install.config_dir.mkdir()
    shutil.copy(SAMPLES / "core-2.5.yaml", install.config_dir / "core.yaml")
    shutil.copy(SAMPLES / "orderer-2.5.yaml", install.config_dir / "orderer.yaml")
    (install.root / STAMP_NAME).touch()
    chaincode = tmp_path / "fedlora-cc"
    _wrapper(chaincode, "chaincode")
    monkeypatch.setenv("FEDLORA_CHAINCODE_BIN", str(chaincode))
    monkeypatch.delenv("FAKE_FABRIC_FAIL", raising=False)
    return install


@pytest.fixture
def free_base_port() -> int:
    """A base port whose whole block is currently unused on 127.0.0.1."""
    return find_free_base_port()


@pytest.fixture
def network_dir(tmp_path: Path) -> Iterator[Path]:
    """Folder for a test network; whatever still runs there at the end is stopped."""
    folder = tmp_path / "net"
    yield folder
    from fedlora.network.layout import NetworkLayout
    from fedlora.network.processes import stop_all
    from fedlora.network.state import load_state

    state = load_state(NetworkLayout(folder).state_file) if folder.exists() else None
    if state is not None:
        stop_all(state, NetworkLayout(folder))
