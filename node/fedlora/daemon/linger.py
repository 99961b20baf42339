"""The last round's aggregator stays reachable until the latecomers have the final adapter.

With a quorum below the number of participants, a round can become final before every
participant gave its verdict; such a latecomer never recomputed the aggregate, so it must
fetch it, and it asks the aggregator first. If every holder stopped its exchange server as soon
as its own session ended, a latecomer could find no one left to ask. So the final round's
aggregator keeps serving until each participant without an accepting verdict has fetched the
final adapter from it, or a time limit passes (a participant may have crashed for good).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fedlora.backoff import poll
from fedlora.ledger import Round, Session
from fedlora.transport import TrafficCounter

_log = logging.getLogger("fedlora.daemon")

LINGER_LIMIT_S = 60.0


def latecomers(node_id: str, session: Session, final_round: Round) -> set[str]:
    """Participants this node must wait for: only when it aggregated the last round."""
    if session.status != "completed" or final_round.aggregator != node_id:
        return set()
    holders = {
        node
        for node, verdict in final_round.endorsements.items()
        if verdict.accept and verdict.sha256 == final_round.final_sha256
    }
    return set(session.participants) - holders - {node_id}


def serve_latecomers(
    waiting: set[str],
    final_sha256: str,
    traffic: TrafficCounter,
    limit_s: float = LINGER_LIMIT_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> set[str]:
    """Wait until each node in ``waiting`` was sent ``final_sha256``; return those still waiting."""
    if waiting:
        _log.info("serving the final adapter to %s for up to %.0f s", sorted(waiting), limit_s)

    def everyone_served() -> bool:
        nonlocal waiting
        sent = traffic.snapshot()
        waiting = {
            n for n in waiting if n not in sent or final_sha256 not in sent[n].artifacts_sent
        }
        return not waiting

    poll(everyone_served, limit_s, 0.2, sleep=sleep, clock=clock)
    if waiting:
        _log.warning("gave up waiting for %s to fetch the final adapter", sorted(waiting))
    return waiting
