"""The typed contract over the real Gateway client and the fake peer, end to end."""

from __future__ import annotations

import json

import pytest
from tests.fakes.fake_gateway import FakeGateway, Invocation
from tests.fakes.fake_gateway_wire import Outcome
from tests.unit.ledger.conftest import CHANNEL
from tests.unit.ledger.test_contract import NODE

from fedlora.identity import MspMaterial
from fedlora.ledger import (
    ConsortiumContract,
    EndorseError,
    Gateway,
    parse_ledger_event,
    rejection_code,
)


class RegistryChaincode:
    """Answers like the fedlora contract for RegisterNode/GetNode, and rejects JoinSession."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, str]] = {}

    def __call__(self, call: Invocation) -> Outcome:
        node_id = f"{call.msp_id}/{call.common_name}"
        if call.function == "fedlora:RegisterNode":
            endpoint, fingerprint = (arg.decode() for arg in call.args)
            node = NODE | {
                "nodeId": node_id,
                "mspId": call.msp_id,
                "endpoint": endpoint,
                "commonName": call.common_name,
                "tlsCertSha256": fingerprint,
            }
            self.nodes[node_id] = node
            event = {
                "event": "NodeRegistered",
                "sessionId": "",
                "round": 0,
                "phase": "",
                "attempt": 0,
                "aggregator": "",
                "nodeId": node_id,
                "txId": call.tx_id,
            }
            return Outcome(
                json.dumps(node).encode(), event=("NodeRegistered", json.dumps(event).encode())
            )
        if call.function == "fedlora:GetNode":
            return Outcome(json.dumps(self.nodes[call.args[0].decode()]).encode())
        return Outcome(
            status=500,
            message=f"[NOT_PARTICIPANT] node {node_id} is not a participant of session s1",
        )


@pytest.fixture
def contract(gateway: Gateway, fake: FakeGateway) -> ConsortiumContract:
    fake.chaincodes["fedlora"] = RegistryChaincode()
    return ConsortiumContract(gateway.network(CHANNEL).contract("fedlora", "fedlora"))


def test_register_then_read_back_through_the_gateway(
    contract: ConsortiumContract, gateway: Gateway, fake: FakeGateway, user: MspMaterial
) -> None:
    first = fake.height
    fingerprint = user.tls.cert_sha256 if user.tls else None
    assert fingerprint is not None

    registered = contract.register_node("127.0.0.1:9001", fingerprint)

    assert registered.node_id == user.identity.node_id
    assert contract.get_node(registered.node_id) == registered
    with gateway.network(CHANNEL).chaincode_events("fedlora", start_block=first) as stream:
        raw = next(stream)
    event = parse_ledger_event(raw.event_name, raw.payload)
    assert (event.event, event.node_id, event.tx_id) == (
        "NodeRegistered",
        registered.node_id,
        raw.tx_id,
    )


def test_contract_rejection_code_reaches_the_caller(contract: ConsortiumContract) -> None:
    with pytest.raises(EndorseError) as caught:
        contract.join_session("s1")
    assert rejection_code(caught.value) == "NOT_PARTICIPANT"
    assert "[NOT_PARTICIPANT] node Org1MSP/User1@org1.example.com" in str(caught.value)
