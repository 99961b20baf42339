"""The demo's progress lines: each change of the current round, read from the chain.

The chain is the one place every node's work shows up, so the demo watches it rather than the
nodes' logs: a line when a round opens, gains an update or a verdict, changes aggregator, and
when it becomes final (with the time it took, as seen from here, and each phase's time from the
chain's own timestamps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fedlora.daemon.decide import parse_timestamp
from fedlora.ledger.records import Round

Report = Callable[[str], None]
PHASES = ("training", "aggregating", "endorsing")


def short_node(node_id: str) -> str:
    """'Org1MSP/node1@org1.fedlora.local' -> 'org1/node1'."""
    msp, _, name = node_id.partition("/")
    return f"{msp.removesuffix('MSP').lower()}/{name.split('@')[0]}"


def phase_times(round_: Round) -> str:
    """' (training 41.2 s, aggregating 0.4 s, endorsing 0.3 s)' from the chain's timestamps.

    Training runs from the round's opening to its last update, aggregating from there to the
    proposal that passed, endorsing from the proposal to the last accepting verdict on it
    recorded so far. Empty when the round has no passed proposal.
    """
    proposal = round_.proposal
    accepted = [v.at for v in round_.endorsements.values() if v.accept]
    if proposal is None or not round_.updates or not accepted:
        return ""
    opened, proposed = parse_timestamp(round_.opened_at), parse_timestamp(proposal.proposed_at)
    last_update = max(parse_timestamp(u.submitted_at) for u in round_.updates.values())
    endorsed = max(parse_timestamp(at) for at in accepted)
    spans = (last_update - opened, proposed - last_update, endorsed - proposed)
    parts = (
        f"{name} {span.total_seconds():.1f} s" for name, span in zip(PHASES, spans, strict=True)
    )
    return f" ({', '.join(parts)})"


class RoundProgress:
    """Remembers what was last reported and reports only what changed."""

    def __init__(self, rounds: int, report: Report, clock: Callable[[], float] = time.monotonic):
        self._rounds, self._report, self._clock = rounds, report, clock
        self._last: tuple[Any, ...] = ()
        self._round, self._round_started = 0, clock()

    def observe(self, contract: Any, session_id: str) -> Any:
        """Read the session and its current round once, report any change; return the session."""
        session = contract.get_session(session_id)
        if session.status == "open":
            return session
        number = session.current_round
        if number != self._round:
            self._close_rounds_before(contract, session_id, number)
        current = contract.get_round(session_id, number)
        self._report_if_changed(current, len(session.participants), session.quorum)
        if session.status in ("completed", "failed") and current.phase in ("final", "failed"):
            self._close(current)
        return session

    def _close_rounds_before(self, contract: Any, session_id: str, number: int) -> None:
        """Report the rounds that became final between two looks at the chain."""
        for earlier in range(max(self._round, 1), number):
            self._close(contract.get_round(session_id, earlier))
        self._round, self._round_started = number, self._clock()

    def _close(self, round_: Any) -> None:
        key = ("closed", round_.round)
        if key == self._last:
            return
        self._last = key
        seconds = self._clock() - self._round_started
        if round_.phase == "final":
            accepted = sum(1 for e in round_.endorsements.values() if e.accept)
            self._report(
                f"round {round_.round}/{self._rounds} final after {seconds:.0f} s: aggregate "
                f"{round_.final_sha256[:12]} by {short_node(round_.aggregator)}, "
                f"{len(round_.updates)} updates, {accepted} accepting verdicts"
                f"{phase_times(round_)}"
            )
        else:
            self._report(f"round {round_.round}/{self._rounds} {round_.phase}")

    def _report_if_changed(self, round_: Any, participants: int, quorum: int) -> None:
        accepted = sum(1 for e in round_.endorsements.values() if e.accept)
        state = (round_.round, round_.phase, round_.attempt, len(round_.updates), accepted)
        if state == self._last or round_.phase in ("final", "failed"):
            return
        self._last = state
        where = f"round {round_.round}/{self._rounds}"
        if round_.phase == "collecting":
            self._report(f"{where}: training, {len(round_.updates)}/{participants} updates in")
        elif round_.phase == "aggregating":
            self._report(f"{where}: {short_node(round_.aggregator)} aggregates")
        elif round_.phase == "endorsing":
            self._report(
                f"{where}: members recompute and endorse, {accepted}/{quorum} accepting verdicts"
            )
