"""Which ledger failures mean "unreachable for now" (wait and read the chain again), and which
endorsement failures the client retries at once."""

from __future__ import annotations

import grpc
import pytest

from fedlora.errors import FedloraError
from fedlora.ledger.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    LedgerDataError,
    SubmitError,
)
from fedlora.ledger.retry import is_transient, is_unreachable

UNAVAILABLE, DEADLINE = grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED


def _refused(code: grpc.StatusCode) -> EndorseError:
    detail = ErrorDetail("127.0.0.1:7051", "Org1MSP", "chaincode response 500, [DUPLICATE] again")
    return EndorseError("SubmitUpdate", code, "failed to endorse", (detail,))


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        # the node's peer is down (after the client's own retries)
        (EvaluateError("GetSession", UNAVAILABLE, "connection refused"), True),
        (EndorseError("SubmitUpdate", UNAVAILABLE, "connection refused"), True),
        (EvaluateError("GetSession", DEADLINE, "evaluate timeout expired"), True),
        # the orderer is down or has no Raft leader yet (the Gateway's answer to both)
        (SubmitError("SubmitUpdate", UNAVAILABLE, "no orderers could successfully process"), True),
        (SubmitError("SubmitUpdate", DEADLINE, "submit timeout expired"), True),
        # ordered or not, the commit status did not come in time
        (CommitStatusError("SubmitUpdate", DEADLINE, "deadline exceeded"), True),
        # refusals: the chaincode, the orderer (4xx), the validation of a committed transaction
        (_refused(grpc.StatusCode.ABORTED), False),
        (_refused(UNAVAILABLE), False),
        (SubmitError("SubmitUpdate", grpc.StatusCode.ABORTED, "status=BAD_REQUEST"), False),
        (CommitError("SubmitUpdate", "tx", 10, "ENDORSEMENT_POLICY_FAILURE", 9), False),
        (EvaluateError("GetSession", grpc.StatusCode.PERMISSION_DENIED, "access denied"), False),
        (LedgerDataError("not JSON"), False),
        (FedloraError("artifact could not be obtained"), False),
        (TimeoutError("not a ledger error"), False),
    ],
)
def test_unreachable_means_no_answer_and_never_a_refusal(
    error: BaseException, unreachable: bool
) -> None:
    assert is_unreachable(error) is unreachable


def _endorsers_disagree(*messages: str) -> EndorseError:
    details = tuple(ErrorDetail(f"peer{i}:7051", f"Org{i}MSP", m) for i, m in enumerate(messages))
    text = "failed to collect enough transaction endorsements, see attached details for more info"
    return EndorseError("SubmitUpdate", grpc.StatusCode.ABORTED, text, details)


def test_endorsers_at_different_block_heights_are_retried_but_a_refusal_is_not() -> None:
    # Seen live under load: a retry after MVCC_READ_CONFLICT reached one peer that had
    # committed the conflicting block and two that had not; their simulations differed.
    mismatch = "ProposalResponsePayloads do not match"
    assert is_transient(_endorsers_disagree(mismatch, mismatch))
    assert is_transient(_endorsers_disagree(mismatch, "connection refused"))
    refused = "chaincode response 500, [WRONG_PHASE] the round is not collecting"
    assert not is_transient(_endorsers_disagree(mismatch, refused))
    assert not is_transient(_endorsers_disagree("access denied"))
    assert not is_unreachable(_endorsers_disagree(mismatch))  # nothing the coordinator waits out


def test_a_peer_that_lost_its_chaincode_server_is_retried_but_a_refusal_is_not() -> None:
    # Seen live: a peer whose network came back after an outage answered an evaluate with
    # ABORTED "error sending: chaincode stream terminated" until it reconnected.
    lost = (
        "error in simulation: failed to execute transaction 251b9e7e: error sending: "
        "chaincode stream terminated"
    )
    details = (ErrorDetail("peer0:7051", "Org3MSP", lost),)
    evaluate = EvaluateError("GetSession", grpc.StatusCode.ABORTED, "failed to evaluate", details)
    assert is_transient(evaluate)
    refused = ErrorDetail("peer1:7051", "Org1MSP", "chaincode response 500, [NOT_FOUND] no")
    mixed = EndorseError("SubmitUpdate", grpc.StatusCode.ABORTED, "failed", (*details, refused))
    assert not is_transient(mixed)
    assert not is_transient(EvaluateError("GetSession", grpc.StatusCode.ABORTED, "failed"))
