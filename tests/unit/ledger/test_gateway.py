"""Evaluate, submit, commit status, errors and retries against the fake peer Gateway."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from tests.fakes.fake_gateway import FakeGateway, serve
from tests.fakes.msp import TestOrg
from tests.unit.ledger.conftest import CHANNEL, KeyValueChaincode, RecordedSleep

from fedlora.backoff import Backoff
from fedlora.identity import MspMaterial, load_msp_dir
from fedlora.ledger import (
    CommitError,
    CommitStatusError,
    EndorseError,
    EvaluateError,
    Gateway,
    GatewayOptions,
    SubmitError,
)
from fedlora.ledger._protos import gateway_pb2
from fedlora.ledger.proposal import TransactionContext, build_proposal, sign_proposal

WARM_UP = "no combination of peers can be derived which satisfy the endorsement policy"


def kv(gateway: Gateway):  # type: ignore[no-untyped-def]
    return gateway.network(CHANNEL).contract("kv")


def test_evaluate_returns_the_chaincode_payload_and_every_signature_checks_out(
    gateway: Gateway, fake: FakeGateway
) -> None:
    assert kv(gateway).evaluate("whoami") == b"Org1MSP/User1@org1.example.com"
    assert fake.signatures_checked == 1
    assert fake.calls["Endorse"] == 0 and fake.calls["Submit"] == 0


def test_submit_commits_and_returns_the_result(
    gateway: Gateway, fake: FakeGateway, chaincode: KeyValueChaincode
) -> None:
    result = kv(gateway).submit("put", "k1", b"\x00value")

    assert result == b"ok:k1"
    assert chaincode.state == {b"k1": b"\x00value"}
    # proposal, envelope and commit-status request were each verified
    assert fake.signatures_checked == 3
    assert kv(gateway).evaluate("get", "k1") == b"\x00value"


def test_submit_async_returns_a_commit_with_the_transaction_id_and_status(
    gateway: Gateway, fake: FakeGateway, chaincode: KeyValueChaincode
) -> None:
    height = fake.height
    result, commit = kv(gateway).submit_async("put", "k", "v")

    status = commit.status()

    assert result == b"ok:k"
    assert commit.tx_id == chaincode.invocations[-1].tx_id
    assert status.successful and status.code_name == "VALID" and status.code == 0
    assert status.block_number == height


def test_contract_name_qualifies_the_transaction(
    gateway: Gateway, chaincode: KeyValueChaincode
) -> None:
    with pytest.raises(EvaluateError):
        gateway.network(CHANNEL).contract("kv", "fedlora").evaluate("whoami")
    assert chaincode.invocations[-1].function == "fedlora:whoami"


def test_chaincode_error_on_evaluate_surfaces_its_message_and_code(gateway: Gateway) -> None:
    with pytest.raises(EvaluateError) as caught:
        kv(gateway).evaluate("get", "missing")

    error = caught.value
    assert error.code == grpc.StatusCode.UNKNOWN
    assert error.chaincode is not None
    assert error.chaincode.code == "NOT_FOUND"
    assert error.chaincode.message == "[NOT_FOUND] key missing"
    assert error.chaincode.status == 500
    assert "\n" not in str(error) and "[NOT_FOUND] key missing" in str(error)


def test_chaincode_error_on_submit_is_an_endorse_error_with_details(
    gateway: Gateway, fake: FakeGateway
) -> None:
    with pytest.raises(EndorseError) as caught:
        kv(gateway).submit("nosuchfn")

    error = caught.value
    assert error.code == grpc.StatusCode.ABORTED
    assert [(d.address, d.msp_id) for d in error.details] == [("127.0.0.1:7051", "Org1MSP")]
    assert error.details[0].message == "chaincode response 500, unknown function nosuchfn"
    assert error.chaincode is not None and error.chaincode.code is None
    assert error.chaincode.message == "unknown function nosuchfn"
    assert error.tx_id is not None
    # a contract rejection is never retried
    assert fake.calls["Endorse"] == 1 and fake.calls["Submit"] == 0


def test_invalid_commit_raises_commit_error_with_code_and_block(
    gateway: Gateway, fake: FakeGateway
) -> None:
    fake.validation_codes.append("ENDORSEMENT_POLICY_FAILURE")
    height = fake.height

    with pytest.raises(CommitError) as caught:
        kv(gateway).submit("put", "k", "v")

    assert caught.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert caught.value.code == 10
    assert caught.value.block_number == height
    assert fake.calls["Endorse"] == 1


def test_warm_up_failed_precondition_is_retried_with_backoff(
    gateway: Gateway, fake: FakeGateway, sleeps: RecordedSleep
) -> None:
    for _ in range(2):
        fake.fail_next("Endorse", grpc.StatusCode.FAILED_PRECONDITION, WARM_UP)

    assert kv(gateway).submit("put", "k", "v") == b"ok:k"

    assert fake.calls["Endorse"] == 3
    assert sleeps.waits == [0.01, 0.02]


def test_retries_stop_after_the_policy_attempts(gateway: Gateway, fake: FakeGateway) -> None:
    for _ in range(10):
        fake.fail_next("Evaluate", grpc.StatusCode.UNAVAILABLE, "connection reset")

    with pytest.raises(EvaluateError) as caught:
        kv(gateway).evaluate("whoami")

    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert fake.calls["Evaluate"] == 4


def test_mvcc_conflict_is_retried_with_a_new_proposal(
    gateway: Gateway, fake: FakeGateway, chaincode: KeyValueChaincode
) -> None:
    fake.validation_codes.append("MVCC_READ_CONFLICT")

    assert kv(gateway).submit("put", "k", "v") == b"ok:k"

    tx_ids = [call.tx_id for call in chaincode.invocations]
    assert len(tx_ids) == 2 and tx_ids[0] != tx_ids[1]
    assert fake.calls["Submit"] == 2


def test_failed_submit_is_not_sent_again(gateway: Gateway, fake: FakeGateway) -> None:
    fake.fail_next("Submit", grpc.StatusCode.UNAVAILABLE, "orderer connection lost")

    with pytest.raises(SubmitError) as caught:
        kv(gateway).submit("put", "k", "v")

    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert fake.calls["Submit"] == 1 and fake.calls["Endorse"] == 1


def test_commit_status_timeout_is_a_commit_status_error(
    gateway: Gateway, fake: FakeGateway
) -> None:
    fake.tx_per_block = 2  # the block is never cut, so the transaction never commits
    _, commit = kv(gateway).submit_async("put", "k", "v")

    with pytest.raises(CommitStatusError) as caught:
        commit.status(timeout_s=0.3)

    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert caught.value.tx_id == commit.tx_id


def test_high_s_signatures_are_refused_by_the_peer(
    peer_address: str, org: TestOrg, user: MspMaterial
) -> None:
    class HighS:
        def sign(self, message: bytes) -> bytes:
            from cryptography.hazmat.primitives.asymmetric.utils import (
                decode_dss_signature,
                encode_dss_signature,
            )

            r, s = decode_dss_signature(user.signer().sign(message))
            return encode_dss_signature(
                r, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551 - s
            )

    options = GatewayOptions(retry=Backoff(attempts=1))
    bad = Gateway.connect(peer_address, org.tls_ca_cert_pem, user.identity, HighS(), options)
    with bad, pytest.raises(EndorseError, match="access denied"):
        kv(bad).submit("put", "k", "v")


def test_wrong_tls_ca_fails_as_unavailable(
    peer_address: str, user: MspMaterial, tmp_path: Path
) -> None:
    other = TestOrg.create(tmp_path, "Org9MSP", "org9.example.com")
    options = GatewayOptions(retry=Backoff(attempts=1), evaluate_timeout_s=2)
    with (
        Gateway.connect(
            peer_address, other.tls_ca_cert_pem, user.identity, user.signer(), options
        ) as gw,
        pytest.raises(EvaluateError) as caught,
    ):
        kv(gw).evaluate("whoami")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_responses_above_four_mebibytes_are_received(gateway: Gateway) -> None:
    size = 5 * 1024 * 1024 + 13
    assert len(kv(gateway).evaluate("big", str(size))) == size


def test_mutual_tls_needs_the_client_certificate(
    org: TestOrg, fake: FakeGateway, user: MspMaterial
) -> None:
    tls = org.root / "peers" / "peer0.org1.example.com" / "tls"
    server_tls = ((tls / "server.crt").read_bytes(), (tls / "server.key").read_bytes())
    assert user.tls is not None
    options = GatewayOptions(retry=Backoff(attempts=1), evaluate_timeout_s=2)
    with serve(fake, server_tls, client_ca=org.tls_ca_cert_pem) as address:
        with Gateway.connect(
            address,
            org.tls_ca_cert_pem,
            user.identity,
            user.signer(),
            options,
            client_cert_pem=user.tls.cert_pem,
            client_key_pem=user.tls.key_pem,
        ) as mutual:
            assert kv(mutual).evaluate("whoami") == b"Org1MSP/User1@org1.example.com"
        anonymous = Gateway.connect(
            address, org.tls_ca_cert_pem, user.identity, user.signer(), options
        )
        with anonymous, pytest.raises(EvaluateError) as caught:
            kv(anonymous).evaluate("whoami")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_the_peer_recomputes_the_transaction_id(gateway: Gateway, user: MspMaterial) -> None:
    class WrongId(TransactionContext):
        @property
        def tx_id(self) -> str:
            return "deadbeef"

    context = WrongId(nonce=b"\x02" * 24, creator=user.identity.creator)
    raw = build_proposal(context, CHANNEL, "kv", "whoami")
    request = gateway_pb2.EvaluateRequest(
        transaction_id="deadbeef",
        channel_id=CHANNEL,
        proposed_transaction=sign_proposal(raw, user.signer()),
    )
    with pytest.raises(grpc.RpcError) as caught:
        gateway.stub.Evaluate(request, timeout=5)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert "incorrectly computed txid 'deadbeef'" in caught.value.details()  # type: ignore[attr-defined]


def test_an_identity_from_an_unknown_ca_is_refused(
    peer_address: str, org: TestOrg, tmp_path: Path
) -> None:
    stranger_org = TestOrg.create(tmp_path, "Org1MSP", "org1.example.com")  # same name, other CA
    stranger = load_msp_dir(stranger_org.add("Mallory"), "Org1MSP")
    options = GatewayOptions(retry=Backoff(attempts=1))
    gateway = Gateway.connect(
        peer_address, org.tls_ca_cert_pem, stranger.identity, stranger.signer(), options
    )
    with gateway, pytest.raises(EvaluateError, match="access denied"):
        kv(gateway).evaluate("whoami")
