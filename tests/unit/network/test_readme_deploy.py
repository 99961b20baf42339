"""The README's "Deploying across hosts" commands are real commands, and fill in per host.

The live test (tests/integration/test_consortium_netns.py) runs these commands; this checks,
without Fabric, that each names a command of the CLI with options it has, and that the port
table lists every port an org's processes listen on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from tests.support.readme_deploy import README, Placeholders, readme_commands

from fedlora.cli.app import app
from fedlora.network import org

WHERE = Placeholders(
    org_dir={"org1": Path("/h1/org"), "org2": Path("/h2/org"), "org4": Path("/h4/org")},
    address={"org1": "10.0.0.1", "org2": "10.0.0.2", "org4": "10.0.0.4"},
    shared=Path("/handed"),
    base_port=27050,
    node_port=27100,
)


def _command(path: list[str]) -> Any:
    """The Typer (click) command object of ``fedlora <path>``."""
    command: Any = typer.main.get_command(app)
    for name in path:
        found = getattr(command, "commands", {}).get(name)
        assert found is not None, f"`fedlora {' '.join(path)}`: no command {name!r}"
        command = found
    return command


def test_every_readme_command_is_a_cli_command_with_those_options() -> None:
    commands = readme_commands()
    assert len(commands) >= 20
    for entry in commands:
        command = _command(entry.subcommand.split())
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        unknown = set(entry.flags) - options
        assert not unknown, f"`fedlora {entry.subcommand}` has no {', '.join(sorted(unknown))}"


def test_a_command_shown_for_org1_runs_on_another_host_with_that_hosts_values() -> None:
    by_name = {c.subcommand: c for c in readme_commands()}
    init = by_name["network org init"].argv("org2", WHERE)
    assert init == ["network", "org", "init", "--dir", "/h2/org", "--name", "Org2",
                    "--ip", "10.0.0.2", "--base-port", "27050"]  # fmt: skip
    export = by_name["network org export"].argv("org4", WHERE)
    assert export[-2:] == ["--out", "/handed/org4.json"]
    node = by_name["network org node-init"].argv("org2", WHERE)
    # The members' definitions stay those of org1..3; the node's own address is org2's.
    assert "/handed/org1.json" in node and "10.0.0.2:27100" in node
    assert node[-2:] == ["--out", "/h2/org/nodes/node1"]


def test_the_port_table_lists_every_port_of_an_org() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Deploying across hosts") :]
    rows = set(re.findall(r"^\| `(P(?:\+\d+)?)` \|", section, re.M))
    offsets = (org.ORDERER, org.ORDERER_ADMIN, org.ORDERER_OPS, org.CHAINCODE, org.PEER)
    offsets += (org.PEER_CHAINCODE, org.PEER_OPS)
    assert rows == {"P" if k == 0 else f"P+{k}" for k in offsets}
