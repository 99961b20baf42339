"""A test org, a fake peer Gateway on loopback TLS, and a Gateway client connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.fake_gateway import FakeGateway, Invocation, serve
from tests.fakes.fake_gateway_wire import Outcome
from tests.fakes.msp import TestOrg

from fedlora.backoff import Backoff
from fedlora.identity import MspMaterial, load_msp_dir
from fedlora.ledger import Gateway, GatewayOptions

CHANNEL = "mychannel"


class KeyValueChaincode:
    """A small chaincode stand-in: put/get/whoami/big, and a contract error for the rest."""

    def __init__(self) -> None:
        self.state: dict[bytes, bytes] = {}
        self.invocations: list[Invocation] = []

    def __call__(self, call: Invocation) -> Outcome:
        self.invocations.append(call)
        if call.function == "put":
            key, value = call.args
            self.state[key] = value
            return Outcome(payload=b"ok:" + key, event=("Put", key))
        if call.function == "get":
            if call.args[0] not in self.state:
                return Outcome(status=500, message=f"[NOT_FOUND] key {call.args[0].decode()}")
            return Outcome(payload=self.state[call.args[0]])
        if call.function == "whoami":
            return Outcome(payload=f"{call.msp_id}/{call.common_name}".encode())
        if call.function == "big":
            return Outcome(payload=b"x" * int(call.args[0]))
        return Outcome(status=500, message=f"unknown function {call.function}")


@pytest.fixture(scope="session")
def org(tmp_path_factory: pytest.TempPathFactory) -> TestOrg:
    """Org1 with a user and a peer."""
    org = TestOrg.create(tmp_path_factory.mktemp("org1"), "Org1MSP", "org1.example.com")
    org.add("User1", "client")
    org.add("peer0", "peer")
    return org


@pytest.fixture(scope="session")
def user(org: TestOrg) -> MspMaterial:
    """User1's MSP material."""
    return load_msp_dir(org.root / "users" / "User1@org1.example.com" / "msp", org.msp_id)


@pytest.fixture
def chaincode() -> KeyValueChaincode:
    """A fresh key-value chaincode."""
    return KeyValueChaincode()


@pytest.fixture
def fake(org: TestOrg, chaincode: KeyValueChaincode) -> FakeGateway:
    """The peer Gateway stand-in, one transaction per block unless a test changes it."""
    return FakeGateway(msp_cas={org.msp_id: org.ca_cert_pem}, chaincodes={"kv": chaincode})


@pytest.fixture
def peer_address(org: TestOrg, fake: FakeGateway) -> Iterator[str]:
    """Serve ``fake`` over TLS with peer0's server certificate."""
    tls = Path(org.root / "peers" / "peer0.org1.example.com" / "tls")
    with serve(
        fake, ((tls / "server.crt").read_bytes(), (tls / "server.key").read_bytes())
    ) as address:
        yield address


class RecordedSleep:
    """Records backoff waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleep:
    """The waits the client asked for."""
    return RecordedSleep()


@pytest.fixture
def gateway(
    peer_address: str, org: TestOrg, user: MspMaterial, sleeps: RecordedSleep
) -> Iterator[Gateway]:
    """User1 connected to the fake peer over TLS."""
    options = GatewayOptions(retry=Backoff(attempts=4, initial_delay_s=0.01))
    with Gateway.connect(
        peer_address, org.tls_ca_cert_pem, user.identity, user.signer(), options
    ) as connected:
        connected.sleep = sleeps
        yield connected
