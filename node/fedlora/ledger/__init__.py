"""The ledger client: a Fabric Gateway client in pure Python and the typed consortium contract.

    material = load_msp_dir(msp_dir, "Org1MSP")                       # fedlora.identity
    gateway = Gateway.connect("127.0.0.1:7051", peer_tls_ca_pem, material.identity,
                              material.signer(), GatewayOptions())
    network = gateway.network("fedlora")
    contract = ConsortiumContract(network.contract("fedlora", "fedlora"))
    round_state = contract.get_round("s1", 1)           # a records.Round, strictly decoded
    with network.chaincode_events("fedlora", checkpointer=FileCheckpointer(path)) as events:
        for raw in events:                                          # resumes without duplicates
            handle(parse_ledger_event(raw.event_name, raw.payload))

Failures are :class:`LedgerError` subclasses: ``EvaluateError``/``EndorseError``/``SubmitError``/
``CommitStatusError`` (gRPC code + ErrorDetail list; ``.chaincode`` holds a contract rejection
and its ``[CODE]``) and ``CommitError`` (validation code name and block).
"""

from fedlora.ledger.commit import Commit, CommitStatus
from fedlora.ledger.contract import (
    ConsortiumContract,
    ContractPort,
    elect_aggregator,
    rejection_code,
)
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
from fedlora.ledger.records import (
    EVENT_NAMES,
    AggregateInput,
    Deadlines,
    Endorsement,
    HistoryEntry,
    LedgerEvent,
    Lineage,
    LoraSpec,
    Node,
    Page,
    Privacy,
    Proposal,
    ProposalDraft,
    Record,
    RejectedProposal,
    Round,
    Rule,
    Session,
    SessionSpec,
    Trail,
    Update,
    parse_ledger_event,
)

__all__ = [
    "EVENT_NAMES",
    "AggregateInput",
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
    "ConsortiumContract",
    "Contract",
    "ContractPort",
    "Deadlines",
    "EndorseError",
    "Endorsement",
    "ErrorDetail",
    "EvaluateError",
    "FileCheckpointer",
    "Gateway",
    "GatewayError",
    "GatewayOptions",
    "HistoryEntry",
    "InMemoryCheckpointer",
    "LedgerDataError",
    "LedgerError",
    "LedgerEvent",
    "Lineage",
    "LoraSpec",
    "Network",
    "Node",
    "Page",
    "Privacy",
    "Proposal",
    "ProposalDraft",
    "Record",
    "RejectedProposal",
    "Round",
    "Rule",
    "Session",
    "SessionSpec",
    "SubmitError",
    "Trail",
    "Update",
    "elect_aggregator",
    "parse_ledger_event",
    "rejection_code",
]
