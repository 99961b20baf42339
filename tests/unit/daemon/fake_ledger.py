"""An in-memory stand-in for the consortium contract, for daemon unit tests only.

It follows the contract's round rules closely enough to drive coordinators through a session:
collect -> aggregate -> endorse -> final, round-robin election, quorum, failover on rejection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from fedlora.daemon.decide import parse_timestamp
from fedlora.daemon.ports import Proposal
from fedlora.errors import FedloraError
from fedlora.ledger import Rule

FAR_FUTURE = "2999-01-01T00:00:00Z"


@dataclass
class FakeUpdate:
    sha256: str
    num_examples: int
    metrics: dict[str, float]


@dataclass
class FakeRound:
    round: int
    participants: list[str]
    attempt: int = 0
    phase: str = "collecting"
    phase_deadline: str = FAR_FUTURE
    updates: dict[str, FakeUpdate] = field(default_factory=dict)
    proposal: Proposal | None = None
    endorsements: dict[str, bool] = field(default_factory=dict)
    final_sha256: str = ""
    rejected: list[Proposal] = field(default_factory=list)

    @property
    def aggregator(self) -> str:
        return self.participants[(self.round + self.attempt) % len(self.participants)]


@dataclass
class FakeSession:
    session_id: str
    participants: list[str]
    rounds: int
    quorum: int
    rule_name: str = "fedavg"
    rule_params: dict[str, float] = field(default_factory=dict)
    status: str = "running"
    current_round: int = 1

    @property
    def rule(self) -> Rule:
        return Rule(self.rule_name, self.rule_params)


class FakeLedger:
    """One shared instance plays the chain for every node; each node gets a bound view."""

    def __init__(self, session: FakeSession, endpoints: Mapping[str, str]) -> None:
        self.session = session
        self.endpoints = dict(endpoints)
        self.tls_fingerprints: dict[str, str] = {}  # node -> registered TLS certificate SHA-256
        self.rounds = {1: FakeRound(1, sorted(session.participants))}
        self.log: list[tuple[str, str, int]] = []
        self.known_updates: set[str] = set()  # the contract's channel-wide update-hash index

    def as_node(self, node_id: str) -> NodeView:
        return NodeView(self, node_id)

    def expire_deadline(self) -> None:
        self.rounds[self.session.current_round].phase_deadline = "2000-01-01T00:00:00Z"

    def _round(self, number: int, phase: str) -> FakeRound:
        if number != self.session.current_round:
            raise FedloraError(f"[WRONG_ROUND] round {number} is not current")
        round_ = self.rounds[number]
        if round_.phase != phase:
            raise FedloraError(f"[WRONG_PHASE] round {number} is {round_.phase}")
        return round_

    def _finalise(self, round_: FakeRound, sha: str) -> None:
        round_.phase, round_.final_sha256 = "final", sha
        if round_.round == self.session.rounds:
            self.session.status = "completed"
            return
        self.session.current_round += 1
        self.rounds[round_.round + 1] = FakeRound(round_.round + 1, round_.participants)

    def _fail_over(self, round_: FakeRound) -> None:
        if round_.proposal is not None:
            round_.rejected.append(round_.proposal)
        round_.attempt += 1
        round_.phase, round_.proposal, round_.endorsements = "aggregating", None, {}
        round_.phase_deadline = FAR_FUTURE


@dataclass
class NodeView:
    chain: FakeLedger
    node_id: str

    def get_session(self, session_id: str) -> FakeSession:
        return self.chain.session

    def get_round(self, session_id: str, round_number: int) -> FakeRound:
        return self.chain.rounds[round_number]

    def node_endpoint(self, node_id: str) -> str:
        return self.chain.endpoints[node_id]

    def node_tls_fingerprint(self, node_id: str) -> str:
        return self.chain.tls_fingerprints[node_id]

    def submit_update(
        self, session_id: str, number: int, sha: str, n: int, metrics: Mapping[str, float]
    ) -> None:
        round_ = self.chain._round(number, "collecting")
        if self.node_id in round_.updates:
            raise FedloraError(f"[DUPLICATE] {self.node_id} already submitted")
        if sha in self.chain.known_updates:
            raise FedloraError(f"[DUPLICATE] adapter {sha} is already on the ledger")
        self.chain.known_updates.add(sha)
        round_.updates[self.node_id] = FakeUpdate(sha, n, dict(metrics))
        self.chain.log.append(("submit", self.node_id, number))
        if len(round_.updates) == len(round_.participants):
            round_.phase = "aggregating"

    def propose_aggregate(self, session_id: str, number: int, proposal: Proposal) -> None:
        round_ = self.chain._round(number, "aggregating")
        if round_.aggregator != self.node_id:
            raise FedloraError(f"[NOT_AGGREGATOR] {self.node_id}")
        round_.proposal, round_.phase = proposal, "endorsing"
        round_.endorsements = {self.node_id: True}
        self.chain.log.append(("propose", self.node_id, number))

    def endorse_aggregate(
        self, session_id: str, number: int, sha: str, accept: bool, reason: str
    ) -> None:
        round_ = self.chain._round(number, "endorsing")
        assert round_.proposal is not None and round_.proposal.sha256 == sha
        round_.endorsements[self.node_id] = accept
        self.chain.log.append(("endorse" if accept else "reject", self.node_id, number))
        accepted = sum(round_.endorsements.values())
        rejected = len(round_.endorsements) - accepted
        # As the contract: a quorum of verdicts, from at least two organisations.
        orgs = {node.split("/")[0] for node, accept in round_.endorsements.items() if accept}
        if accepted >= self.chain.session.quorum and len(orgs) >= 2:
            self.chain._finalise(round_, sha)
        elif len(round_.participants) - rejected < self.chain.session.quorum:
            self.chain._fail_over(round_)

    def report_timeout(self, session_id: str, number: int) -> None:
        round_ = self.chain.rounds[number]
        # As the contract does: a report that arrives after another one already moved the
        # round on (and reset the deadline) is refused, so one deadline means one failover.
        if parse_timestamp(round_.phase_deadline) > dt.datetime.now(dt.UTC):
            raise FedloraError(f"[DEADLINE_NOT_PASSED] round {number} deadline not passed")
        self.chain.log.append(("timeout", self.node_id, number))
        if round_.phase in ("aggregating", "endorsing"):
            self.chain._fail_over(round_)
        elif round_.phase == "collecting":
            round_.phase = "aggregating"
            round_.phase_deadline = FAR_FUTURE
