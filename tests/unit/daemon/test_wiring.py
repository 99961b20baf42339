"""Wiring the coordinator to the chain: a proposal goes out as computed, its rule with it; peers
are authorized only while their TLS certificate is registered and active."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from msgspec.structs import replace
from tests.unit.daemon.fake_ledger import make_session

from fedlora.artifacts import ContentStore
from fedlora.daemon.wiring import ChainAuthorizer, ChainLedger, SessionStoreSource
from fedlora.ledger import AggregateInput, ProposalDraft, Rule, Session
from fedlora.ledger.errors import EvaluateError

SHA = "ab" * 32


@dataclass
class StubNode:
    node_id: str
    tls_cert_sha256: str
    status: str


@dataclass
class StubContract:
    nodes: list[StubNode] = field(default_factory=list)
    list_calls: int = 0
    proposals: list[Any] = field(default_factory=list)

    def list_nodes(self) -> tuple[StubNode, ...]:
        self.list_calls += 1
        return tuple(self.nodes)

    participants: tuple[str, ...] = ()
    recorded: dict[str, str] = field(default_factory=dict)  # sha256 -> session id
    session_reads: int = 0

    def get_session(self, session_id: str) -> Session:
        self.session_reads += 1
        return replace(make_session(session_id, [], 1, 1), participants=self.participants)

    def adapter_lineage(self, sha256: str, session_id: str = "") -> Any:
        if self.recorded.get(sha256) != session_id:
            message = "chaincode response 500, [NOT_FOUND] no adapter record"
            raise EvaluateError("AdapterLineage", grpc.StatusCode.UNKNOWN, message)
        return object()

    def propose_aggregate(self, session_id: str, round_number: int, draft: Any) -> None:
        self.proposals.append((session_id, round_number, draft))


def test_a_proposal_goes_to_the_chain_as_computed_with_its_rule() -> None:
    contract = StubContract()
    ledger = ChainLedger(contract)  # type: ignore[arg-type]
    draft = ProposalDraft(
        inputs=(AggregateInput("Org1MSP/a", "cd" * 32),),
        rule=Rule("fedlora", {"fairness_q": 3.0}),
        sha256=SHA,
        weights={"Org1MSP/a": 1.0},
    )
    ledger.propose_aggregate("s1", 2, draft)
    assert contract.proposals == [("s1", 2, draft)]
    assert contract.session_reads == 0  # the rule travels with the draft: no second read


def test_only_active_registered_certificates_are_authorized() -> None:
    registered, retired, stranger = b"cert-a", b"cert-b", b"cert-c"
    contract = StubContract(
        [
            StubNode("Org1MSP/a", hashlib.sha256(registered).hexdigest(), "active"),
            StubNode("Org2MSP/b", hashlib.sha256(retired).hexdigest(), "inactive"),
        ]
    )
    authorizer = ChainAuthorizer(contract)  # type: ignore[arg-type]
    assert authorizer.authorize(registered) == "Org1MSP/a"
    assert authorizer.authorize(retired) is None
    assert authorizer.authorize(stranger) is None
    assert contract.list_calls == 1  # cached: a handshake does not cost a ledger query


def test_a_new_registration_is_seen_once_the_cache_expires() -> None:
    contract = StubContract()
    authorizer = ChainAuthorizer(contract, ttl_seconds=0.0)  # type: ignore[arg-type]
    assert authorizer.authorize(b"late") is None
    contract.nodes.append(StubNode("Org3MSP/c", hashlib.sha256(b"late").hexdigest(), "active"))
    assert authorizer.authorize(b"late") == "Org3MSP/c"


def test_only_participants_of_the_nodes_session_are_served() -> None:
    member, outsider = b"cert-member", b"cert-outsider"
    contract = StubContract(
        [
            StubNode("Org1MSP/a", hashlib.sha256(member).hexdigest(), "active"),
            StubNode("Org2MSP/b", hashlib.sha256(outsider).hexdigest(), "active"),
        ],
        participants=("Org1MSP/a", "Org3MSP/c"),
    )
    authorizer = ChainAuthorizer(contract, "s1")  # type: ignore[arg-type]
    assert authorizer.authorize(member) == "Org1MSP/a"
    assert authorizer.authorize(outsider) is None  # registered, but not in this session


def test_only_artifacts_recorded_in_the_session_are_served(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    this_session, other_session = store.put(b"update of s1"), store.put(b"update of s0")
    contract = StubContract(recorded={this_session: "s1", other_session: "s0"})
    source = SessionStoreSource(store, contract, "s1")  # type: ignore[arg-type]
    assert source.open(this_session) == b"update of s1"
    assert source.open(other_session) is None  # its hash is public, its bytes are not
    assert source.open("cd" * 32) is None  # not held at all
