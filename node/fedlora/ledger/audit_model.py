"""Audit objects of the contract (history, lineage, trail) and the chaincode event payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedlora.ledger._json import Fields, parse_document
from fedlora.ledger.errors import LedgerDataError
from fedlora.ledger.model import Node, Rule, Session
from fedlora.ledger.round_model import Endorsement, ProposalInput, Round

EVENT_NAMES = frozenset(
    {
        "NodeRegistered",
        "NodeUpdated",
        "NodeDeactivated",
        "SessionCreated",
        "SessionJoined",
        "SessionStarted",
        "UpdateSubmitted",
        "AggregationStarted",
        "AggregateProposed",
        "AggregateEndorsed",
        "AggregateRejected",
        "RoundFinalized",
        "AggregatorFailedOver",
        "RoundFailed",
        "SessionCompleted",
    }
)


@dataclass(frozen=True)
class HistoryEntry:
    """One committed version of a ledger key; ``value`` is the decoded JSON (None if deleted)."""

    tx_id: str
    timestamp: str
    is_delete: bool
    value: Any

    @classmethod
    def from_fields(cls, f: Fields) -> HistoryEntry:
        """Parse a history entry."""
        value = f.raw("value")
        if value is not None and not isinstance(value, dict):
            raise LedgerDataError(f"{f.where}.value is not an object or null", "check versions")
        return cls(f.text("txId"), f.text("timestamp"), f.flag("isDelete"), value)

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "txId": self.tx_id,
            "timestamp": self.timestamp,
            "isDelete": self.is_delete,
            "value": self.value,
        }


@dataclass(frozen=True)
class Lineage:
    """Where an adapter came from: its kind, round, producer, inputs, weights and verdicts."""

    sha256: str
    kind: str
    session_id: str
    round: int
    producer: str
    inputs: tuple[ProposalInput, ...]
    weights: dict[str, float]
    rule: Rule | None
    endorsements: dict[str, Endorsement]
    final: bool

    @classmethod
    def from_fields(cls, f: Fields) -> Lineage:
        """Parse an AdapterLineage answer."""
        rule = f.optional_child("rule")
        return cls(
            sha256=f.text("sha256"),
            kind=f.text("kind"),
            session_id=f.text("sessionId"),
            round=f.integer("round"),
            producer=f.text("producer"),
            inputs=tuple(
                ProposalInput(c.text("nodeId"), c.text("sha256")) for c in f.children("inputs")
            ),
            weights=f.numbers("weights"),
            rule=Rule.from_fields(rule) if rule else None,
            endorsements={
                k: Endorsement.from_fields(v) for k, v in f.keyed_children("endorsements").items()
            },
            final=f.flag("final"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sha256": self.sha256,
            "kind": self.kind,
            "sessionId": self.session_id,
            "round": self.round,
            "producer": self.producer,
            "inputs": [i.to_json() for i in self.inputs],
            "weights": dict(self.weights),
            "rule": self.rule.to_json() if self.rule else None,
            "endorsements": {k: v.to_json() for k, v in self.endorsements.items()},
            "final": self.final,
        }


@dataclass(frozen=True)
class Trail:
    """The compliance export of one session: the session, all its rounds, the nodes involved."""

    session: Session
    rounds: tuple[Round, ...]
    nodes: tuple[Node, ...]

    @classmethod
    def from_fields(cls, f: Fields) -> Trail:
        """Parse an ExportTrail answer."""
        return cls(
            Session.from_fields(f.child("session")),
            tuple(Round.from_fields(r) for r in f.children("rounds")),
            tuple(Node.from_fields(n) for n in f.children("nodes")),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "session": self.session.to_json(),
            "rounds": [r.to_json() for r in self.rounds],
            "nodes": [n.to_json() for n in self.nodes],
        }


@dataclass(frozen=True)
class LedgerEvent:
    """The payload of a contract event; ``node_id`` is the actor, ``subject`` whom it is about."""

    event: str
    session_id: str
    round: int
    phase: str
    attempt: int
    aggregator: str
    node_id: str
    sha256: str
    tx_id: str
    subject: str = ""

    @classmethod
    def from_fields(cls, f: Fields) -> LedgerEvent:
        """Parse an event payload."""
        return cls(
            event=f.text("event"),
            session_id=f.text("sessionId"),
            round=f.integer("round"),
            phase=f.text("phase"),
            attempt=f.integer("attempt"),
            aggregator=f.text("aggregator"),
            node_id=f.text("nodeId"),
            sha256=f.optional_text("sha256"),
            tx_id=f.text("txId"),
            subject=f.optional_text("subject"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object (``sha256`` and ``subject`` only when set, as the chaincode does)."""
        data: dict[str, Any] = {
            "event": self.event,
            "sessionId": self.session_id,
            "round": self.round,
            "phase": self.phase,
            "attempt": self.attempt,
            "aggregator": self.aggregator,
            "nodeId": self.node_id,
            "txId": self.tx_id,
        }
        if self.sha256:
            data["sha256"] = self.sha256
        if self.subject:
            data["subject"] = self.subject
        return data


def parse_ledger_event(event_name: str, payload: bytes) -> LedgerEvent:
    """Parse a chaincode event of the consortium contract and check its name agrees.

    Raises
    ------
    LedgerDataError
        Unknown event name, malformed payload, or a payload naming a different event.
    """
    if event_name not in EVENT_NAMES:
        raise LedgerDataError(
            f"unknown contract event {event_name!r}", "the chaincode is newer than this client"
        )
    parsed = LedgerEvent.from_fields(Fields(parse_document(payload, event_name), event_name))
    if parsed.event != event_name:
        raise LedgerDataError(
            f"event {event_name} carries a payload for {parsed.event}", "check the chaincode"
        )
    return parsed
