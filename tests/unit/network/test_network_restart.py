"""Stopping and starting one process of a running network, against the stand-in toolchain."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlora.errors import FedloraError
from fedlora.network import up
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.lifecycle import running_processes
from fedlora.network.restart import restart_one, start_one, stop_one
from fedlora.network.state import load_state
from fedlora.network.supervisor import is_running
from fedlora.network.topology import port_is_free


def _started_on_ledger(log: Path) -> int:
    return log.read_text().count("starting ")


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
def test_one_peer_stops_and_comes_back_on_its_ports_while_the_rest_runs(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int, kill: bool
) -> None:
    result = up(network_dir, orgs=2, base_port=free_base_port, install=fake_install)
    peer = result.state.plan.orgs[1]
    before = result.state.processes[peer.peer_name]

    stopped = stop_one(network_dir, peer.peer_name, kill=kill)

    assert stopped == before and not is_running(before)
    assert port_is_free(peer.peer_port)
    state = load_state(NetworkLayout(network_dir).state_file)
    assert state is not None
    assert sorted(running_processes(state)) == [
        "chaincode.org1",
        "chaincode.org2",
        "orderer",
        "peer0.org1",
    ]

    again = start_one(network_dir, peer.peer_name, install=fake_install)

    assert again.pid != before.pid and is_running(again)
    assert again.ports == before.ports and again.log == before.log
    assert not port_is_free(peer.peer_port)
    state = load_state(NetworkLayout(network_dir).state_file)
    assert state is not None and state.processes[peer.peer_name] == again
    assert _started_on_ledger(Path(again.log)) == 2  # the same log (and data folder), appended


def test_the_orderer_restarts_from_its_spec_and_refusals_name_the_problem(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    result = up(network_dir, orgs=1, base_port=free_base_port, install=fake_install)
    before = result.state.processes["orderer"]

    with pytest.raises(FedloraError, match="already running"):
        start_one(network_dir, "orderer", install=fake_install)
    with pytest.raises(FedloraError, match=r"no process 'peer0\.org7'"):
        start_one(network_dir, "peer0.org7", install=fake_install)

    again = restart_one(network_dir, "orderer", kill=True, outage_s=0.2, install=fake_install)

    assert not is_running(before) and is_running(again)
    stop_one(network_dir, "orderer")
    with pytest.raises(FedloraError, match=r"orderer of the network .* is not running"):
        stop_one(network_dir, "orderer")
    with pytest.raises(FedloraError, match="no network in"):
        stop_one(network_dir / "elsewhere", "orderer")
