"""`fedlora audit history`: an update's row carries its spent epsilon in a session with a budget."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

from fedlora.cli.audit import _write_csv, session_rows
from fedlora.ledger import Privacy

BUDGET = Privacy(epsilon=3.0, delta=1e-5, noise_multiplier=1.1, clip_norm=1.0)


class Chain:
    """One session with one round of two updates; no committed versions to list."""

    def __init__(self, privacy: Privacy | None) -> None:
        update = {"submitted_at": "2026-01-01T00:00:00Z", "tx_id": "t", "sha256": "ab" * 32}
        updates = {
            node: SimpleNamespace(**update, epsilon_spent=spent)
            for node, spent in (("n1", 0.75), ("n2", 1.5))
        }
        round_ = SimpleNamespace(
            session_id="s1", round=1, updates=updates, rejected_proposals=[], proposal=None
        )
        self.trail = SimpleNamespace(session=SimpleNamespace(privacy=privacy), rounds=[round_])

    def export_trail(self, session_id: str) -> SimpleNamespace:
        return self.trail

    def history(self, kind: str, *parts: str) -> list[object]:
        return []


def _csv_rows(chain: Chain) -> list[dict[str, str]]:
    stream = io.StringIO()
    _write_csv(session_rows(chain, "s1"), stream)
    return list(csv.DictReader(io.StringIO(stream.getvalue())))


def test_update_rows_carry_the_spent_epsilon_only_under_a_budget() -> None:
    private = {row["key"]: row["epsilon_spent"] for row in _csv_rows(Chain(BUDGET))}
    assert private == {"update:s1/1/n1": "0.75", "update:s1/1/n2": "1.5"}
    plain = {row["key"]: row["epsilon_spent"] for row in _csv_rows(Chain(None))}
    assert plain == {"update:s1/1/n1": "", "update:s1/1/n2": ""}
