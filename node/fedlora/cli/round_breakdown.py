"""Where a round's phases go, from the nodes' own timings of their actions.

Each node records, per action, the time it spent fetching from peers, the rest of its work and
its transaction's commit (:class:`fedlora.daemon.outcome.ActionTiming`). The medians of those
over rounds 2.. split the two phases `fedlora bench round` measures on the chain; what the
chain's phase takes beyond the node's own action is the node's wake-up latency (event delivery,
reading the round, deciding to act).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from fedlora.daemon.outcome import ActionTiming, NodeOutcome

ACTIONS = ("train", "propose", "endorse")


@dataclass(frozen=True)
class ActionMedians:
    """Median seconds of one action over the rounds measured (and, for verdicts, the nodes)."""

    fetch_s: float
    work_s: float
    commit_s: float

    @property
    def total_s(self) -> float:
        """Fetching, working and committing together."""
        return self.fetch_s + self.work_s + self.commit_s


@dataclass(frozen=True)
class PhaseBreakdown:
    """The node-side medians of each action: training (its commit is the update's submit),
    proposing (fetch updates, aggregate, commit) and endorsing (fetch, recompute, commit)."""

    train: ActionMedians
    propose: ActionMedians
    endorse: ActionMedians


def breakdown(outcomes: Sequence[NodeOutcome], first_round: int = 2) -> PhaseBreakdown | None:
    """Medians of every node's actions from ``first_round`` on; None if an action never ran."""
    timings = [t for outcome in outcomes for t in outcome.timings if t.round >= first_round]
    medians = {action: _medians([t for t in timings if t.action == action]) for action in ACTIONS}
    if any(value is None for value in medians.values()):
        return None
    train, propose, endorse = (medians[action] for action in ACTIONS)
    assert train is not None and propose is not None and endorse is not None
    return PhaseBreakdown(train, propose, endorse)


def wake_up_s(phase_s: float, action: ActionMedians) -> float:
    """What a phase measured on the chain took beyond the acting node's own work and commit."""
    return max(phase_s - action.total_s, 0.0)


def _medians(timings: list[ActionTiming]) -> ActionMedians | None:
    if not timings:
        return None
    return ActionMedians(
        statistics.median(t.fetch_s for t in timings),
        statistics.median(t.work_s for t in timings),
        statistics.median(t.commit_s for t in timings),
    )
