"""Proposal bytes, tx ids, status-detail decoding and the retry classification."""

from __future__ import annotations

import hashlib
import time

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from tests.fakes.fake_gateway_wire import encode_status

from fedlora.backoff import Backoff
from fedlora.identity import MspMaterial
from fedlora.ledger import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    LedgerDataError,
    SubmitError,
)
from fedlora.ledger.errors import error_details
from fedlora.ledger.proposal import (
    TransactionContext,
    build_proposal,
    parse_proposal,
    transaction_id,
)
from fedlora.ledger.retry import call_with_retry, is_transient


def test_tx_id_is_the_sha256_of_nonce_then_creator() -> None:
    context = TransactionContext(nonce=b"\x01" * 24, creator=b"creator-bytes")
    assert context.tx_id == hashlib.sha256(b"\x01" * 24 + b"creator-bytes").hexdigest()
    assert transaction_id(b"n", b"c") != transaction_id(b"c", b"n")


def test_every_new_context_has_a_fresh_24_byte_nonce() -> None:
    contexts = [TransactionContext.new(b"me") for _ in range(50)]
    assert {len(c.nonce) for c in contexts} == {24}
    assert len({c.tx_id for c in contexts}) == 50


def test_built_proposal_parses_back_to_what_was_intended(user: MspMaterial) -> None:
    context = TransactionContext.new(user.identity.creator)
    raw = build_proposal(
        context,
        "fedlora",
        "fedlora",
        "fedlora:SubmitUpdate",
        ["s1", "1", b"\xff"],
        transient={"secret": b"x"},
    )

    proposal = proposal_pb2.Proposal.FromString(raw)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)

    assert channel_header.type == common_pb2.ENDORSER_TRANSACTION
    assert channel_header.channel_id == "fedlora"
    assert channel_header.tx_id == context.tx_id
    assert abs(channel_header.timestamp.seconds - time.time()) < 60
    assert extension.chaincode_id.name == "fedlora" and spec.chaincode_id.name == "fedlora"
    assert list(spec.input.args) == [b"fedlora:SubmitUpdate", b"s1", b"1", b"\xff"]
    assert signature_header.creator == user.identity.creator
    assert signature_header.nonce == context.nonce
    assert dict(payload.TransientMap) == {"secret": b"x"}
    parsed = parse_proposal(raw)
    assert (parsed.transaction, parsed.args) == ("fedlora:SubmitUpdate", (b"s1", b"1", b"\xff"))


class FailedCall:
    """A finished call as grpc reports it: code, details and trailing metadata."""

    def __init__(self, code: grpc.StatusCode, message: str, status: bytes | None) -> None:
        self._code, self._message, self._status = code, message, status

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._message

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return () if self._status is None else (("grpc-status-details-bin", self._status),)


def test_status_details_decode_every_error_detail() -> None:
    rows = [
        ("peer0:7051", "Org1MSP", "chaincode response 500, [WRONG_PHASE] round 2 is final"),
        ("peer0:9051", "Org2MSP", "chaincode response 500, [WRONG_PHASE] round 2 is final"),
    ]
    message = "failed to endorse transaction"
    blob = encode_status(grpc.StatusCode.ABORTED, message, rows)
    call = FailedCall(grpc.StatusCode.ABORTED, message, blob)
    assert error_details(call) == tuple(ErrorDetail(*row) for row in rows)  # type: ignore[arg-type]
    no_status = FailedCall(grpc.StatusCode.UNAVAILABLE, "down", None)
    assert error_details(no_status) == ()  # type: ignore[arg-type]


def test_truncated_status_details_are_a_data_error() -> None:
    blob = encode_status(grpc.StatusCode.ABORTED, "x", [("a", "b", "c")])
    with pytest.raises(LedgerDataError, match="truncated"):
        error_details(FailedCall(grpc.StatusCode.ABORTED, "x", blob[:-3]))  # type: ignore[arg-type]


def test_a_status_that_is_not_the_calls_own_is_a_data_error() -> None:
    status = encode_status(grpc.StatusCode.UNAVAILABLE, "down", [("a", "b", "c")])
    call = FailedCall(grpc.StatusCode.ABORTED, "failed", status)
    with pytest.raises(LedgerDataError, match="inconsistent"):
        error_details(call)  # type: ignore[arg-type]


def endorse_error(message: str, *details: str) -> EndorseError:
    rows = tuple(ErrorDetail("peer0:7051", "Org1MSP", text) for text in details)
    return EndorseError("fedlora:JoinSession", grpc.StatusCode.ABORTED, message, rows)


def test_chaincode_view_separates_code_and_message() -> None:
    error = endorse_error(
        "failed to endorse transaction, see attached details for more info",
        "chaincode response 500, [NOT_PARTICIPANT] node Org4MSP/x is not a participant of s1",
    )
    assert error.chaincode is not None
    assert error.chaincode.code == "NOT_PARTICIPANT"
    assert error.chaincode.message == "[NOT_PARTICIPANT] node Org4MSP/x is not a participant of s1"
    assert str(error).count(" -- ") == 1 and "\n" not in str(error)


def test_infrastructure_errors_have_no_chaincode_view() -> None:
    error = endorse_error("failed to endorse", "error validating proposal: access denied")
    assert error.chaincode is None


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (endorse_error("no combination of peers can be derived which satisfy the policy"), False),
        (EndorseError("op", grpc.StatusCode.FAILED_PRECONDITION, "no combination of peers"), True),
        (
            EvaluateError(
                "op",
                grpc.StatusCode.FAILED_PRECONDITION,
                "no peers available to evaluate chaincode fedlora in channel fedlora",
            ),
            True,
        ),
        (EvaluateError("op", grpc.StatusCode.UNAVAILABLE, "failed to connect"), True),
        (
            EvaluateError(
                "op",
                grpc.StatusCode.UNKNOWN,
                "evaluate call to endorser returned error: "
                "chaincode response 500, [NOT_FOUND] no session",
            ),
            False,
        ),
        (endorse_error("failed", "chaincode response 500, [DUPLICATE] already submitted"), False),
        (SubmitError("op", grpc.StatusCode.UNAVAILABLE, "orderer down"), False),
        (CommitStatusError("op", grpc.StatusCode.DEADLINE_EXCEEDED, "deadline"), False),
        (CommitError("op", "tx", 11, "MVCC_READ_CONFLICT", 9), True),
        (CommitError("op", "tx", 10, "ENDORSEMENT_POLICY_FAILURE", 9), False),
    ],
)
def test_transient_classification(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient  # type: ignore[arg-type]


def test_call_with_retry_backs_off_exponentially_up_to_the_cap() -> None:
    waits: list[float] = []
    failure = EvaluateError("op", grpc.StatusCode.UNAVAILABLE, "down")

    def always_down() -> bytes:
        raise failure

    policy = Backoff(attempts=5, initial_delay_s=1.0, max_delay_s=3.0, multiplier=2.0)
    with pytest.raises(EvaluateError):
        call_with_retry(always_down, policy, waits.append)
    assert waits == [1.0, 2.0, 3.0, 3.0]
