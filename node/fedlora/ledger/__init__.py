"""The ledger client: a Fabric Gateway client in pure Python and the typed consortium contract."""

from fedlora.ledger.commit import Commit, CommitStatus
from fedlora.ledger.errors import (
    ChaincodeError,
    ChaincodeEventsError,
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    GatewayError,
    LedgerDataError,
    LedgerError,
    SubmitError,
)
from fedlora.ledger.events import (
    ChaincodeEvent,
    ChaincodeEventStream,
    Checkpoint,
    Checkpointer,
    FileCheckpointer,
    InMemoryCheckpointer,
)
from fedlora.ledger.gateway import Contract, Gateway, GatewayOptions, Network
from fedlora.ledger.retry import RetryPolicy

__all__ = [
    "ChaincodeError",
    "ChaincodeEvent",
    "ChaincodeEventStream",
    "ChaincodeEventsError",
    "Checkpoint",
    "Checkpointer",
    "Commit",
    "CommitError",
    "CommitStatus",
    "CommitStatusError",
    "Contract",
    "EndorseError",
    "ErrorDetail",
    "EvaluateError",
    "FileCheckpointer",
    "Gateway",
    "GatewayError",
    "GatewayOptions",
    "InMemoryCheckpointer",
    "LedgerDataError",
    "LedgerError",
    "Network",
    "RetryPolicy",
    "SubmitError",
]
