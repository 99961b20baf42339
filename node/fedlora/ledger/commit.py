"""Awaiting a submitted transaction's commit: the signed CommitStatus request and its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from fedlora.ledger._protos import gateway_pb2, transaction_pb2
from fedlora.ledger.errors import CommitStatusError

if TYPE_CHECKING:
    from fedlora.ledger.gateway import Gateway


@dataclass(frozen=True)
class CommitStatus:
    """The validation outcome of one transaction."""

    tx_id: str
    code: int
    code_name: str
    block_number: int

    @property
    def successful(self) -> bool:
        """True when the transaction committed as VALID."""
        return self.code_name == "VALID"


class Commit:
    """A submitted transaction whose commit status can be awaited."""

    def __init__(self, gateway: Gateway, channel_name: str, tx_id: str, operation: str) -> None:
        self._gateway = gateway
        self._channel_name = channel_name
        self.tx_id = tx_id
        self.operation = operation

    def status(self, timeout_s: float | None = None) -> CommitStatus:
        """Block until the transaction commits (the peer waits) and return its outcome.

        Raises
        ------
        CommitStatusError
            The status could not be obtained, e.g. no commit within the timeout.
        """
        gateway = self._gateway
        request = gateway_pb2.CommitStatusRequest(
            transaction_id=self.tx_id,
            channel_id=self._channel_name,
            identity=gateway.identity.creator,
        )
        request_bytes, signature = gateway.sign_request(request)
        signed = gateway_pb2.SignedCommitStatusRequest(request=request_bytes, signature=signature)
        timeout = timeout_s if timeout_s is not None else gateway.options.commit_status_timeout_s
        try:
            response = gateway.stub.CommitStatus(signed, timeout=timeout)
        except grpc.RpcError as error:
            raise CommitStatusError.from_rpc_error(self.operation, error, self.tx_id) from None
        code = int(response.result)
        return CommitStatus(
            tx_id=self.tx_id,
            code=code,
            code_name=_validation_code_name(code),
            block_number=int(response.block_number),
        )


def _validation_code_name(code: int) -> str:
    try:
        return str(transaction_pb2.TxValidationCode.Name(code))
    except ValueError:
        return f"UNKNOWN_CODE_{code}"
