"""PeerCli: who signs, which peers endorse, how results and failures are read (stand-in peer)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.peer_cli import (
    PeerCli,
    majority_with,
    parse_invoke_result,
    rejection_code,
)
from fedlora.network.tools import ToolError
from fedlora.network.topology import NetworkDefaults, NetworkPlan, plan_network

# What `peer chaincode invoke --waitForEvent` printed on a live 2.5.16 network (colours kept).
LIVE_INVOKE_OUTPUT = (
    "\x1b[34m2026-11-29 10:19:52.112 UTC 0001 INFO\x1b[0m [chaincodeCmd] \x1b[34;1mClientWait"
    "\x1b[0m -> txid [6179b7e2] committed with status (VALID) at 127.0.0.1:41220\n"
    "\x1b[34m2026-11-29 10:19:52.112 UTC 0003 INFO\x1b[0m [chaincodeCmd] \x1b[34;1m"
    "chaincodeInvokeOrQuery\x1b[0m -> Chaincode invoke successful. result: status:200 "
    'payload:"{\\"endpoint\\":\\"127.0.0.1:7000\\",\\"nodeId\\":\\"Org1MSP/User1\\"}" \n'
)
LIVE_REJECTION_OUTPUT = (
    "Error: endorsement failure during invoke. response: status:500 "
    'message:"[ALREADY_EXISTS] node Org1MSP/User1 is already registered (active)" \n'
)


@pytest.fixture
def plan(free_base_port: int) -> NetworkPlan:
    return plan_network(3, free_base_port, "fedlora", NetworkDefaults())


@pytest.fixture
def layout(tmp_path: Path) -> NetworkLayout:
    layout = NetworkLayout(tmp_path / "net")
    layout.config_dir.mkdir(parents=True)  # the stand-in peer logs its calls there
    return layout


@pytest.fixture
def listening_peers(plan: NetworkPlan) -> Iterator[None]:
    """The stand-in `peer` refuses to run unless CORE_PEER_ADDRESS accepts connections."""
    sockets = []
    for org in plan.orgs:
        listener = socket.socket()
        listener.bind(("127.0.0.1", org.peer_port))
        listener.listen()
        sockets.append(listener)
    yield
    for listener in sockets:
        listener.close()


def _calls(layout: NetworkLayout) -> list[list[str]]:
    lines = (layout.config_dir / "calls.log").read_text().splitlines()
    return [line.split(" ") for line in lines]


def _flag_values(call: list[str], flag: str) -> list[str]:
    return [call[i + 1] for i, arg in enumerate(call) if arg == flag]


def test_endorsers_are_the_callers_org_and_the_next_ones_a_strict_majority() -> None:
    # Prepare
    three = plan_network(3, 41000, "fedlora", NetworkDefaults())
    four = plan_network(4, 41000, "fedlora", NetworkDefaults())
    # Execute / Assert
    assert [o.name for o in majority_with(three, three.orgs[0])] == ["Org1", "Org2"]
    assert [o.name for o in majority_with(three, three.orgs[2])] == ["Org3", "Org1"]
    assert [o.name for o in majority_with(four, four.orgs[1])] == ["Org2", "Org3", "Org4"]


def test_the_invoke_result_is_read_from_the_clis_protobuf_text_line() -> None:
    result = parse_invoke_result(LIVE_INVOKE_OUTPUT, "invoke RegisterNode")
    assert result.status == 200
    assert result.json() == {"endpoint": "127.0.0.1:7000", "nodeId": "Org1MSP/User1"}
    assert result.line.startswith('status:200 payload:"{')


def test_an_invoke_without_a_result_line_is_an_error() -> None:
    with pytest.raises(ToolError, match="printed no invoke result"):
        parse_invoke_result("INFO committed with status (VALID)\n", "invoke RegisterNode")


def test_a_contract_rejection_is_recognised_by_its_code() -> None:
    assert rejection_code(ToolError("x", "", LIVE_REJECTION_OUTPUT)) == "ALREADY_EXISTS"
    assert rejection_code(ToolError("x", "", "Error: failed to connect")) is None


def test_calls_sign_as_the_given_msp_against_the_orgs_own_peer(
    plan: NetworkPlan, layout: NetworkLayout, tmp_path: Path
) -> None:
    org = plan.orgs[1]
    env = PeerCli(
        plan, layout, FabricInstall(tmp_path), org, tmp_path / "node" / "msp"
    ).environment()
    assert env["CORE_PEER_LOCALMSPID"] == "Org2MSP"
    assert env["CORE_PEER_MSPCONFIGPATH"] == str(tmp_path / "node" / "msp")
    assert env["CORE_PEER_ADDRESS"] == org.peer_address
    assert env["CORE_PEER_TLS_ROOTCERT_FILE"] == str(layout.peer_tls_ca(org))
    admin = PeerCli.admin(plan, layout, FabricInstall(tmp_path), org).environment()
    assert admin["CORE_PEER_MSPCONFIGPATH"] == str(layout.admin_msp(org))


@pytest.mark.usefixtures("listening_peers")
def test_invoke_is_endorsed_by_a_majority_ordered_and_awaited(
    fake_install: FabricInstall, plan: NetworkPlan, layout: NetworkLayout
) -> None:
    # Prepare
    cli = PeerCli(plan, layout, fake_install, plan.orgs[2], layout.user_msp(plan.orgs[2]))
    # Execute
    result = cli.invoke("SubmitUpdate", "s1", "1")
    answer = cli.query_json("GetRound", "s1", "1")
    # Assert
    invoke, query = _calls(layout)
    assert result.status == 200 and result.json() == {}
    assert _flag_values(invoke, "--peerAddresses") == [
        plan.orgs[2].peer_address,
        plan.orgs[0].peer_address,
    ]
    assert _flag_values(invoke, "-o") == [plan.orderer.address] and "--waitForEvent" in invoke
    assert json.loads(invoke[invoke.index("-c") + 1]) == {
        "function": "SubmitUpdate",
        "Args": ["s1", "1"],
    }
    assert query[:3] == ["peer", "chaincode", "query"] and "--peerAddresses" not in query
    assert answer == {"contracts": {"fedlora": {}}}


@pytest.mark.usefixtures("listening_peers")
def test_a_failed_call_is_one_line_and_warm_up_failures_are_retried(
    fake_install: FabricInstall,
    plan: NetworkPlan,
    layout: NetworkLayout,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = PeerCli.admin(plan, layout, fake_install, plan.orgs[0])
    monkeypatch.setenv("FAKE_FABRIC_FAIL", "query")
    with pytest.raises(ToolError) as failed:
        cli.query("ListNodes")
    assert "\n" not in str(failed.value) and "injected failure of query" in str(failed.value)
    monkeypatch.delenv("FAKE_FABRIC_FAIL")
    monkeypatch.setenv("FAKE_FABRIC_UNAVAILABLE_ONCE", "invoke")
    assert cli.invoke("GetMetadata", warmup_s=10.0).status == 200
    assert [call[2] for call in _calls(layout)] == ["query", "invoke", "invoke"]
