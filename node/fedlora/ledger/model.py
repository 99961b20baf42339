"""The contract's objects as frozen dataclasses, parsed strictly from and written back to JSON.

Field names follow the agreed API in snake_case; ``to_json()`` gives the lowerCamelCase JSON
object again. Timestamps are RFC 3339 UTC strings as the chaincode wrote them ("" when unset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fedlora.ledger._json import Fields


@dataclass(frozen=True)
class Node:
    """A registered member node."""

    node_id: str
    msp_id: str
    common_name: str
    endpoint: str
    tls_cert_sha256: str
    status: str
    registered_at: str
    updated_at: str

    @classmethod
    def from_fields(cls, f: Fields) -> Node:
        """Parse a Node object."""
        return cls(
            f.text("nodeId"),
            f.text("mspId"),
            f.text("commonName"),
            f.text("endpoint"),
            f.text("tlsCertSha256"),
            f.text("status"),
            f.text("registeredAt"),
            f.text("updatedAt"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "nodeId": self.node_id,
            "mspId": self.msp_id,
            "commonName": self.common_name,
            "endpoint": self.endpoint,
            "tlsCertSha256": self.tls_cert_sha256,
            "status": self.status,
            "registeredAt": self.registered_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True)
class LoraSpec:
    """LoRA hyper-parameters every participant must use."""

    rank: int
    alpha: float
    dropout: float
    target_modules: tuple[str, ...]
    top_layers: int = 0  # adapt only the top N decoder layers; 0 means all

    @classmethod
    def from_fields(cls, f: Fields) -> LoraSpec:
        """Parse the ``lora`` object."""
        return cls(
            f.integer("rank"),
            f.number("alpha"),
            f.number("dropout"),
            f.texts("targetModules"),
            f.integer("topLayers"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "rank": self.rank,
            "alpha": self.alpha,
            "dropout": self.dropout,
            "targetModules": list(self.target_modules),
            "topLayers": self.top_layers,
        }


@dataclass(frozen=True)
class Deadlines:
    """Seconds each phase may last before ReportTimeout is allowed."""

    collect_seconds: int
    aggregate_seconds: int
    endorse_seconds: int

    @classmethod
    def from_fields(cls, f: Fields) -> Deadlines:
        """Parse the ``deadlines`` object."""
        return cls(
            f.integer("collectSeconds"), f.integer("aggregateSeconds"), f.integer("endorseSeconds")
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "collectSeconds": self.collect_seconds,
            "aggregateSeconds": self.aggregate_seconds,
            "endorseSeconds": self.endorse_seconds,
        }


@dataclass(frozen=True)
class Rule:
    """An aggregation rule and its numeric parameters."""

    name: str
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, f: Fields) -> Rule:
        """Parse a ``rule`` object."""
        return cls(f.text("name"), f.numbers("params"))

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {"name": self.name, "params": dict(self.params)}


@dataclass(frozen=True)
class SessionSpec:
    """The input of CreateSession; ``participants`` empty means "whoever joins"."""

    session_id: str
    base_model: str
    base_model_sha256: str
    lora: LoraSpec
    dataset_tag: str
    rounds: int
    quorum: int
    deadlines: Deadlines
    rule: Rule
    participants: tuple[str, ...] = ()
    allowed_orgs: tuple[str, ...] = ()  # join mode: MSP ids whose nodes may join (empty: any)
    max_examples: int = 0  # cap on an update's declared examples (0: the contract's default)
    max_nodes_per_org: int = 0  # join mode: nodes one org may enrol (0: no per-org cap)

    @classmethod
    def from_fields(cls, f: Fields) -> SessionSpec:
        """Parse the spec fields of a SessionSpec or Session object."""
        return cls(
            f.text("sessionId"),
            f.text("baseModel"),
            f.text("baseModelSha256"),
            LoraSpec.from_fields(f.child("lora")),
            f.text("datasetTag"),
            f.integer("rounds"),
            f.integer("quorum"),
            Deadlines.from_fields(f.child("deadlines")),
            Rule.from_fields(f.child("rule")),
            f.texts("participants"),
            f.texts("allowedOrgs", required=False),
            f.optional_integer("maxExamples"),
            f.optional_integer("maxNodesPerOrg"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object (exactly the fields CreateSession accepts)."""
        return {
            "sessionId": self.session_id,
            "baseModel": self.base_model,
            "baseModelSha256": self.base_model_sha256,
            "lora": self.lora.to_json(),
            "datasetTag": self.dataset_tag,
            "rounds": self.rounds,
            "quorum": self.quorum,
            "deadlines": self.deadlines.to_json(),
            "rule": self.rule.to_json(),
            "participants": list(self.participants),
        } | self._limits_json()

    def _limits_json(self) -> dict[str, Any]:
        """The optional limits, only those set (the contract applies its defaults otherwise)."""
        limits: dict[str, Any] = {}
        if self.allowed_orgs:
            limits["allowedOrgs"] = list(self.allowed_orgs)
        if self.max_examples:
            limits["maxExamples"] = self.max_examples
        if self.max_nodes_per_org:
            limits["maxNodesPerOrg"] = self.max_nodes_per_org
        return limits


@dataclass(frozen=True)
class Session:
    """A session as stored on the ledger: its spec plus creator, status and progress."""

    spec: SessionSpec
    creator: str
    creator_msp: str
    status: str
    current_round: int
    created_at: str
    started_at: str
    final_adapter_sha256: str
    enrolment: str = ""
    failure_reason: str = ""

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.spec.session_id

    @property
    def participants(self) -> tuple[str, ...]:
        """Sorted participant node ids (fixed at StartSession)."""
        return self.spec.participants

    @property
    def rounds(self) -> int:
        """How many rounds the session runs."""
        return self.spec.rounds

    @property
    def quorum(self) -> int:
        """Accepting endorsements needed to finalize a round."""
        return self.spec.quorum

    @property
    def rule_name(self) -> str:
        """The aggregation rule's name."""
        return self.spec.rule.name

    @property
    def rule_params(self) -> dict[str, float]:
        """The aggregation rule's parameters."""
        return self.spec.rule.params

    @classmethod
    def from_fields(cls, f: Fields) -> Session:
        """Parse a Session object."""
        return cls(
            SessionSpec.from_fields(f),
            f.text("creator"),
            f.text("creatorMsp"),
            f.text("status"),
            f.integer("currentRound"),
            f.text("createdAt"),
            f.optional_text("startedAt"),
            f.optional_text("finalAdapterSha256"),
            f.optional_text("enrolment"),
            f.optional_text("failureReason"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        extra = {"enrolment": self.enrolment} if self.enrolment else {}
        if self.failure_reason:
            extra["failureReason"] = self.failure_reason
        return (
            self.spec.to_json()
            | extra
            | {
                "creator": self.creator,
                "creatorMsp": self.creator_msp,
                "status": self.status,
                "currentRound": self.current_round,
                "createdAt": self.created_at,
                "startedAt": self.started_at,
                "finalAdapterSha256": self.final_adapter_sha256,
            }
        )
