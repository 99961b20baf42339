"""The chain's records, declared once: each class mirrors one Go struct of the contract.

``chaincode/contract/types.go`` (and ``pages.go``) is the source of truth. Every class here is a
frozen :class:`msgspec.Struct` whose JSON is derived from its field declarations: snake_case
attributes, lowerCamelCase JSON names (``rename="camel"`` turns ``tls_cert_sha256`` into
``tlsCertSha256``), so adding a field is one line in the Go struct and one line here, and
``tests/unit/ledger/test_records_match_go.py`` fails when the two disagree.

Why msgspec rather than pydantic: msgspec decodes strictly from the declaration itself (a string
where an int belongs, or ``true`` where a number belongs, is refused, with the JSON path of the
field in the message), with no validators or aliases to keep in step with the fields; unknown
fields are ignored, so a newer contract may add some; it is a small C extension with no further
dependencies, several times faster than pydantic on the megabyte-sized rounds and trails the
audit reads, and its structs are plain frozen value objects the daemon passes around. Decoding
and encoding live in :mod:`fedlora.ledger._json`.

Conventions. A field Go always writes is required. Go writes a nil slice or map as ``null``;
such a ``null`` reads as empty. Fields that older records lack or that Go omits when empty have
defaults. Timestamps are RFC 3339 UTC strings as the chaincode wrote them (``""`` when unset).
The small value types (:class:`Rule`, :class:`LoraSpec`, :class:`Deadlines`,
:class:`AggregateInput`) may be built positionally; every other record takes keywords only.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from fedlora.ledger._json import decode
from fedlora.ledger.errors import LedgerDataError

T = TypeVar("T")


class Record(msgspec.Struct, frozen=True, rename="camel"):
    """Base of every chain record: JSON names in lowerCamelCase.

    msgspec passes its options on to subclasses; each still says ``frozen=True`` so that mypy
    knows too.
    """

    def to_json(self) -> dict[str, object]:
        """The JSON object as dicts, lists and scalars (what the CLI prints with ``--json``)."""
        data: dict[str, object] = msgspec.json.decode(msgspec.json.encode(self))
        return data


# ---- session spec ---------------------------------------------------------------------------


class Rule(Record, frozen=True):
    """An aggregation rule and its numeric parameters (Go ``Rule``)."""

    name: str
    params: dict[str, float] = {}


class LoraSpec(Record, frozen=True):
    """The adapter shape every participant trains (Go ``LoraConfig``; ``alpha`` is a float)."""

    rank: int
    alpha: float
    dropout: float
    target_modules: tuple[str, ...]
    top_layers: int = 0  # adapt only the top N decoder layers; 0 means all


class Deadlines(Record, frozen=True):
    """Seconds each phase may last before ReportTimeout is allowed (Go ``Deadlines``)."""

    collect_seconds: int
    aggregate_seconds: int
    endorse_seconds: int


class Privacy(Record, frozen=True, kw_only=True):
    """A session's differential-privacy budget (Go ``Privacy``), fixed when it is created.

    Every participant trains with ``noise_multiplier`` and ``clip_norm``; the epsilon it has
    spent (for ``delta``) may never pass ``epsilon``, which the contract enforces on each update.
    """

    clip_norm: float
    delta: float
    epsilon: float
    noise_multiplier: float


class SessionSpec(Record, frozen=True, kw_only=True, omit_defaults=True):
    """The argument of CreateSession (Go ``SessionSpec``); ``participants`` empty: join mode.

    The three limits are sent only when set (the contract applies its defaults otherwise):
    ``allowed_orgs`` (join mode: MSP ids whose nodes may join; empty: any), ``max_examples``
    (cap on an update's declared examples; 0: the contract's default) and ``max_nodes_per_org``
    (join mode: nodes one org may enrol; 0: no cap). ``privacy`` is sent only when given: the
    session's differential-privacy budget (None: no DP).
    """

    allowed_orgs: tuple[str, ...] = ()
    base_model: str
    base_model_sha256: str
    dataset_tag: str
    deadlines: Deadlines
    lora: LoraSpec
    max_examples: int = 0
    max_nodes_per_org: int = 0
    participants: tuple[str, ...]
    privacy: Privacy | None = None
    quorum: int
    rounds: int
    rule: Rule
    session_id: str


# ---- nodes and sessions ---------------------------------------------------------------------


class Node(Record, frozen=True, kw_only=True):
    """A registered member node; its id is ``<mspId>/<certificate CN>`` (Go ``Node``)."""

    common_name: str
    endpoint: str
    msp_id: str
    node_id: str
    registered_at: str
    status: str
    tls_cert_sha256: str
    updated_at: str


class Session(Record, frozen=True, kw_only=True):
    """A session as stored on the ledger: its spec plus creator, status and progress."""

    allowed_orgs: tuple[str, ...] = ()
    base_model: str
    base_model_sha256: str
    created_at: str
    creator: str
    creator_msp: str
    current_round: int
    dataset_tag: str
    deadlines: Deadlines
    enrolment: str = ""  # "list" or "join"
    failure_reason: str = ""  # why a failed session failed
    final_adapter_sha256: str = ""
    lora: LoraSpec
    max_examples: int = 0
    max_nodes_per_org: int = 0
    participants: tuple[str, ...]  # sorted node ids, fixed at StartSession
    privacy: Privacy | None = None  # the DP budget; no transaction changes it
    quorum: int
    rounds: int
    rule: Rule
    session_id: str
    started_at: str = ""
    status: str

    @property
    def rule_name(self) -> str:
        """The aggregation rule's name."""
        return self.rule.name


# ---- rounds ---------------------------------------------------------------------------------


class Update(Record, frozen=True, kw_only=True):
    """One participant's submitted local update (Go ``Update``).

    ``epsilon_spent`` is the epsilon its node had spent in the session with this update (0 in a
    session without a privacy budget, and in records older than the field).
    """

    epsilon_spent: float = 0.0
    metrics: dict[str, float]
    num_examples: int
    sha256: str
    submitted_at: str
    tx_id: str


class AggregateInput(Record, frozen=True):
    """One update that went into an aggregate: whose, by hash (Go ``Input``)."""

    node_id: str
    sha256: str


class ProposalDraft(Record, frozen=True, kw_only=True):
    """The argument of ProposeAggregate (Go ``ProposalInput``): an aggregate and how it was made.

    ``rule`` must be the session's own rule; ``optimizer_state_sha256`` is "" when the rule
    keeps no server state.
    """

    inputs: tuple[AggregateInput, ...]
    optimizer_state_sha256: str = ""
    rule: Rule
    sha256: str
    weights: dict[str, float]


class Proposal(ProposalDraft, frozen=True, kw_only=True):
    """An aggregate as the chain recorded it for one attempt (Go ``Proposal``)."""

    aggregator: str
    attempt: int
    proposed_at: str
    tx_id: str


class Endorsement(Record, frozen=True, kw_only=True):
    """One participant's verdict on a proposal (Go ``Endorsement``)."""

    accept: bool
    at: str
    reason: str = ""
    sha256: str
    tx_id: str


class RejectedProposal(Proposal, frozen=True, kw_only=True):
    """A proposal that lost its attempt, with the verdicts it got (Go ``RejectedProposal``).

    ``cause`` is "rejected" (quorum became unreachable) or "timeout" (endorse deadline passed).
    """

    cause: str
    endorsements: dict[str, Endorsement]
    rejected_at: str


class Round(Record, frozen=True, kw_only=True):
    """The state of one round of one session (Go ``Round``)."""

    aggregator: str
    attempt: int
    endorsements: dict[str, Endorsement]
    final_sha256: str = ""
    opened_at: str
    phase: str  # collecting, aggregating, endorsing, final or failed
    phase_deadline: str = ""
    proposal: Proposal | None = None
    rejected_proposals: tuple[RejectedProposal, ...]
    round: int
    session_id: str
    updates: dict[str, Update]


# ---- audit ----------------------------------------------------------------------------------


class Lineage(Record, frozen=True, kw_only=True):
    """Where an adapter came from and who vouched for it (Go ``Lineage``)."""

    endorsements: dict[str, Endorsement]
    final: bool
    inputs: tuple[AggregateInput, ...]
    kind: str  # update, aggregate or optimizerState
    producer: str
    round: int
    rule: Rule | None = None  # None for an update
    session_id: str
    sha256: str
    weights: dict[str, float]


class HistoryEntry(Record, frozen=True, kw_only=True):
    """One committed version of a ledger key; ``value`` is the stored object, None if deleted."""

    is_delete: bool
    timestamp: str
    tx_id: str
    value: dict[str, object] | None


class Trail(Record, frozen=True, kw_only=True):
    """The compliance export of one session: the session, all its rounds, the nodes involved."""

    nodes: tuple[Node, ...]
    rounds: tuple[Round, ...]
    session: Session


class Page(Record, Generic[T], frozen=True, kw_only=True):
    """One page of a paged list query; ``bookmark`` fetches the next, "" after the last."""

    bookmark: str
    items: tuple[T, ...]


class LedgerEvent(Record, frozen=True, kw_only=True, omit_defaults=True):
    """The payload of every contract event (Go ``Event``).

    ``node_id`` is the actor; ``subject`` is whom a node event is about when that differs.
    ``sha256`` and ``subject`` are left out when empty, as the chaincode does.
    """

    aggregator: str
    attempt: int
    event: str
    node_id: str
    phase: str
    round: int
    session_id: str
    sha256: str = ""
    subject: str = ""
    tx_id: str


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
    parsed = decode(payload, LedgerEvent, event_name)
    if parsed.event != event_name:
        raise LedgerDataError(
            f"event {event_name} carries a payload for {parsed.event}", "check the chaincode"
        )
    return parsed
