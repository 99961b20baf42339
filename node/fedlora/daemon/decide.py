"""What a node should do next in a round: a pure function of the on-chain round and the clock.

Keeping the decision pure makes the daemon resumable (after a restart it simply asks again with
the state it reads back from the chain) and lets every branch be tested without a network.
"""

from __future__ import annotations

import datetime as dt
import enum

from fedlora.ledger import Round

# How long after a phase deadline a node waits before reporting the timeout.
TIMEOUT_GRACE = dt.timedelta(seconds=2)


class Action(enum.Enum):
    """The next step for this node."""

    TRAIN = "train"  # train from the global adapter and submit the update
    AGGREGATE = "aggregate"  # this node is the elected aggregator: aggregate and propose
    ENDORSE = "endorse"  # recompute the proposed aggregate and endorse or reject it
    REPORT_TIMEOUT = "report-timeout"  # the phase deadline passed: move the round on
    ADVANCE = "advance"  # the round is final: take its aggregate as the new global adapter
    WAIT = "wait"  # nothing to do until the next event or the deadline
    STOP = "stop"  # the session is over (completed or failed)


def parse_timestamp(value: str) -> dt.datetime:
    """Parse the chaincode's RFC 3339 UTC timestamps ('...Z' or '+00:00')."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def decide(node_id: str, session_status: str, round_: Round, now: dt.datetime) -> Action:
    """Return the next action for ``node_id`` given the session status and its current round."""
    if session_status in ("completed", "failed") and round_.phase in ("final", "failed"):
        return Action.STOP
    if round_.phase == "final":
        return Action.ADVANCE
    if round_.phase == "failed":
        return Action.STOP
    deadline = parse_timestamp(round_.phase_deadline)
    own_move = _own_move(node_id, round_)
    if own_move is not None and not (now > deadline and own_move is Action.TRAIN):
        return own_move
    # A straggler that missed the collection deadline does not train for nothing: the chain
    # would refuse its late update. It helps move the round on instead, a little after the
    # deadline, so that a clock running slightly fast does not cut a phase short.
    return Action.REPORT_TIMEOUT if now > deadline + TIMEOUT_GRACE else Action.WAIT


def _own_move(node_id: str, round_: Round) -> Action | None:
    """The action only this node can take in the current phase, if any is still owed."""
    if round_.phase == "collecting" and node_id not in round_.updates:
        return Action.TRAIN
    if round_.phase == "aggregating" and round_.aggregator == node_id:
        return Action.AGGREGATE
    if (
        round_.phase == "endorsing"
        and round_.aggregator != node_id
        and node_id not in round_.endorsements
    ):
        return Action.ENDORSE
    return None
