"""The pure-Python Gateway client against the live network: write as Org1, read as Org2, see
the chaincode's own rejection, and follow the events."""

from __future__ import annotations

import json
import threading

import pytest

from fedlora.identity import load_msp_dir
from fedlora.ledger import Gateway, LedgerError
from fedlora.ledger.contract import ConsortiumContract, rejection_code
from fedlora.network import NetworkLayout, UpResult

pytestmark = pytest.mark.fabric
EVENT_WAIT_S = 30.0


def connect(network: UpResult, org_index: int) -> tuple[Gateway, ConsortiumContract, str]:
    layout: NetworkLayout = network.layout
    org = network.state.plan.orgs[org_index]
    msp = load_msp_dir(layout.user_msp(org), org.msp_id)
    gateway = Gateway.connect(
        org.peer_address, layout.peer_tls_ca(org).read_bytes(), msp.identity, msp.signer()
    )
    contract = gateway.network(network.state.plan.channel).contract("fedlora")
    return gateway, ConsortiumContract(contract), msp.identity.node_id


def test_write_as_org1_read_as_org2_and_rejections_carry_the_code(live_network: UpResult) -> None:
    gw1, org1, node_id = connect(live_network, 0)
    gw2, org2, _ = connect(live_network, 1)
    with gw1, gw2:
        node = org1.register_node("127.0.0.1:7999", "0f" * 32)
        assert node.node_id == node_id and node.status == "active"
        seen = {n.node_id: n for n in org2.list_nodes()}
        assert seen[node_id].endpoint == "127.0.0.1:7999"
        with pytest.raises(LedgerError) as rejected:
            org1.register_node("127.0.0.1:7999", "0f" * 32)
        assert rejection_code(rejected.value) == "ALREADY_EXISTS"


def test_events_include_the_registration(live_network: UpResult) -> None:
    gateway, contract, node_id = connect(live_network, 2)
    with gateway:
        contract.register_node("127.0.0.1:7998", "0e" * 32)
        network = gateway.network(live_network.state.plan.channel)
        with network.chaincode_events("fedlora", start_block=0) as events:
            watchdog = threading.Timer(EVENT_WAIT_S, events.close)  # ends the stream if stuck
            watchdog.start()
            try:
                for event in events:
                    payload = json.loads(event.payload)
                    if event.event_name == "NodeRegistered" and payload.get("nodeId") == node_id:
                        break
                else:
                    pytest.fail(f"the event stream ended without {node_id}'s NodeRegistered")
            finally:
                watchdog.cancel()
