"""Round objects of the contract (updates, proposals, endorsements) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fedlora.ledger._json import Fields
from fedlora.ledger.model import Rule


@dataclass(frozen=True)
class Update:
    """One participant's submitted local update."""

    sha256: str
    num_examples: int
    metrics: dict[str, float]
    submitted_at: str
    tx_id: str

    @classmethod
    def from_fields(cls, f: Fields) -> Update:
        """Parse an Update object."""
        return cls(
            f.text("sha256"),
            f.integer("numExamples"),
            f.numbers("metrics"),
            f.text("submittedAt"),
            f.text("txId"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sha256": self.sha256,
            "numExamples": self.num_examples,
            "metrics": dict(self.metrics),
            "submittedAt": self.submitted_at,
            "txId": self.tx_id,
        }


class ProposalInput(NamedTuple):
    """One input of an aggregate: whose update, by hash (unpacks as ``node_id, sha256``)."""

    node_id: str
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {"nodeId": self.node_id, "sha256": self.sha256}


def _inputs(f: Fields) -> tuple[ProposalInput, ...]:
    return tuple(ProposalInput(c.text("nodeId"), c.text("sha256")) for c in f.children("inputs"))


@dataclass(frozen=True)
class ProposalDraft:
    """The argument of ProposeAggregate (``optimizer_state_sha256`` "" when the rule has none)."""

    sha256: str
    inputs: tuple[ProposalInput, ...]
    weights: dict[str, float]
    rule: Rule
    optimizer_state_sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sha256": self.sha256,
            "inputs": [i.to_json() for i in self.inputs],
            "weights": dict(self.weights),
            "rule": self.rule.to_json(),
            "optimizerStateSha256": self.optimizer_state_sha256,
        }


@dataclass(frozen=True)
class Endorsement:
    """One participant's verdict on a proposal."""

    sha256: str
    accept: bool
    reason: str
    at: str
    tx_id: str

    @classmethod
    def from_fields(cls, f: Fields) -> Endorsement:
        """Parse an Endorsement object."""
        return cls(
            f.text("sha256"),
            f.flag("accept"),
            f.optional_text("reason"),
            f.text("at"),
            f.text("txId"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sha256": self.sha256,
            "accept": self.accept,
            "reason": self.reason,
            "at": self.at,
            "txId": self.tx_id,
        }


def _endorsements(f: Fields) -> dict[str, Endorsement]:
    return {k: Endorsement.from_fields(v) for k, v in f.keyed_children("endorsements").items()}


@dataclass(frozen=True)
class Proposal:
    """An aggregate proposed by the elected aggregator of one attempt.

    For proposals that lost their attempt (``Round.rejected_proposals``) ``cause`` is
    "rejected" or "timeout", and ``endorsements``/``rejected_at`` record what happened.
    """

    draft: ProposalDraft
    aggregator: str
    attempt: int
    proposed_at: str
    tx_id: str
    cause: str = ""
    endorsements: dict[str, Endorsement] = field(default_factory=dict)
    rejected_at: str = ""

    @property
    def sha256(self) -> str:
        """The proposed aggregate's hash."""
        return self.draft.sha256

    @property
    def inputs(self) -> tuple[ProposalInput, ...]:
        """The updates that went in, as (node id, sha256)."""
        return self.draft.inputs

    @property
    def weights(self) -> dict[str, float]:
        """The weight of each input, by node id."""
        return self.draft.weights

    @property
    def rule(self) -> Rule:
        """The aggregation rule and its parameters."""
        return self.draft.rule

    @property
    def optimizer_state_sha256(self) -> str:
        """The server optimizer state handed to the next round ("" when the rule has none)."""
        return self.draft.optimizer_state_sha256

    @classmethod
    def from_fields(cls, f: Fields, rejected: bool = False) -> Proposal:
        """Parse a Proposal (or, with ``rejected``, a RejectedProposal) object."""
        draft = ProposalDraft(
            f.text("sha256"),
            _inputs(f),
            f.numbers("weights"),
            Rule.from_fields(f.child("rule")),
            f.optional_text("optimizerStateSha256"),
        )
        base = (f.text("aggregator"), f.integer("attempt"), f.text("proposedAt"), f.text("txId"))
        if not rejected:
            return cls(draft, *base)
        return cls(draft, *base, f.text("cause"), _endorsements(f), f.text("rejectedAt"))

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        data = self.draft.to_json() | {
            "aggregator": self.aggregator,
            "attempt": self.attempt,
            "proposedAt": self.proposed_at,
            "txId": self.tx_id,
        }
        if self.cause:
            data |= {
                "cause": self.cause,
                "rejectedAt": self.rejected_at,
                "endorsements": {k: v.to_json() for k, v in self.endorsements.items()},
            }
        return data


@dataclass(frozen=True)
class Round:
    """The state of one round of one session."""

    session_id: str
    round: int
    phase: str
    attempt: int
    aggregator: str
    opened_at: str
    phase_deadline: str
    updates: dict[str, Update]
    proposal: Proposal | None
    endorsements: dict[str, Endorsement]
    rejected_proposals: tuple[Proposal, ...]
    final_sha256: str

    @classmethod
    def from_fields(cls, f: Fields) -> Round:
        """Parse a Round object."""
        proposal = f.optional_child("proposal")
        return cls(
            f.text("sessionId"),
            f.integer("round"),
            f.text("phase"),
            f.integer("attempt"),
            f.text("aggregator"),
            f.text("openedAt"),
            f.optional_text("phaseDeadline"),
            {k: Update.from_fields(v) for k, v in f.keyed_children("updates").items()},
            Proposal.from_fields(proposal) if proposal else None,
            _endorsements(f),
            tuple(Proposal.from_fields(p, rejected=True) for p in f.children("rejectedProposals")),
            f.optional_text("finalSha256"),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sessionId": self.session_id,
            "round": self.round,
            "phase": self.phase,
            "attempt": self.attempt,
            "aggregator": self.aggregator,
            "openedAt": self.opened_at,
            "phaseDeadline": self.phase_deadline,
            "updates": {k: v.to_json() for k, v in self.updates.items()},
            "proposal": self.proposal.to_json() if self.proposal else None,
            "endorsements": {k: v.to_json() for k, v in self.endorsements.items()},
            "rejectedProposals": [p.to_json() for p in self.rejected_proposals],
            "finalSha256": self.final_sha256,
        }
