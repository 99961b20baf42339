"""Which ledger failures are worth another try (the waits are ``fedlora.backoff``'s).

Retried, always with a NEW proposal (new nonce, new tx id):

- UNAVAILABLE on evaluate or endorse (peer restarting, connection dropped);
- FAILED_PRECONDITION "no combination of peers" / "no peers available" while discovery warms up
  after a network start;
- a commit status of MVCC_READ_CONFLICT or PHANTOM_READ_CONFLICT (another transaction changed
  what this one read; simulating again gives a fresh read set);
- ABORTED evaluate or endorse because the peer lost its link to the chaincode server ("chaincode
  stream terminated", "timeout expired while executing transaction"): seen live when a peer's
  network came back after an outage; the peer reconnects and the same call then succeeds;
- ABORTED endorsement whose endorsers' "ProposalResponsePayloads do not match": the peers
  simulated at different block heights (one has not committed the latest block yet); once
  they agree again the same transaction endorses (a chaincode that is not deterministic keeps
  failing and runs out of attempts).

Never retried: a chaincode rejection (it would say the same again), a failed Submit (the
envelope may already be ordered, and re-sending it blindly is wrong), an unknown commit status.
Those last two, and retries that ran out, are "unreachable for now" (:func:`is_unreachable`):
the node's coordinator then reads the chain again instead of stopping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from fedlora.backoff import Backoff, retry
from fedlora.ledger.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    GatewayError,
    LedgerError,
    SubmitError,
)

T = TypeVar("T")

_WARM_UP_MARKERS = ("no combination of peers", "no peers available")
_RETRYABLE_COMMIT_CODES = frozenset({"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"})
_PAYLOAD_MISMATCH = "ProposalResponsePayloads do not match"
_CHAINCODE_LINK_LOST = (
    "chaincode stream terminated",
    "timeout expired while executing transaction",
)


def is_transient(error: LedgerError) -> bool:
    """True when trying the whole operation again (with a new proposal) may succeed."""
    if isinstance(error, CommitError):
        return error.code_name in _RETRYABLE_COMMIT_CODES
    if isinstance(error, SubmitError | CommitStatusError) or not isinstance(error, GatewayError):
        return False
    if error.chaincode is not None:
        return False
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return True
    if error.code == grpc.StatusCode.ABORTED:
        messages = [detail.message for detail in error.details]
        if messages and all(any(m in text for m in _CHAINCODE_LINK_LOST) for text in messages):
            return True
        if isinstance(error, EndorseError):
            return any(_PAYLOAD_MISMATCH in text for text in messages)
    if error.code == grpc.StatusCode.FAILED_PRECONDITION:
        texts = [error.grpc_message, *(detail.message for detail in error.details)]
        return any(marker in text for text in texts for marker in _WARM_UP_MARKERS)
    return False


_UNREACHABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def is_unreachable(error: BaseException) -> bool:
    """True when the ledger could not be reached or did not answer in time, and nothing refused.

    The node's peer, or the orderer behind it, is down or restarting (also after this client's
    own retries ran out), or a submitted transaction's commit status did not come in time. The
    transaction may or may not have been ordered, so the answer is never to re-send it blindly:
    the caller reads the chain again later and acts on what it then says (the contract refuses
    a duplicate). A rejection by the chaincode is never "unreachable".
    """
    if not isinstance(error, LedgerError) or error.grpc_code not in _UNREACHABLE_CODES:
        return False
    return not (isinstance(error, GatewayError) and error.chaincode is not None)


def is_temporary(error: BaseException) -> bool:
    """True when reading the chain again later and redoing the step is the right answer.

    That is an unreachable ledger (:func:`is_unreachable`), or a transient failure whose retries
    ran out: with many members writing the same round at once, a submission can lose the race
    (MVCC_READ_CONFLICT) more times than one call retries; it is not a reason to stop a node.
    """
    return is_unreachable(error) or (isinstance(error, LedgerError) and is_transient(error))


def call_with_retry(
    operation: Callable[[], T],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation`` until it succeeds, fails for good, or the backoff's attempts run out.

    ``operation`` must build a new proposal on every call; this function only decides whether
    to call it again.
    """
    return retry(operation, backoff, _transient, sleep=sleep, what="ledger call")


def _transient(error: Exception) -> bool:
    return isinstance(error, LedgerError) and is_transient(error)
