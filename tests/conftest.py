"""Suite-wide rule: where the live half must run (FEDLORA_REQUIRE_LIVE=1, set by .ci/run when
Fabric's source is at hand), a skipped test is a failure, so no skip can hide the real path."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

LIVE_REQUIRED = os.environ.get("FEDLORA_REQUIRE_LIVE") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if LIVE_REQUIRED and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped where FEDLORA_REQUIRE_LIVE=1 demands it runs: {reason}"
