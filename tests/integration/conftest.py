"""Fixtures for tests against a live, native Fabric 2.5.16 network.

Tests marked ``fabric`` need the toolchain from scripts/setup_fabric.sh. They are skipped only
when that toolchain is unavailable, and the skip message is the reason setup_fabric.sh
recorded in its UNAVAILABLE file. Everything else that is missing is a failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedlora.errors import FedloraError
from fedlora.network import FabricInstall, UpResult, down, locate_fabric, up
from fedlora.network.install import fabric_root, unavailable_reason
from fedlora.network.processes import chaincode_binary
from fedlora.network.topology import find_free_base_port

REPO = Path(__file__).resolve().parents[2]


def _run_setup_script() -> None:
    """Run setup_fabric.sh once when it never ran here (a cache hit costs nothing)."""
    env = {**os.environ, "FEDLORA_FABRIC_OPTIONAL": "1"}
    subprocess.run(["bash", str(REPO / "scripts/setup_fabric.sh")], env=env, check=False)


@pytest.fixture(scope="session")
def fabric_install() -> FabricInstall:
    """The cached Fabric toolchain; skips (with setup_fabric.sh's reason) when unavailable."""
    try:
        return locate_fabric()
    except FedloraError:
        pass
    if unavailable_reason() is None:
        _run_setup_script()
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"Fabric 2.5.16 binaries unavailable: {reason}")
    try:
        return locate_fabric()
    except FedloraError as error:
        pytest.fail(f"scripts/setup_fabric.sh left {fabric_root()} incomplete: {error}")


@pytest.fixture(scope="session")
def chaincode_server(fabric_install: FabricInstall) -> Path:
    """The chaincode server binary, built with scripts/build_chaincode.sh when missing."""
    binary = chaincode_binary()
    if not binary.is_file():
        script = REPO / "scripts/build_chaincode.sh"
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
        if done.returncode != 0 or not binary.is_file():
            pytest.fail(f"{script} did not produce {binary}: {done.stderr.strip()[-500:]}")
    return binary


def free_port_block(avoid: set[int] | None = None) -> int:
    """A base port whose whole block is unused on 127.0.0.1 right now."""
    return find_free_base_port(avoid)


@pytest.fixture
def free_base_port() -> int:
    """A base port for a test's own network."""
    return free_port_block()


@pytest.fixture
def network(
    fabric_install: FabricInstall, chaincode_server: Path, tmp_path: Path, free_base_port: int
) -> Iterator[UpResult]:
    """A fresh 3-org network of the test's own, purged at the end (tests that kill its
    processes, or whose node names would clash with nodes on the shared ``live_network``)."""
    folder = tmp_path / "network"
    result = up(folder, orgs=3, base_port=free_base_port, install=fabric_install)
    try:
        yield result
    finally:
        down(folder, purge=True)


@pytest.fixture(scope="session")
def live_network(
    fabric_install: FabricInstall,
    chaincode_server: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[UpResult]:
    """A running 3-org network for live tests that only need one (ledger, node, end-to-end).

    Started on first use, shared by the whole session, purged at the end.
    """
    folder = tmp_path_factory.mktemp("fabric") / "network"
    result = up(folder, orgs=3, base_port=free_port_block(), install=fabric_install)
    try:
        yield result
    finally:
        down(folder, purge=True)
