"""The typed consortium contract: arguments sent, JSON decoded strictly, records round-tripped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fedlora.errors import FedloraError
from fedlora.ledger import (
    AggregateInput,
    ConsortiumContract,
    Deadlines,
    HistoryEntry,
    LedgerDataError,
    LedgerEvent,
    Lineage,
    LoraSpec,
    Node,
    ProposalDraft,
    RejectedProposal,
    Round,
    Rule,
    Session,
    SessionSpec,
    Trail,
    elect_aggregator,
    parse_ledger_event,
)
from fedlora.ledger._json import argument, decode
from fedlora.ledger.contract import MAX_REASON_BYTES, fit_reason

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
SESSION = SPEC | {  # every field, as Go writes a Session
    "participants": ["Org1MSP/peer0", "Org2MSP/peer0"],
    "allowedOrgs": [],
    "maxExamples": 0,
    "maxNodesPerOrg": 0,
    "creator": "Org1MSP/Admin",
    "creatorMsp": "Org1MSP",
    "status": "running",
    "currentRound": 1,
    "createdAt": TS,
    "startedAt": TS,
    "finalAdapterSha256": "",
    "enrolment": "join",
    "failureReason": "",
    "privacy": None,
}
UPDATE = {
    "epsilonSpent": 0,
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


def _decode(kind: type[Any], document: object) -> Any:
    return decode(json.dumps(document).encode(), kind, kind.__name__)


@pytest.mark.parametrize(("kind", "document"), ROUND_TRIPS)
def test_every_record_round_trips_through_json(kind: type[Any], document: dict[str, Any]) -> None:
    assert _decode(kind, document).to_json() == document


def test_decoded_values_land_in_the_right_fields() -> None:
    round_state = _decode(Round, ROUND)
    assert round_state.updates["Org1MSP/peer0"].num_examples == 120
    assert round_state.proposal is not None and round_state.proposal.sha256 == H["d"]
    rejected = round_state.rejected_proposals[0]
    assert isinstance(rejected, RejectedProposal) and rejected.cause == "rejected"
    assert rejected.endorsements["Org1MSP/peer0"].accept is False
    session = _decode(Session, SESSION)
    assert session.participants == ("Org1MSP/peer0", "Org2MSP/peer0")
    assert session.lora == LoraSpec(8, 16.0, 0.05, ("q_proj", "v_proj"), 6)
    assert (session.rounds, session.quorum, session.rule_name) == (3, 2, "fedavg")
    assert session.rule == Rule("fedavg", {"serverLr": 1.0})
    assert session.deadlines == Deadlines(600, 300, 300)
    proposal = round_state.proposal
    assert proposal.inputs == (AggregateInput("Org1MSP/peer0", H["c"]),)
    assert proposal.weights == {"Org1MSP/peer0": 1.0} and proposal.optimizer_state_sha256 == ""
    assert proposal.rule == Rule("fedavg")


def test_go_nulls_for_empty_lists_and_maps_read_as_empty() -> None:
    document = ROUND | {"updates": None, "endorsements": None, "rejectedProposals": None}
    parsed = _decode(Round, document)
    assert (parsed.updates, parsed.endorsements, parsed.rejected_proposals) == ({}, {}, ())
    spec = _decode(SessionSpec, SPEC | {"participants": None, "allowedOrgs": None})
    assert (spec.participants, spec.allowed_orgs) == ((), ())
    assert _decode(Lineage, LINEAGE | {"rule": None, "weights": None}).rule is None
    assert decode(b"null", tuple[Node, ...], "ListNodes") == ()


def test_a_history_value_is_kept_as_stored_nulls_included() -> None:
    stored = ROUND | {"proposal": None}
    entry = _decode(HistoryEntry, HISTORY | {"value": stored})
    assert entry.value == stored


def test_fields_a_newer_contract_adds_are_ignored() -> None:
    node = _decode(Node, NODE | {"region": "eu-west", "tags": [1, 2]})
    assert node.endpoint == NODE["endpoint"]
    round_state = _decode(Round, ROUND | {"updates": {"x": UPDATE | {"gpuHours": 1.5}}})
    assert round_state.updates["x"].sha256 == H["c"]


@pytest.mark.parametrize(
    ("kind", "document", "message"),
    [
        (
            Node,
            {k: v for k, v in NODE.items() if k != "endpoint"},
            "missing required field `endpoint`",
        ),
        (Node, NODE | {"status": 1}, r"Expected `str`, got `int` - at `\$.status`"),
        (Node, NODE | {"status": None}, r"Expected `str`, got `null` - at `\$.status`"),
        (Session, SESSION | {"rounds": "3"}, r"Expected `int`, got `str` - at `\$.rounds`"),
        (Session, SESSION | {"quorum": True}, r"Expected `int`, got `bool` - at `\$.quorum`"),
        (Session, SESSION | {"currentRound": 1.5}, r"got `float` - at `\$.currentRound`"),
        (Session, SESSION | {"lora": SPEC["lora"] | {"alpha": "16"}}, r"at `\$.lora.alpha`"),
        (Round, ROUND | {"updates": {"x": UPDATE | {"metrics": {"loss": "low"}}}}, "metrics"),
        (Round, ROUND | {"endorsements": {"x": ENDORSEMENT | {"accept": "true"}}}, "`bool`"),
        (Round, ROUND | {"updates": []}, r"Expected `object`, got `array` - at `\$.updates`"),
        (Session, [SESSION], "Expected `object`, got `array`"),
    ],
)
def test_malformed_documents_are_refused_with_the_field_named(
    kind: type[Any], document: object, message: str
) -> None:
    with pytest.raises(LedgerDataError, match=message) as caught:
        _decode(kind, document)
    assert f"{kind.__name__} answered a malformed record" in str(caught.value)


def test_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(LedgerDataError, match="GetNode is not valid JSON"):
        decode(b'{"nodeId": ', Node, "GetNode")


# What this client sent before the records were declared with msgspec (hand-written to_json and
# json.dumps), byte for byte: the contract refuses unknown and case-variant keys, and a signed
# argument is best kept stable.
WIRE_SPEC = (
    '{"baseModel":"SmolLM2-135M","baseModelSha256":"' + H["b"] + '","datasetTag":'
    '"icd10:dirichlet:0.1:3:0","deadlines":{"aggregateSeconds":300,"collectSeconds":600,'
    '"endorseSeconds":120},"lora":{"alpha":16.0,"dropout":0.05,"rank":8,"targetModules":'
    '["q_proj","v_proj"],"topLayers":6},"participants":[],"quorum":2,"rounds":3,"rule":'
    '{"name":"fedlora","params":{"fairness_q":3.0,"server_lr":1e-05}},"sessionId":"s1"}'
)
WIRE_SPEC_LIMITS = (
    '{"allowedOrgs":["Org1MSP","Org2MSP"],"baseModel":"SmolLM2-135M","baseModelSha256":"'
    + H["b"]
    + '","datasetTag":"icd10:dirichlet:0.1:3:0","deadlines":{"aggregateSeconds":300,'
    '"collectSeconds":600,"endorseSeconds":120},"lora":{"alpha":24.5,"dropout":0.0,"rank":4,'
    '"targetModules":["q_proj"],"topLayers":0},"maxExamples":5000,"maxNodesPerOrg":2,'
    '"participants":["Org1MSP/a","Org2MSP/b"],"quorum":2,"rounds":3,"rule":{"name":"fedavg",'
    '"params":{}},"sessionId":"s\\u00e9ance-1"}'
)
WIRE_DRAFT = (
    '{"inputs":[{"nodeId":"Org1MSP/a","sha256":"' + H["a"] + '"},{"nodeId":"Org2MSP/b",'
    '"sha256":"' + H["c"] + '"}],"optimizerStateSha256":"' + H["b"] + '","rule":{"name":'
    '"fedlora","params":{"fairness_q":3.0}},"sha256":"' + H["d"] + '","weights":'
    '{"Org1MSP/a":0.25,"Org2MSP/b":0.75}}'
)
WIRE_DRAFT_EMPTY = (
    '{"inputs":[],"optimizerStateSha256":"","rule":{"name":"fedavg","params":{}},"sha256":"'
    + H["d"]
    + '","weights":{}}'
)


def _spec(**changes: Any) -> SessionSpec:
    base: dict[str, Any] = {
        "session_id": "s1",
        "base_model": "SmolLM2-135M",
        "base_model_sha256": H["b"],
        "lora": LoraSpec(8, 16.0, 0.05, ("q_proj", "v_proj"), 6),
        "dataset_tag": "icd10:dirichlet:0.1:3:0",
        "rounds": 3,
        "quorum": 2,
        "deadlines": Deadlines(600, 300, 120),
        "rule": Rule("fedlora", {"fairness_q": 3.0, "server_lr": 1e-05}),
        "participants": (),
    }
    return SessionSpec(**(base | changes))


def test_create_session_and_propose_arguments_are_the_bytes_sent_before() -> None:
    limited = _spec(
        session_id="s\u00e9ance-1",
        participants=("Org1MSP/a", "Org2MSP/b"),
        allowed_orgs=("Org1MSP", "Org2MSP"),
        max_examples=5000,
        max_nodes_per_org=2,
        lora=LoraSpec(4, 24.5, 0.0, ("q_proj",)),
        rule=Rule("fedavg"),
    )
    draft = ProposalDraft(
        inputs=(AggregateInput("Org1MSP/a", H["a"]), AggregateInput("Org2MSP/b", H["c"])),
        optimizer_state_sha256=H["b"],
        rule=Rule("fedlora", {"fairness_q": 3.0}),
        sha256=H["d"],
        weights={"Org1MSP/a": 0.25, "Org2MSP/b": 0.75},
    )
    empty = ProposalDraft(inputs=(), rule=Rule("fedavg"), sha256=H["d"], weights={})
    assert argument(_spec()) == WIRE_SPEC
    assert argument(limited) == WIRE_SPEC_LIMITS
    assert argument(draft) == WIRE_DRAFT
    assert argument(empty) == WIRE_DRAFT_EMPTY


def test_an_argument_with_nan_is_refused_before_it_is_sent() -> None:
    with pytest.raises(LedgerDataError, match="NaN or infinity"):
        argument(_spec(lora=LoraSpec(8, float("nan"), 0.0, ("q_proj",))))


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
    spec = _decode(SessionSpec, SPEC)
    session = ConsortiumContract(port).create_session(spec)
    (_, name, args) = port.calls[0]
    assert name == "CreateSession" and json.loads(args[0]) == SPEC
    assert session.enrolment == "join"


def test_propose_and_endorse_arguments() -> None:
    port = RecordingContract(ROUND)
    contract = ConsortiumContract(port)
    draft = ProposalDraft(
        inputs=(AggregateInput("Org1MSP/peer0", H["c"]),),
        rule=Rule("fedavg"),
        sha256=H["d"],
        weights={"Org1MSP/peer0": 1.0},
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


def test_paged_lists_carry_their_bookmark() -> None:
    port = RecordingContract({"bookmark": "\x00node\x00Org2MSP/peer0\x00", "items": [NODE]})
    page = ConsortiumContract(port).list_nodes_page(1)
    assert [n.node_id for n in page.items] == ["Org1MSP/peer0"] and page.bookmark
    port = RecordingContract({"bookmark": "", "items": None})
    last = ConsortiumContract(port).list_sessions_page(50, "\x00session\x00s9\x00")
    assert (last.bookmark, last.items) == ("", ())
    assert port.calls == [("evaluate", "ListSessionsPage", ("50", "\x00session\x00s9\x00"))]


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
        (lambda c: c.list_nodes_page(0), "invalid page size"),
        (lambda c: c.list_sessions_page(1001), "invalid page size"),
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


def test_a_long_rejection_reason_is_cut_to_what_the_contract_accepts() -> None:
    # A reason quoting a peer's error ran to 787 bytes live, and the contract refused the
    # whole verdict (BAD_ARGUMENT): the endorsement failed instead of rejecting.
    port = RecordingContract(ROUND)
    reason = "é" + "x" * 300 + " end"
    ConsortiumContract(port).endorse_aggregate("s1", 2, H["d"], accept=False, reason=reason)
    sent = port.calls[0][2][4]
    assert len(sent.encode("utf-8")) <= MAX_REASON_BYTES and sent.endswith("...")
    assert sent.startswith("éxxx") and fit_reason("short") == "short"
