"""`fedlora audit report`: one self-contained page, every record version, chain text inert."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from msgspec.structs import replace
from tests.support.trails import NODES, FakeAuditContract, make_trail, sha
from typer.testing import CliRunner

from fedlora.cli import audit, audit_report
from fedlora.cli.app import app
from fedlora.cli.audit import session_rows
from fedlora.cli.report_html import ChainFacts, render_report
from fedlora.ledger import Privacy, Trail

FACTS = ChainFacts("fedlora", "fedlora", "peer0.org1:7051", NODES[0], 42, "2026-11-29T12:00:00Z")
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def page_of(trail: Trail) -> str:
    return render_report(trail, session_rows(FakeAuditContract(trail), "s1"), FACTS)


def test_the_page_tells_the_sessions_story_from_its_records() -> None:
    # Prepare
    trail = make_trail()
    # Execute
    page = page_of(trail)
    # Assert: each section, and the facts it was built from
    titles = ["Round timeline", "Endorsement matrix", "Lineage", "Failovers and rejected"]
    titles += ["Per-site metrics", "Convergence", "Every version of every record (24)"]
    assert all(title in page for title in titles)
    assert "<td>42</td>" in page and "peer0.org1:7051" in page
    assert page.count("<svg") == 4  # timeline, lineage, one plot per metric (loss, accuracy)
    assert "aggregate hash differs from my recomputation" in page  # the rejection's reason
    assert "tx-propose-1-0" in page and "rejected" in page  # the lost attempt, by its tx
    for round_ in trail.rounds:  # the lineage reaches every update and every aggregate
        for update in round_.updates.values():
            assert update.sha256[:16] in page
        assert 'class="final"' in page or round_.final_sha256[:16] in page
    assert "final r2.0 by" in page and sha("a2")[:16] in page
    assert "0.5400" in page  # a site's metric from its update


def test_every_version_of_every_record_is_on_the_page_oldest_first() -> None:
    trail = make_trail()
    page = page_of(trail)
    rows = session_rows(FakeAuditContract(trail), "s1")
    assert len(rows) == 3 + 2 * 3 + 6 + 9  # session + round versions, updates, verdicts
    for row in rows:
        assert row["tx_id"] in page
    statuses = re.findall(r">session:s1</span></td><td><span class=\"mono\">(\w+)<", page)
    assert statuses == ["created", "running", "completed"]


def test_the_page_is_self_contained() -> None:
    page = page_of(make_trail())
    assert page.startswith("<!DOCTYPE html>")
    for outside in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert outside not in page


def test_hostile_chain_values_are_text_not_markup() -> None:
    trail = make_trail()
    round_ = trail.rounds[0]
    bad = round_.rejected_proposals[0]
    verdict = replace(next(iter(bad.endorsements.values())), accept=False, reason=HOSTILE)
    bad = replace(bad, aggregator=HOSTILE, endorsements={**bad.endorsements, HOSTILE: verdict})
    updates = {**round_.updates, HOSTILE: next(iter(round_.updates.values()))}
    round_ = replace(round_, rejected_proposals=(bad,), updates=updates)
    session = replace(
        trail.session, dataset_tag=HOSTILE, rule=replace(trail.session.rule, name=HOSTILE)
    )
    page = page_of(replace(trail, rounds=(round_, trail.rounds[1]), session=session))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img" in page


def test_the_block_height_is_read_from_the_peers_chain_info() -> None:
    assert audit_report._varint_field_1(b"\x08\x96\x01\x12\x02ab") == 150
    assert audit_report._varint_field_1(b"") is None
    refusing = SimpleNamespace(network=lambda channel: 1 / 0)
    assert audit_report.block_height(refusing, "fedlora") is None  # type: ignore[arg-type]


class _Gateway:
    def __enter__(self) -> _Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def network(self, channel: str) -> Any:
        answer = b"\x08\x07"  # height 7
        return SimpleNamespace(contract=lambda name: SimpleNamespace(evaluate=lambda *a: answer))


def test_audit_report_writes_the_page_from_the_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedlora.daemon import wiring

    fabric = SimpleNamespace(channel="fedlora", chaincode="fedlora", gateway="peer0:7051")
    monkeypatch.setattr(audit, "load_node_config", lambda path: SimpleNamespace(fabric=fabric))
    contract = FakeAuditContract(make_trail())
    monkeypatch.setattr(wiring, "open_contract", lambda config: (_Gateway(), contract, NODES[1]))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["audit", "report", "--config", "node.toml", "--session", "s1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "<td>7</td>" in page and NODES[1] in page and "tx-session-59" in page


def test_a_privacy_budget_and_the_spent_epsilon_are_on_the_page() -> None:
    trail = make_trail()
    budget = Privacy(clip_norm=1.0, delta=1e-5, epsilon=8.0, noise_multiplier=1.1)
    page = page_of(replace(trail, session=replace(trail.session, privacy=budget)))
    assert "epsilon 8 at delta 1e-05, noise multiplier 1.1, clip norm 1" in page
    assert "<th>epsilon spent</th>" in page
    assert "no differential privacy" in page_of(trail)
