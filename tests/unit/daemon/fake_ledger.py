"""An in-memory stand-in for the consortium contract, for daemon unit tests only.

It follows the contract's round rules closely enough to drive coordinators through a session:
collect -> aggregate -> endorse -> final, round-robin election, quorum, failover on rejection.
It keeps and answers the contract's own records (:mod:`fedlora.ledger.records`), replacing a
record on every change as the chain writes a new version of a key.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from msgspec.structs import asdict, replace

from fedlora.daemon.decide import parse_timestamp
from fedlora.errors import FedloraError
from fedlora.ledger import (
    Deadlines,
    Endorsement,
    LoraSpec,
    Proposal,
    ProposalDraft,
    RejectedProposal,
    Round,
    Rule,
    Session,
    Update,
    elect_aggregator,
)

FAR_FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"
NOW = "2026-01-01T00:00:00Z"


def make_session(
    session_id: str,
    participants: list[str],
    rounds: int,
    quorum: int,
    rule: str = "fedavg",
    params: Mapping[str, float] | None = None,
) -> Session:
    """A running session record, as StartSession leaves it."""
    return Session(
        base_model="tiny",
        base_model_sha256="0" * 64,
        created_at=NOW,
        creator="Org1MSP/Admin",
        creator_msp="Org1MSP",
        current_round=1,
        dataset_tag="test",
        deadlines=Deadlines(600, 600, 600),
        enrolment="list",
        lora=LoraSpec(2, 4.0, 0.0, ("q_proj",)),
        participants=tuple(sorted(participants)),
        quorum=quorum,
        rounds=rounds,
        rule=Rule(rule, dict(params or {})),
        session_id=session_id,
        started_at=NOW,
        status="running",
    )


def open_round(session: Session, number: int) -> Round:
    """A new round in collection, its aggregator elected as the contract elects."""
    return Round(
        aggregator=elect_aggregator(session.participants, number, 0),
        attempt=0,
        endorsements={},
        opened_at=NOW,
        phase="collecting",
        phase_deadline=FAR_FUTURE,
        rejected_proposals=(),
        round=number,
        session_id=session.session_id,
        updates={},
    )


class FakeLedger:
    """One shared instance plays the chain for every node; each node gets a bound view."""

    def __init__(self, session: Session, endpoints: Mapping[str, str]) -> None:
        self.session = session
        self.endpoints = dict(endpoints)
        self.tls_fingerprints: dict[str, str] = {}  # node -> registered TLS certificate SHA-256
        self.rounds = {1: open_round(session, 1)}
        self.log: list[tuple[str, str, int]] = []
        self.known_updates: set[str] = set()  # the contract's channel-wide update-hash index
        self._tx = itertools.count(1)

    def as_node(self, node_id: str) -> NodeView:
        return NodeView(self, node_id)

    def set_deadline(self, deadline: str) -> None:
        """Move the current round's phase deadline (RFC 3339)."""
        number = self.session.current_round
        self.rounds[number] = replace(self.rounds[number], phase_deadline=deadline)

    def expire_deadline(self) -> None:
        self.set_deadline(PAST)

    def tx_id(self) -> str:
        return f"tx{next(self._tx)}"

    def _round(self, number: int, phase: str) -> Round:
        if number != self.session.current_round:
            raise FedloraError(f"[WRONG_ROUND] round {number} is not current")
        round_ = self.rounds[number]
        if round_.phase != phase:
            raise FedloraError(f"[WRONG_PHASE] round {number} is {round_.phase}")
        return round_

    def _finalise(self, round_: Round, sha: str) -> Round:
        final = replace(round_, phase="final", final_sha256=sha)
        if round_.round == self.session.rounds:
            self.session = replace(self.session, status="completed", final_adapter_sha256=sha)
            return final
        self.session = replace(self.session, current_round=round_.round + 1)
        self.rounds[round_.round + 1] = open_round(self.session, round_.round + 1)
        return final

    def _fail_over(self, round_: Round, cause: str) -> Round:
        rejected = round_.rejected_proposals
        if round_.proposal is not None:
            lost = RejectedProposal(
                **asdict(round_.proposal),
                cause=cause,
                endorsements=round_.endorsements,
                rejected_at=NOW,
            )
            rejected = (*rejected, lost)
        attempt = round_.attempt + 1
        return replace(
            round_,
            aggregator=elect_aggregator(self.session.participants, round_.round, attempt),
            attempt=attempt,
            endorsements={},
            phase="aggregating",
            phase_deadline=FAR_FUTURE,
            proposal=None,
            rejected_proposals=rejected,
        )


@dataclass
class NodeView:
    chain: FakeLedger
    node_id: str

    def get_session(self, session_id: str) -> Session:
        return self.chain.session

    def get_round(self, session_id: str, round_number: int) -> Round:
        return self.chain.rounds[round_number]

    def node_endpoint(self, node_id: str) -> str:
        return self.chain.endpoints[node_id]

    def node_tls_fingerprint(self, node_id: str) -> str:
        return self.chain.tls_fingerprints[node_id]

    def submit_update(
        self,
        session_id: str,
        number: int,
        sha: str,
        n: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> None:
        round_ = self.chain._round(number, "collecting")
        if self.node_id in round_.updates:
            raise FedloraError(f"[DUPLICATE] {self.node_id} already submitted")
        if sha in self.chain.known_updates:
            raise FedloraError(f"[DUPLICATE] adapter {sha} is already on the ledger")
        self.chain.known_updates.add(sha)
        update = Update(
            epsilon_spent=epsilon_spent or 0.0,
            metrics=dict(metrics),
            num_examples=n,
            sha256=sha,
            submitted_at=NOW,
            tx_id=self.chain.tx_id(),
        )
        updates = round_.updates | {self.node_id: update}
        phase = (
            "aggregating" if len(updates) == len(self.chain.session.participants) else "collecting"
        )
        self.chain.rounds[number] = replace(round_, updates=updates, phase=phase)
        self.chain.log.append(("submit", self.node_id, number))

    def propose_aggregate(self, session_id: str, number: int, draft: ProposalDraft) -> None:
        round_ = self.chain._round(number, "aggregating")
        if round_.aggregator != self.node_id:
            raise FedloraError(f"[NOT_AGGREGATOR] {self.node_id}")
        if draft.rule != self.chain.session.rule:
            raise FedloraError(f"[BAD_ARGUMENT] rule {draft.rule} is not the session's")
        proposal = Proposal(
            **asdict(draft),
            aggregator=self.node_id,
            attempt=round_.attempt,
            proposed_at=NOW,
            tx_id=self.chain.tx_id(),
        )
        self.chain.rounds[number] = replace(
            round_,
            proposal=proposal,
            phase="endorsing",
            endorsements={self.node_id: self._verdict(draft.sha256, True, "")},
        )
        self.chain.log.append(("propose", self.node_id, number))

    def endorse_aggregate(
        self, session_id: str, number: int, sha: str, accept: bool, reason: str
    ) -> None:
        round_ = self.chain._round(number, "endorsing")
        assert round_.proposal is not None and round_.proposal.sha256 == sha
        endorsements = round_.endorsements | {self.node_id: self._verdict(sha, accept, reason)}
        round_ = replace(round_, endorsements=endorsements)
        self.chain.log.append(("endorse" if accept else "reject", self.node_id, number))
        accepted = [node for node, verdict in endorsements.items() if verdict.accept]
        rejected = len(endorsements) - len(accepted)
        # As the contract: a quorum of verdicts, from at least two organisations.
        orgs = {node.split("/")[0] for node in accepted}
        if len(accepted) >= self.chain.session.quorum and len(orgs) >= 2:
            round_ = self.chain._finalise(round_, sha)
        elif len(self.chain.session.participants) - rejected < self.chain.session.quorum:
            round_ = self.chain._fail_over(round_, "rejected")
        self.chain.rounds[number] = round_

    def report_timeout(self, session_id: str, number: int) -> None:
        round_ = self.chain.rounds[number]
        # As the contract does: a report that arrives after another one already moved the
        # round on (and reset the deadline) is refused, so one deadline means one failover.
        if parse_timestamp(round_.phase_deadline) > dt.datetime.now(dt.UTC):
            raise FedloraError(f"[DEADLINE_NOT_PASSED] round {number} deadline not passed")
        self.chain.log.append(("timeout", self.node_id, number))
        if round_.phase in ("aggregating", "endorsing"):
            self.chain.rounds[number] = self.chain._fail_over(round_, "timeout")
        elif round_.phase == "collecting":
            self.chain.rounds[number] = replace(
                round_, phase="aggregating", phase_deadline=FAR_FUTURE
            )

    def _verdict(self, sha: str, accept: bool, reason: str) -> Endorsement:
        return Endorsement(
            accept=accept, at=NOW, reason=reason, sha256=sha, tx_id=self.chain.tx_id()
        )
