"""`fedlora demo` on the live network, as `make demo` runs it, with the tiny model."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fedlora.network import FabricInstall

pytestmark = pytest.mark.fabric


def test_demo_runs_the_networked_session_and_says_where_everything_is(
    fabric_install: FabricInstall, chaincode_server: Path, free_base_port: int, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-c", "from fedlora.cli.app import main; main()", "demo",
        "--model", "tiny", "--rounds", "2", "--steps", "2", "--top-layers", "1",
        "--root", str(tmp_path / "demo"), "--base-port", str(free_base_port), "--require-network",
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}  # Rich folds lines at the terminal width
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, env=env
    )
    out = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "network part skipped" not in done.stderr
    for number in (1, 2):
        assert re.search(rf"round {number}/2 final after \d+ s: aggregate [0-9a-f]{{12}}", out)
    assert "average" in out and "worst" in out and "outside training and evaluation" in out
    trail = re.search(r"audit trail: (\S+\.csv) \((\d+) committed records\)", out)
    assert trail is not None and int(trail.group(2)) > 0
    with open(trail.group(1), newline="") as handle:
        rows = list(csv.DictReader(handle))
    kinds = {row["key"].split(":")[0] for row in rows}
    assert {"session", "round", "update", "verdict"} <= kinds
    for number in (1, 2):  # each round's three updates and a quorum of accepting verdicts
        in_round = [row for row in rows if row["key"].split("/")[1:2] == [str(number)]]
        assert sum(row["status"] == "submitted" for row in in_round) == 3
        assert sum(row["status"] == "accept" for row in in_round) >= 2
    assert all(row["tx_id"] for row in rows)
    adapters = re.findall(r"final adapter of \S+: (\S+)", out)
    assert len(adapters) == 3
    assert all((Path(a) / "adapter_model.safetensors").is_file() for a in adapters)
    # Each site's personal adapter: its accuracy in the table, its folder on the site only.
    assert "personalized" in out
    personal = re.findall(r"personal adapter of \S+ \(stays on its site\): (\S+)", out)
    assert len(personal) == 3
    for folder in map(Path, personal):
        assert (folder / "adapter_model.safetensors").is_file()
        assert (folder / "provenance.json").is_file()
    worst = re.search(r"worst\W+[\d.]+%\W+[\d.]+%\W+[\d.]+%\W+[\d.]+%", out)
    assert worst is not None, out[-3000:]
