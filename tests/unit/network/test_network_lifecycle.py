"""up / status / down orchestration, run against the stand-in toolchain of conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlora.errors import FedloraError
from fedlora.network import down, network_status, up
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.lifecycle import running_processes
from fedlora.network.state import load_state
from fedlora.network.topology import port_is_free


def _calls(folder: Path) -> list[str]:
    return (folder / "config" / "calls.log").read_text().splitlines()


def _all_ports_free(folder: Path) -> bool:
    state = load_state(NetworkLayout(folder).state_file)
    assert state is not None
    return all(port_is_free(port) for port in state.plan.ports().values())


def test_up_deploys_in_order_and_returns_once_a_transaction_committed(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    steps: list[str] = []

    result = up(
        network_dir, orgs=2, base_port=free_base_port, report=steps.append, install=fake_install
    )

    assert not result.restarted
    assert result.ready_answer.startswith("status:200")
    assert sorted(running_processes(result.state)) == [
        "chaincode.org1",
        "chaincode.org2",
        "orderer",
        "peer0.org1",
        "peer0.org2",
    ]
    programs = [" ".join(call.split()[:3]) for call in _calls(network_dir)]
    order = [
        "cryptogen generate",
        "configtxgen -configPath",
        "orderer",
        "osnadmin channel join",
        "peer lifecycle chaincode",
        "peer chaincode invoke",
    ]
    positions = [next(i for i, p in enumerate(programs) if p.startswith(o)) for o in order]
    assert positions == sorted(positions)
    approvals = [call for call in _calls(network_dir) if "approveformyorg" in call]
    assert len(approvals) == 2
    # Each org approves its own package (its own chaincode server's address and TLS pair).
    ids = result.state.package_ids
    assert len(set(ids.values())) == 2
    # The orgs approve at once, so their calls are logged in any order.
    approved = {call.split("--package-id ")[1].split()[0] for call in approvals}
    assert approved == set(ids.values())
    assert steps[0] == "write configuration" and steps[-1] == "wait for a transaction to commit"
    # The definition is committed with every org's peer; the readiness invoke needs a majority.
    plan = result.state.plan
    commit = next(call for call in _calls(network_dir) if "chaincode commit" in call)
    assert all(f"--peerAddresses {org.peer_address}" in commit for org in plan.orgs)
    assert "--sequence 1" in commit and "--version 1.0" in commit and "--tls --cafile" in commit
    invoke = next(call for call in _calls(network_dir) if "chaincode invoke" in call)
    assert invoke.count("--peerAddresses") == 2  # majority of 2 orgs
    assert "org.hyperledger.fabric:GetMetadata" in invoke and "--waitForEvent" in invoke

    # status: every process healthy, both peers at the same height, the chaincode committed.
    report = network_status(network_dir, install=fake_install)
    assert [p["state"] for p in report["processes"]] == ["healthy"] * 5
    assert report["chaincode_version"] == "1.0"
    assert report["channel_heights"] == {"peer0.org1": 2, "peer0.org2": 2}
    assert report["organizations"][1]["admin_msp"].endswith("users/Admin@org1.fedlora.local/msp")

    # A second `up` while it runs is refused.
    with pytest.raises(FedloraError, match="already running"):
        up(network_dir, install=fake_install)


def test_down_then_up_restarts_on_the_existing_ledgers_and_purge_removes_all(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    first = up(network_dir, orgs=2, base_port=free_base_port, install=fake_install)
    ports = list(first.state.plan.ports().values())

    stopped = down(network_dir)
    assert sorted(stopped.stopped) == [
        "chaincode.org1", "chaincode.org2", "orderer", "peer0.org1", "peer0.org2",
    ]  # fmt: skip
    assert _all_ports_free(network_dir)
    assert [p["state"] for p in network_status(network_dir)["processes"]] == ["stopped"] * 5
    with pytest.raises(FedloraError, match="created with --orgs 2"):
        up(network_dir, orgs=3, install=fake_install)

    again = up(network_dir, install=fake_install)

    assert again.restarted
    assert again.state.package_ids == first.state.package_ids
    calls = _calls(network_dir)
    assert sum("cryptogen" in call for call in calls) == 1
    assert sum("channel join" in call for call in calls) == 3  # orderer + 2 peers, once
    assert network_status(network_dir, install=fake_install)["channel_heights"]["peer0.org1"] == 3

    down(network_dir, purge=True)

    assert not network_dir.exists()
    assert all(port_is_free(port) for port in ports)


def test_failed_up_stops_what_it_started_and_the_next_up_starts_clean(
    fake_install: FabricInstall,
    network_dir: Path,
    free_base_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_FABRIC_FAIL", "commit")

    with pytest.raises(FedloraError, match="cannot commit the chaincode definition"):
        up(network_dir, orgs=2, base_port=free_base_port, install=fake_install)

    assert not (network_dir / "state.json").exists()
    assert (network_dir / "logs" / "orderer.log").exists()
    assert all(port_is_free(p) for p in range(free_base_port, free_base_port + 33))
    monkeypatch.delenv("FAKE_FABRIC_FAIL")
    assert not up(network_dir, orgs=1, base_port=free_base_port, install=fake_install).restarted


def test_a_crashing_peer_fails_up_with_its_log(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    # The stand-in peer cannot serve its operations port when that port is taken mid-start.
    peer = fake_install.binary("peer")
    peer.write_text(
        "#!/bin/sh\n[ \"$1\" = node ] && { echo 'panic: ledger is corrupt'; exit 2; }\n"
        + peer.read_text().split("\n", 1)[1]
    )

    with pytest.raises(FedloraError) as raised:
        up(network_dir, orgs=1, base_port=free_base_port, install=fake_install)

    assert "peer0.org1 exited: panic: ledger is corrupt" in str(raised.value)
    assert "logs/peer0.org1.log" in str(raised.value)
    assert port_is_free(free_base_port)  # the orderer it had started is stopped again


def test_approval_is_retried_while_the_orderer_has_no_raft_leader(
    fake_install: FabricInstall,
    network_dir: Path,
    free_base_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_FABRIC_UNAVAILABLE_ONCE", "approveformyorg")

    up(network_dir, orgs=1, base_port=free_base_port, install=fake_install)

    approvals = [call for call in _calls(network_dir) if "approveformyorg" in call]
    assert len(approvals) == 2  # the refused attempt and its retry


def test_a_peer_dying_mid_deployment_is_reported_as_its_crash(
    fake_install: FabricInstall,
    network_dir: Path,
    free_base_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_CRASH_PEERS_ON_JOIN", "1")

    with pytest.raises(FedloraError) as raised:
        up(network_dir, orgs=1, base_port=free_base_port, install=fake_install)

    assert str(raised.value).startswith("peer0.org1 exited: panic: simulated crash -- see its log")
    assert all(port_is_free(p) for p in range(free_base_port, free_base_port + 13))


def test_down_purge_clears_a_folder_whose_state_file_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "net" / "data").mkdir(parents=True)
    (tmp_path / "net" / "state.json").write_text("{not json")

    with pytest.raises(FedloraError, match="unreadable"):
        down(tmp_path / "net")
    down(tmp_path / "net", purge=True)

    assert not (tmp_path / "net").exists()


def test_a_new_network_refuses_a_folder_holding_other_files(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    (network_dir / "data").mkdir(parents=True)
    (network_dir / "data" / "thesis.tex").write_text("not ours")

    with pytest.raises(FedloraError, match=r"is not empty \(data\) and holds no fedlora network"):
        up(network_dir, orgs=1, base_port=free_base_port, install=fake_install)

    assert (network_dir / "data" / "thesis.tex").read_text() == "not ours"


def test_down_without_a_network_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="no network in"):
        down(tmp_path)
