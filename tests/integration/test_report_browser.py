"""The audit report opens in a real browser: headless Chromium parses and draws it offline."""

from __future__ import annotations

from pathlib import Path

from tests.support.browser import dump_dom, screenshot
from tests.support.trails import NODES, FakeAuditContract, make_trail

from fedlora.cli.audit_report import build_report
from fedlora.cli.report_html import ChainFacts


def test_chromium_renders_the_report_of_a_hand_built_session(tmp_path: Path) -> None:
    # Prepare
    facts = ChainFacts("fedlora", "fedlora", "peer0:7051", NODES[0], 42, "2026-11-29T12:00:00Z")
    page = tmp_path / "report.html"
    page.write_text(build_report(FakeAuditContract(make_trail()), "s1", facts))
    # Execute
    dom = dump_dom(page)
    shot = screenshot(page, tmp_path / "report.png", (1400, 2400))
    # Assert: the browser built the whole page, figures included
    assert "fedlora audit report: session <code>s1</code>" in dom
    assert dom.count("<svg") == 4 and dom.count("<section>") == 9
    assert 'aria-label="lineage graph"' in dom and "final r2.0 by" in dom
    assert "tx-session-59" in dom and "aggregate hash differs" in dom
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
