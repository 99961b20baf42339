"""A completed session's trail built by hand: 3 nodes, 2 rounds, round 1 lost an attempt.

Round 1's first aggregator timed out and its proposal was rejected (one verdict says why);
attempt 1 was endorsed. Round 2 went through on its first attempt.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from fedlora.ledger import (
    AggregateInput,
    Deadlines,
    Endorsement,
    HistoryEntry,
    LoraSpec,
    Node,
    Proposal,
    RejectedProposal,
    Round,
    Rule,
    Session,
    Trail,
    Update,
)

NODES = ("Org1MSP/node1", "Org2MSP/node2", "Org3MSP/node3")


def sha(tag: str) -> str:
    """A recognisable 64-hex hash: ``tag``'s hex digits repeated."""
    digits = "".join(c for c in tag.encode().hex())
    return (digits * 64)[:64]


def _at(round_: int, second: int) -> str:
    return f"2026-11-29T10:{round_:02d}:{second:02d}Z"


def _updates(round_: int) -> dict[str, Update]:
    return {
        node: Update(
            metrics={"loss": 2.0 / (round_ + i), "global_accuracy": 0.3 + 0.1 * round_ + 0.02 * i},
            num_examples=100 + i,
            sha256=sha(f"u{round_}{i}"),
            submitted_at=_at(round_, 5 + i),
            tx_id=f"tx-update-{round_}-{i}",
        )
        for i, node in enumerate(NODES)
    }


def _verdicts(round_: int, attempt: int, digest: str, accept: bool) -> dict[str, Endorsement]:
    return {
        node: Endorsement(
            accept=accept or i == 0,
            at=_at(round_, 30 + 10 * attempt + i),
            reason="" if accept or i == 0 else "aggregate hash differs from my recomputation",
            sha256=digest,
            tx_id=f"tx-verdict-{round_}-{attempt}-{i}",
        )
        for i, node in enumerate(NODES)
    }


def _proposal(round_: int, attempt: int, aggregator: str, digest: str) -> dict[str, Any]:
    return dict(
        aggregator=aggregator,
        attempt=attempt,
        inputs=tuple(AggregateInput(n, sha(f"u{round_}{i}")) for i, n in enumerate(NODES)),
        proposed_at=_at(round_, 20 + 10 * attempt),
        rule=Rule("fedavg"),
        sha256=digest,
        tx_id=f"tx-propose-{round_}-{attempt}",
        weights={n: 1 / 3 for n in NODES},
    )


def make_round(number: int, failover: bool) -> Round:
    """A final round; with ``failover`` its attempt 0 was rejected and attempt 1 endorsed."""
    final = sha(f"a{number}")
    rejected: tuple[RejectedProposal, ...] = ()
    attempt = 0
    if failover:
        bad = sha(f"x{number}")
        rejected = (
            RejectedProposal(
                **_proposal(number, 0, NODES[0], bad),
                cause="rejected",
                endorsements=_verdicts(number, 0, bad, accept=False),
                rejected_at=_at(number, 45),
            ),
        )
        attempt = 1
    aggregator = NODES[(number + attempt) % 3]
    return Round(
        aggregator=aggregator,
        attempt=attempt,
        endorsements=_verdicts(number, attempt, final, accept=True),
        final_sha256=final,
        opened_at=_at(number, 0),
        phase="final",
        proposal=Proposal(**_proposal(number, attempt, aggregator, final)),
        rejected_proposals=rejected,
        round=number,
        session_id="s1",
        updates=_updates(number),
    )


def make_trail(session_id: str = "s1") -> Trail:
    """The completed 2-round session described in the module docstring."""
    session = Session(
        base_model="tiny",
        base_model_sha256=sha("base"),
        created_at=_at(0, 0),
        creator="Org1MSP/Admin",
        creator_msp="Org1MSP",
        current_round=2,
        dataset_tag="icd10:dirichlet:0.1:3:0",
        deadlines=Deadlines(600, 600, 600),
        final_adapter_sha256=sha("a2"),
        lora=LoraSpec(2, 4.0, 0.0, ("q_proj", "v_proj")),
        participants=NODES,
        quorum=2,
        rounds=2,
        rule=Rule("fedavg", {"server_lr": 1.0}),
        session_id=session_id,
        started_at=_at(0, 30),
        status="completed",
    )
    nodes = tuple(
        Node(
            common_name=n.split("/")[1],
            endpoint=f"127.0.0.1:{7000 + i}",
            msp_id=n.split("/")[0],
            node_id=n,
            registered_at=_at(0, 1),
            status="active",
            tls_cert_sha256=sha(f"t{i}"),
            updated_at=_at(0, 1),
        )
        for i, n in enumerate(NODES)
    )
    rounds = tuple(replace(make_round(n, failover=n == 1), session_id=session_id) for n in (1, 2))
    return Trail(nodes=nodes, rounds=rounds, session=session)


def history_of(trail: Trail) -> dict[tuple[str, ...], tuple[HistoryEntry, ...]]:
    """The key histories a contract would answer: the session's versions and each round's."""
    sid = trail.session.session_id
    history: dict[tuple[str, ...], tuple[HistoryEntry, ...]] = {
        ("session", sid): tuple(
            HistoryEntry(
                is_delete=False,
                timestamp=_at(0, s),
                tx_id=f"tx-session-{s}",
                value={"status": status},
            )
            for s, status in ((0, "created"), (30, "running"), (59, "completed"))
        )
    }
    for r in trail.rounds:
        history[("round", sid, str(r.round))] = tuple(
            HistoryEntry(
                is_delete=False,
                timestamp=_at(r.round, s),
                tx_id=f"tx-round-{r.round}-{s}",
                value={"phase": phase, "aggregator": r.aggregator},
            )
            for s, phase in ((0, "collecting"), (15, "aggregating"), (50, "final"))
        )
    return history


class FakeAuditContract:
    """The two audit queries `audit history` and `audit report` make, over a hand-built trail."""

    def __init__(self, trail: Trail) -> None:
        self.trail, self.histories = trail, history_of(trail)

    def export_trail(self, session_id: str) -> Trail:
        """The trail (whatever id is asked)."""
        return self.trail

    def history(self, kind: str, *parts: str) -> tuple[HistoryEntry, ...]:
        """The key's versions, oldest first."""
        return self.histories.get((kind, *parts), ())
