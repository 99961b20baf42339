"""Values from the chain (node names another org chose) are printed as written, never as markup."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import typer
from rich.console import Console

from fedlora.cli import common
from fedlora.cli.session import rounds_table
from fedlora.errors import FedloraError

HOSTILE = "Org2MSP/[/]x[link=https://evil.example]y[bold red]"


def test_a_round_table_shows_a_hostile_node_name_literally() -> None:
    round_ = SimpleNamespace(
        round=1, phase="final", attempt=0, aggregator=HOSTILE, updates={}, endorsements={},
        final_sha256="ab" * 32,
    )  # fmt: skip
    console = Console(record=True, width=300)
    console.print(rounds_table([round_]))
    assert HOSTILE in console.export_text()


def test_an_error_quoting_a_hostile_name_is_one_literal_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "err_console", Console(stderr=True, width=300))
    with pytest.raises(typer.Exit), common.user_errors():
        raise FedloraError(f"node {HOSTILE} is not a participant")
    assert HOSTILE in capsys.readouterr().err
