"""Carry out one round action: train, aggregate, endorse, advance.

Every artifact is addressed by its SHA-256 as recorded on chain. Before the coordinator uses
bytes it either holds them in its own content store or pulls them from the node that produced
them (or, failing that, any other participant), and the transport has already checked the hash.
Aggregation is recomputed bit for bit by every endorser, so it must see exactly the inputs,
weights and prior optimizer state that the aggregator used: all of it comes from the chain.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from fedlora.aggregation import (
    AggregateResult,
    ClientUpdate,
    StrategyConfig,
    aggregate,
    check_report,
    strategy_from_name,
    validate_update,
)
from fedlora.artifacts import (
    ContentStore,
    Tensors,
    decode_adapter,
    decode_metadata,
    encode_adapter,
)
from fedlora.daemon.decide import parse_timestamp
from fedlora.daemon.outcome import ActionClock, ActionTiming
from fedlora.daemon.pending import PendingUpdate, RoundKey
from fedlora.daemon.ports import FetchPort, LedgerPort, TrainerPort
from fedlora.errors import FedloraError
from fedlora.ledger import AggregateInput, Proposal, ProposalDraft, Round, Rule, Session
from fedlora.ledger.retry import is_unreachable

_log = logging.getLogger("fedlora.daemon")


class PeerInputError(FedloraError):
    """What other members sent, or failed to send, cannot be used: this node goes on.

    The aggregator leaves such an input out, an endorser rejects a proposal built on it, and a
    node that cannot get an artifact at all waits and reads the chain again; none of them exits.
    """


class RoundExecutor:
    """The effects of the round protocol for one node."""

    def __init__(
        self,
        node_id: str,
        ledger: LedgerPort,
        store: ContentStore,
        trainer: TrainerPort,
        fetcher: FetchPort,
        seed: int = 0,
        on_event: Callable[[str, Mapping[str, object]], None] | None = None,
    ) -> None:
        self.node_id = node_id
        self._ledger, self._store, self._trainer, self._fetcher = ledger, store, trainer, fetcher
        self._seed = seed
        self._on_event = on_event or (lambda name, fields: None)
        self.timings: list[ActionTiming] = []  # every action this node took, in order
        self.fetch_seconds = 0.0  # time spent pulling artifacts from peers, so far

    # -- actions -----------------------------------------------------------------------------

    def train(self, session: Session, key: RoundKey, record_to: Path | None = None) -> str:
        """Train from the current global adapter, store the update and submit its hash.

        With ``record_to``, the update is recorded there before it is submitted, so that a node
        restarted between the two submits the same update instead of training again.
        """
        clock = ActionClock(lambda: self.fetch_seconds)
        global_tensors = self.global_adapter(session, key.round_number)
        strategy = strategy_for(session)
        update = self._trainer.train(global_tensors, key.round_number, strategy.proximal_mu)
        # The update names its producer and round inside its bytes: two sites with the same data
        # never submit the same hash (the chain refuses a hash it already holds), and an
        # update replayed under another name or round is recognised as such.
        pending = PendingUpdate(
            sha256=self._store.put(encode_adapter(update.tensors, self._provenance(key))),
            num_examples=update.num_examples,
            metrics={name: float(value) for name, value in update.metrics.items()},
            epsilon_spent=update.epsilon_spent,
        )
        if record_to is not None:
            pending.save(record_to)
        clock.work_done()
        self.resubmit(key, pending)
        self.timings.append(clock.timing(key.round_number, "train"))
        return pending.sha256

    def resubmit(self, key: RoundKey, pending: PendingUpdate) -> None:
        """Submit an update recorded by :meth:`train`."""
        self._ledger.submit_update(
            key.session_id,
            key.round_number,
            pending.sha256,
            pending.num_examples,
            pending.metrics,
            pending.epsilon_spent,
        )
        self._on_event("submitted", {"round": key.round_number, "sha256": pending.sha256})

    def aggregate(self, session: Session, round_: Round, key: RoundKey) -> ProposalDraft:
        """As the elected aggregator: pull, validate and aggregate the updates, then propose.

        An update whose owner cannot be reached (and that no one else holds) is left out rather
        than stalling the round; the proposal names exactly the inputs used, so endorsers
        recompute the same thing.
        """
        updates = round_.updates
        offered = [AggregateInput(node, updates[node].sha256) for node in sorted(updates)]
        clock = ActionClock(lambda: self.fetch_seconds)
        result, inputs = self._compute(session, round_, key, offered, skip_unusable=True)
        draft = self._record(result, inputs, session.rule)
        clock.work_done()
        self._ledger.propose_aggregate(key.session_id, key.round_number, draft)
        self.timings.append(clock.timing(key.round_number, "propose"))
        self._on_event("proposed", {"round": key.round_number, "sha256": draft.sha256})
        return draft

    def endorse(self, session: Session, round_: Round, key: RoundKey) -> bool:
        """Recompute the proposed aggregate from its recorded inputs; endorse iff it matches.

        A proposal that leaves out an update this node can obtain and validate is rejected too:
        otherwise an aggregator could quietly drop a member it disagrees with.
        """
        proposed = _proposal_of(round_)
        inputs = sorted(proposed.inputs, key=lambda item: (item.node_id, item.sha256))
        clock = ActionClock(lambda: self.fetch_seconds)
        try:
            result, _ = self._compute(session, round_, key, inputs, skip_unusable=False)
            mine = self._record(result, inputs, session.rule)
            reason = _difference(mine, proposed) or self._usable_omission(
                session, round_, key, {item.node_id for item in inputs}
            )
        except FedloraError as error:  # an input that does not validate is a reason to reject
            if is_unreachable(error):
                raise  # this node's ledger is down, not the proposal wrong: endorse later
            reason = f"cannot recompute: {error}"
        accept = not reason
        clock.work_done()
        self._ledger.endorse_aggregate(
            key.session_id, key.round_number, proposed.sha256, accept, reason or "recomputed"
        )
        self.timings.append(clock.timing(key.round_number, "endorse"))
        self._on_event("endorsed", {"round": key.round_number, "accept": accept, "reason": reason})
        return accept

    def advance(self, session: Session, round_: Round) -> Tensors:
        """Fetch the round's final aggregate (if needed) and return it as the new global adapter.

        Its aggregator is asked first, then every other participant: a node whose verdict was
        not needed for the quorum may come for it after the aggregator has already left.
        """
        return decode_adapter(self.obtain(round_.final_sha256, _holders(session, round_)))

    def prefetch_updates(self, round_: Round) -> int:
        """Pull the round's updates already on chain into the local store, ahead of need.

        The aggregator and every endorser need all updates; fetching each as it lands, while
        the round still collects, takes the transfers off the round's critical path. Only an
        update's own producer is asked, and nothing is judged here: one that cannot be had now
        is fetched, or refused, when the round needs it. Returns how many were fetched.
        """
        deadline = parse_timestamp(round_.phase_deadline) if round_.phase_deadline else None
        fetched = 0
        for node_id, update in sorted(round_.updates.items()):
            if node_id == self.node_id or self._store.has(update.sha256):
                continue
            try:
                self.obtain(update.sha256, [node_id], deadline)
            except PeerInputError as error:
                _log.info("prefetch of %s's update: %s", node_id, error)
                continue
            fetched += 1
        return fetched

    # -- inputs ------------------------------------------------------------------------------

    def global_adapter(self, session: Session, round_number: int) -> Tensors:
        """The adapter every participant starts ``round_number`` from."""
        if round_number == 1:
            return self._trainer.initial_adapter(self._seed)
        previous = self._ledger.get_round(session.session_id, round_number - 1)
        return decode_adapter(self.obtain(previous.final_sha256, _holders(session, previous)))

    def prior_server_state(self, session: Session, round_number: int) -> Tensors | None:
        """The server optimizer state the previous round's aggregate handed on, if any."""
        if round_number == 1:
            return None
        previous = self._ledger.get_round(session.session_id, round_number - 1)
        state_sha = _proposal_of(previous).optimizer_state_sha256
        return decode_adapter(self.obtain(state_sha, _holders(session, previous)))

    def obtain(
        self, sha256: str, holders: Sequence[str], deadline: dt.datetime | None = None
    ) -> bytes:
        """Bytes of ``sha256`` from the local store, else from the first holder that has them.

        With ``deadline`` (the round's phase deadline), all fetches share the time left before
        it, less a margin to submit the result: a slow holder cannot make this node miss it.
        """
        if self._store.has(sha256):
            return self._store.get(sha256)
        failures = []
        for holder in dict.fromkeys(h for h in holders if h != self.node_id):
            budget = None if deadline is None else _seconds_left(deadline)
            if budget is not None and budget <= 0:
                failures.append("no time left before the phase deadline")
                break
            started = time.perf_counter()
            try:
                data = self._fetcher.fetch(holder, sha256, deadline_s=budget)
            except FedloraError as error:
                if is_unreachable(error):
                    raise  # no holder can be looked up until this node's ledger is back
                failures.append(f"{holder}: {error}")
                continue
            finally:
                self.fetch_seconds += time.perf_counter() - started
            self._store.put_verified(data, sha256)
            return data
        raise PeerInputError(
            f"artifact {sha256[:12]} could not be obtained from any holder",
            "; ".join(failures) or "no other node holds it",
        )

    # -- helpers -----------------------------------------------------------------------------

    def _compute(
        self,
        session: Session,
        round_: Round,
        key: RoundKey,
        inputs: Sequence[AggregateInput],
        skip_unusable: bool,
    ) -> tuple[AggregateResult, list[AggregateInput]]:
        """Aggregate ``inputs``; returns the result and the inputs actually used.

        With ``skip_unusable`` (the aggregator), an update that cannot be obtained or fails
        validation (wrong names or shapes, NaN, absurd norm) is left out with a logged reason
        and never aggregated; without it (an endorser), any such input fails the recomputation.
        """
        global_tensors = self.global_adapter(session, key.round_number)
        updates, used = [], []
        for item in inputs:
            try:
                updates.append(self._load_update(session, round_, key, item, global_tensors))
            except FedloraError as error:
                if not skip_unusable or is_unreachable(error):
                    raise
                _log.warning("leaving out the update of %s: %s", item.node_id, error)
                continue
            used.append(item)
        if not updates:
            raise PeerInputError("no update of this round could be used", "check the peers")
        state = self.prior_server_state(session, key.round_number)
        return aggregate(global_tensors, updates, strategy_for(session), state), used

    def _load_update(
        self,
        session: Session,
        round_: Round,
        key: RoundKey,
        submitted: AggregateInput,
        global_tensors: Tensors,
    ) -> ClientUpdate:
        """One submitted update, fetched, hash-checked against the chain and validated.

        Everything here comes from another member; whatever is wrong with it, the error is a
        PeerInputError naming the member.
        """
        node, sha = submitted.node_id, submitted.sha256
        reported = round_.updates.get(node)
        if reported is None or reported.sha256 != sha:
            raise PeerInputError(f"input of {node} is not the update it submitted", "reject")
        loss = reported.metrics.get("loss", 1.0)
        try:
            check_report(node, reported.num_examples, loss)
        except FedloraError as error:
            raise PeerInputError(error.what, "reject") from None
        deadline = parse_timestamp(round_.phase_deadline) if round_.phase_deadline else None
        data = self.obtain(sha, [node, *_participants(session)], deadline)
        try:
            tensors = self._checked_tensors(data, node, key, global_tensors)
        except PeerInputError:
            raise
        except Exception as error:  # hostile bytes: any failure to read them is theirs
            raise PeerInputError(f"update {sha[:12]} of {node} is unusable: {error}") from None
        return ClientUpdate(node, tensors, reported.num_examples, loss)

    def _checked_tensors(
        self, data: bytes, node: str, key: RoundKey, global_tensors: Tensors
    ) -> Tensors:
        """Decode an update and check it names its producer and round and fits the adapter."""
        claimed = decode_metadata(data)
        if any(claimed.get(name) != value for name, value in _provenance_of(node, key).items()):
            raise PeerInputError(f"an update of {node} names another producer or round", "reject")
        tensors = decode_adapter(data)
        validate_update(global_tensors, tensors)
        return tensors

    def _usable_omission(
        self, session: Session, round_: Round, key: RoundKey, included: set[str]
    ) -> str:
        """Why the proposal must be rejected for an update it left out ('' when none)."""
        left_out = sorted(node for node in round_.updates if node not in included)
        if not left_out:
            return ""
        global_tensors = self.global_adapter(session, key.round_number)
        for node in left_out:
            submitted = AggregateInput(node, round_.updates[node].sha256)
            try:
                self._load_update(session, round_, key, submitted, global_tensors)
            except PeerInputError:
                continue  # the aggregator was right to leave it out
            return f"the proposal leaves out the usable update of {node}"
        return ""

    def _provenance(self, key: RoundKey) -> dict[str, str]:
        return _provenance_of(self.node_id, key)

    def _record(
        self, result: AggregateResult, inputs: Sequence[AggregateInput], rule: Rule
    ) -> ProposalDraft:
        """Store the aggregate and its optimizer state; the draft names them under ``rule``."""
        return ProposalDraft(
            inputs=tuple(inputs),
            optimizer_state_sha256=self._store.put(encode_adapter(result.server_state)),
            rule=rule,
            sha256=self._store.put(encode_adapter(result.tensors)),
            weights={node: float(weight) for node, weight in sorted(result.weights.items())},
        )


def strategy_for(session: Session) -> StrategyConfig:
    """The aggregation rule a session recorded on chain, as a StrategyConfig."""
    return strategy_from_name(session.rule.name, **session.rule.params)


def _provenance_of(node_id: str, key: RoundKey) -> dict[str, str]:
    """The metadata an update of ``node_id`` for round ``key`` carries in its header."""
    return {
        "fedlora.node": node_id,
        "fedlora.round": str(key.round_number),
        "fedlora.session": key.session_id,
    }


# Seconds kept back from a phase's deadline for submitting what a fetch was for.
SUBMIT_MARGIN_S = 5.0
# No fetch waits longer than this, however far the deadline (gRPC deadlines overflow too).
FETCH_LIMIT_S = 300.0


def _seconds_left(deadline: dt.datetime) -> float:
    left = (deadline - dt.datetime.now(dt.UTC)).total_seconds() - SUBMIT_MARGIN_S
    return min(left, FETCH_LIMIT_S)


def _participants(session: Session) -> list[str]:
    return list(session.participants)


def _proposal_of(round_: Round) -> Proposal:
    """The round's proposal; a round past aggregation always has one."""
    if round_.proposal is None:
        raise FedloraError(
            f"round {round_.round} ({round_.phase}) has no proposal", "read the chain again"
        )
    return round_.proposal


def _holders(session: Session, round_: Round) -> list[str]:
    """Who should hold a round's aggregate: its aggregator first, then every participant."""
    return [round_.aggregator, *_participants(session)]


def _difference(mine: ProposalDraft, proposed: ProposalDraft) -> str:
    """Why the proposal differs from the recomputation ('' when identical)."""
    if mine.weights != proposed.weights:
        return "weights differ from the recomputation"
    if mine.optimizer_state_sha256 != proposed.optimizer_state_sha256:
        return "optimizer state differs from the recomputation"
    if mine.sha256 != proposed.sha256:
        return f"aggregate hash differs: recomputed {mine.sha256[:12]}"
    return ""
