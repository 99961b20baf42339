"""The typed consortium contract: arguments sent, JSON parsed strictly, objects round-tripped."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fedlora.errors import FedloraError
from fedlora.ledger import (
    ConsortiumContract,
    LedgerDataError,
    ProposalDraft,
    ProposalInput,
    Rule,
    SessionSpec,
    elect_aggregator,
    parse_ledger_event,
)
from fedlora.ledger._json import Fields
from fedlora.ledger.audit_model import HistoryEntry, LedgerEvent, Lineage, Trail
from fedlora.ledger.model import Node, Session
from fedlora.ledger.round_model import Round

H = {name: name[0] * 64 for name in ("a", "b", "c", "d", "e", "f")}
TS = "2026-11-25T22:00:00Z"

NODE = {
    "nodeId": "Org1MSP/peer0",
    "mspId": "Org1MSP",
    "commonName": "peer0",
    "endpoint": "127.0.0.1:9001",
    "tlsCertSha256": H["a"],
    "status": "active",
    "registeredAt": TS,
    "updatedAt": TS,
}
SPEC = {
    "sessionId": "s1",
    "baseModel": "SmolLM2-135M",
    "baseModelSha256": H["b"],
    "lora": {
        "rank": 8,
        "alpha": 16,
        "dropout": 0.05,
        "targetModules": ["q_proj", "v_proj"],
        "topLayers": 6,
    },
    "datasetTag": "icd10-v1",
    "rounds": 3,
    "quorum": 2,
    "deadlines": {"collectSeconds": 600, "aggregateSeconds": 300, "endorseSeconds": 300},
    "rule": {"name": "fedavg", "params": {"serverLr": 1.0}},
    "participants": [],
}
SESSION = SPEC | {
    "participants": ["Org1MSP/peer0", "Org2MSP/peer0"],
    "creator": "Org1MSP/Admin",
    "creatorMsp": "Org1MSP",
    "status": "running",
    "currentRound": 1,
    "createdAt": TS,
    "startedAt": TS,
    "finalAdapterSha256": "",
    "enrolment": "join",
}
UPDATE = {
    "sha256": H["c"],
    "numExamples": 120,
    "metrics": {"loss": 0.75},
    "submittedAt": TS,
    "txId": "tx1",
}
ENDORSEMENT = {"sha256": H["d"], "accept": True, "reason": "", "at": TS, "txId": "tx3"}
PROPOSAL = {
    "sha256": H["d"],
    "inputs": [{"nodeId": "Org1MSP/peer0", "sha256": H["c"]}],
    "weights": {"Org1MSP/peer0": 1.0},
    "rule": {"name": "fedavg", "params": {}},
    "optimizerStateSha256": "",
    "aggregator": "Org2MSP/peer0",
    "attempt": 0,
    "proposedAt": TS,
    "txId": "tx2",
}
REJECTED = PROPOSAL | {
    "attempt": 1,
    "cause": "rejected",
    "rejectedAt": TS,
    "endorsements": {"Org1MSP/peer0": ENDORSEMENT | {"accept": False, "reason": "hash differs"}},
}
ROUND = {
    "sessionId": "s1",
    "round": 1,
    "phase": "endorsing",
    "attempt": 2,
    "aggregator": "Org2MSP/peer0",
    "openedAt": TS,
    "phaseDeadline": TS,
    "updates": {"Org1MSP/peer0": UPDATE},
    "proposal": PROPOSAL | {"attempt": 2},
    "endorsements": {"Org2MSP/peer0": ENDORSEMENT},
    "rejectedProposals": [REJECTED],
    "finalSha256": "",
}
LINEAGE = {
    "sha256": H["d"],
    "kind": "aggregate",
    "sessionId": "s1",
    "round": 1,
    "producer": "Org2MSP/peer0",
    "inputs": [{"nodeId": "Org1MSP/peer0", "sha256": H["c"]}],
    "weights": {"Org1MSP/peer0": 1.0},
    "rule": {"name": "fedavg", "params": {}},
    "endorsements": {"Org2MSP/peer0": ENDORSEMENT},
    "final": True,
}
HISTORY = {"txId": "tx9", "timestamp": TS, "isDelete": False, "value": NODE}
EVENT = {
    "event": "AggregateProposed",
    "sessionId": "s1",
    "round": 1,
    "phase": "endorsing",
    "attempt": 0,
    "aggregator": "Org2MSP/peer0",
    "nodeId": "Org2MSP/peer0",
    "sha256": H["d"],
    "txId": "tx2",
}

ROUND_TRIPS: list[tuple[type[Any], dict[str, Any]]] = [
    (Node, NODE),
    (SessionSpec, SPEC),
    (SessionSpec, SPEC | {"allowedOrgs": ["Org1MSP", "Org2MSP"], "maxNodesPerOrg": 2}),
    (SessionSpec, SPEC | {"maxExamples": 5000}),
    (Session, SESSION),
    (Round, ROUND),
    (Round, ROUND | {"proposal": None, "rejectedProposals": [], "phase": "collecting"}),
    (Lineage, LINEAGE),
    (Lineage, LINEAGE | {"kind": "update", "rule": None, "inputs": []}),
    (HistoryEntry, HISTORY),
    (HistoryEntry, HISTORY | {"isDelete": True, "value": None}),
    (Trail, {"session": SESSION, "rounds": [ROUND], "nodes": [NODE]}),
    (LedgerEvent, EVENT),
]


@pytest.mark.parametrize(("kind", "document"), ROUND_TRIPS)
def test_every_object_round_trips_through_json(kind: type[Any], document: dict[str, Any]) -> None:
    parsed = kind.from_fields(Fields(copy.deepcopy(document), kind.__name__))
    assert parsed.to_json() == document


def test_parsed_values_land_in_the_right_fields() -> None:
    round_state = Round.from_fields(Fields(ROUND, "round"))
    assert round_state.updates["Org1MSP/peer0"].num_examples == 120
    assert round_state.proposal is not None and round_state.proposal.sha256 == H["d"]
    assert round_state.rejected_proposals[0].endorsements["Org1MSP/peer0"].accept is False
    session = Session.from_fields(Fields(SESSION, "session"))
    assert session.participants == ("Org1MSP/peer0", "Org2MSP/peer0")
    assert session.spec.lora.target_modules == ("q_proj", "v_proj")
    assert (session.rounds, session.quorum, session.rule_name) == (3, 2, "fedavg")
    assert session.rule_params == {"serverLr": 1.0}
    proposal = round_state.proposal
    assert [(node, sha) for node, sha in proposal.inputs] == [("Org1MSP/peer0", H["c"])]
    assert proposal.weights == {"Org1MSP/peer0": 1.0} and proposal.optimizer_state_sha256 == ""
    assert proposal.rule == Rule("fedavg", {})


def test_go_nulls_for_empty_lists_and_maps_read_as_empty() -> None:
    document = ROUND | {"updates": None, "endorsements": None, "rejectedProposals": None}
    parsed = Round.from_fields(Fields(document, "round"))
    assert (parsed.updates, parsed.endorsements, parsed.rejected_proposals) == ({}, {}, ())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({k: v for k, v in NODE.items() if k != "endpoint"}, "lacks the field 'endpoint'"),
        (NODE | {"status": 1}, "status should be a string"),
        (SESSION | {"rounds": "3"}, "rounds should be an integer"),
        (SESSION | {"quorum": True}, "quorum should be an integer"),
        (SESSION | {"lora": SPEC["lora"] | {"alpha": "16"}}, "lora.alpha should be a number"),
        (ROUND | {"updates": {"x": UPDATE | {"metrics": {"loss": "low"}}}}, "metrics should be"),
        (ROUND | {"endorsements": {"x": ENDORSEMENT | {"accept": "true"}}}, "true or false"),
    ],
)
def test_malformed_documents_are_rejected_with_the_field_named(
    document: dict[str, Any], message: str
) -> None:
    kind = {"nodeId": Node, "creator": Session, "updates": Round}
    parser = next(v for k, v in kind.items() if k in document)
    with pytest.raises(LedgerDataError, match=message):
        parser.from_fields(Fields(document, "doc"))


class RecordingContract:
    """A ContractPort fake: records calls and answers with canned JSON."""

    def __init__(self, answer: object) -> None:
        self.answer = json.dumps(answer).encode()
        self.calls: list[tuple[str, str, tuple[str | bytes, ...]]] = []

    def evaluate(self, name: str, *args: str | bytes) -> bytes:
        self.calls.append(("evaluate", name, args))
        return self.answer

    def submit(self, name: str, *args: str | bytes) -> bytes:
        self.calls.append(("submit", name, args))
        return self.answer


def test_submit_update_sends_the_agreed_string_arguments() -> None:
    port = RecordingContract(ROUND)
    result = ConsortiumContract(port).submit_update("s1", 1, H["c"], 120, {"loss": 0.75, "acc": 1})
    assert result.session_id == "s1"
    assert port.calls == [
        ("submit", "SubmitUpdate", ("s1", "1", H["c"], "120", '{"acc":1,"loss":0.75}'))
    ]


def test_create_session_sends_the_spec_as_json_the_chaincode_accepts() -> None:
    port = RecordingContract(SESSION)
    spec = SessionSpec.from_fields(Fields(SPEC, "spec"))
    ConsortiumContract(port).create_session(spec)
    (_, name, args) = port.calls[0]
    assert name == "CreateSession" and json.loads(args[0]) == SPEC


def test_propose_and_endorse_arguments() -> None:
    port = RecordingContract(ROUND)
    contract = ConsortiumContract(port)
    draft = ProposalDraft(
        H["d"], (ProposalInput("Org1MSP/peer0", H["c"]),), {"Org1MSP/peer0": 1.0}, Rule("fedavg")
    )
    contract.propose_aggregate("s1", 2, draft)
    contract.endorse_aggregate("s1", 2, H["d"], accept=False, reason="hash differs")
    assert json.loads(port.calls[0][2][2]) == {
        "sha256": H["d"],
        "inputs": [{"nodeId": "Org1MSP/peer0", "sha256": H["c"]}],
        "weights": {"Org1MSP/peer0": 1.0},
        "rule": {"name": "fedavg", "params": {}},
        "optimizerStateSha256": "",
    }
    assert port.calls[1][1:] == ("EndorseAggregate", ("s1", "2", H["d"], "false", "hash differs"))


def test_node_endpoint_reads_the_registered_node() -> None:
    port = RecordingContract(NODE)
    assert ConsortiumContract(port).node_endpoint("Org1MSP/peer0") == "127.0.0.1:9001"
    assert port.calls == [("evaluate", "GetNode", ("Org1MSP/peer0",))]


def test_queries_are_evaluated_and_lists_parsed() -> None:
    port = RecordingContract([NODE, NODE | {"nodeId": "Org2MSP/peer0"}])
    nodes = ConsortiumContract(port).list_nodes()
    assert [n.node_id for n in nodes] == ["Org1MSP/peer0", "Org2MSP/peer0"]
    port = RecordingContract([HISTORY])
    ConsortiumContract(port).history("round", "s1", "2")
    assert port.calls == [("evaluate", "History", ("round", "s1", "2"))]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.submit_update("s1", 0, H["c"], 1, {}), "invalid round 0"),
        (lambda c: c.submit_update("s1", 1, "ABC", 1, {}), "not a SHA-256 hex digest"),
        (lambda c: c.submit_update("s1", 1, H["c"], 0, {}), "numExamples must be positive"),
        (lambda c: c.submit_update("s1", 1, H["c"], 1, {"loss": float("nan")}), "finite"),
        (lambda c: c.endorse_aggregate("s1", 1, H["d"], accept=False), "needs a reason"),
        (lambda c: c.register_node("", H["a"]), "endpoint is empty"),
        (lambda c: c.history("round", "s1"), "not a ledger key"),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(call: Any, message: str) -> None:
    port = RecordingContract({})
    with pytest.raises(FedloraError, match=message):
        call(ConsortiumContract(port))
    assert port.calls == []


def test_election_matches_the_shared_vectors() -> None:
    path = Path(__file__).resolve().parents[2] / "vectors" / "election.json"
    vectors = json.loads(path.read_text())
    assert len(vectors) >= 5
    for vector in vectors:
        elected = elect_aggregator(vector["participants"], vector["round"], vector["attempt"])
        assert elected == vector["aggregator"], vector


def test_election_rotates_over_sorted_participants() -> None:
    participants = ["Org3MSP/c", "Org1MSP/a", "Org2MSP/b"]
    rotation = [elect_aggregator(participants, r, 0) for r in (1, 2, 3, 4)]
    assert rotation == ["Org2MSP/b", "Org3MSP/c", "Org1MSP/a", "Org2MSP/b"]
    assert elect_aggregator(participants, 1, 1) == "Org3MSP/c"
    with pytest.raises(FedloraError):
        elect_aggregator([], 1, 0)


def test_event_payload_parses_and_checks_its_name() -> None:
    event = parse_ledger_event("AggregateProposed", json.dumps(EVENT).encode())
    assert (event.event, event.sha256, event.attempt) == ("AggregateProposed", H["d"], 0)
    node_event = EVENT | {"event": "NodeRegistered", "sessionId": "", "round": 0}
    del node_event["sha256"]
    assert parse_ledger_event("NodeRegistered", json.dumps(node_event).encode()).sha256 == ""
    with pytest.raises(LedgerDataError, match="carries a payload for"):
        parse_ledger_event("RoundFinalized", json.dumps(EVENT).encode())
    with pytest.raises(LedgerDataError, match="unknown contract event"):
        parse_ledger_event("Put", b"{}")
