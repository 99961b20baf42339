"""`fedlora network` through Typer's CliRunner: one-line errors for bad input, a full cycle."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedlora.cli.network import app
from fedlora.network.install import FabricInstall

runner = CliRunner()


def _error_line(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--orgs", "0"], "invalid org count 0 -- --orgs must be between 1 and 9"),
        (["--orgs", "10"], "invalid org count 10"),
        (["--base-port", "80"], "--base-port must be between 1024 and"),
        (["--channel", "Bad_Name"], "invalid channel name 'Bad_Name'"),
    ],
)
def test_up_rejects_bad_input_in_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    line = _error_line(["up", "--dir", str(tmp_path / "net"), *args])

    assert line.startswith("error: ")
    assert expected in line
    assert not (tmp_path / "net").exists()


def test_up_names_a_port_in_use(tmp_path: Path, free_base_port: int) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", free_base_port + 10))
    holder.listen()
    try:
        line = _error_line(
            ["up", "--dir", str(tmp_path), "--orgs", "1", "--base-port", str(free_base_port)]
        )
    finally:
        holder.close()

    assert f"port in use: {free_base_port + 10} (peer0.org1)" in line
    assert "--base-port" in line


def test_up_without_binaries_says_how_to_get_them(
    tmp_path: Path, free_base_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "empty-cache"))

    line = _error_line(["up", "--dir", str(tmp_path / "net"), "--base-port", str(free_base_port)])

    assert "Fabric 2.5.16 binaries missing" in line
    assert "scripts/setup_fabric.sh" in line and "FABRIC_BIN_DIR" in line


def test_up_without_binaries_repeats_the_recorded_reason(
    tmp_path: Path, free_base_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "cache" / "fabric-2.5.16" / "UNAVAILABLE"
    marker.parent.mkdir(parents=True)
    marker.write_text("the Go module proxy refused github.com/hyperledger/fabric@v1.4.0\n")
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path / "cache"))

    line = _error_line(["up", "--dir", str(tmp_path / "net"), "--base-port", str(free_base_port)])

    assert "binaries missing: the Go module proxy refused" in line


def test_up_without_the_chaincode_server_names_its_build_script(
    fake_install: FabricInstall,
    tmp_path: Path,
    free_base_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEDLORA_CHAINCODE_BIN", str(tmp_path / "no-such-cc"))

    line = _error_line(["up", "--dir", str(tmp_path / "net"), "--base-port", str(free_base_port)])

    assert "chaincode server" in line and "scripts/build_chaincode.sh" in line


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["down"]])
def test_commands_on_a_folder_without_a_network(tmp_path: Path, command: list[str]) -> None:
    line = _error_line([*command, "--dir", str(tmp_path)])

    assert f"no network in {tmp_path}" in line


def test_up_status_down_cycle(
    fake_install: FabricInstall, network_dir: Path, free_base_port: int
) -> None:
    folder = ["--dir", str(network_dir)]
    started = runner.invoke(app, ["up", *folder, "--orgs", "2", "--base-port", str(free_base_port)])
    assert started.exit_code == 0, started.output
    assert "network is up" in started.stdout
    assert "Org2MSP" in started.stdout
    assert "commit the chaincode definition" in started.stdout

    status = runner.invoke(app, ["status", *folder, "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert {p["name"]: p["state"] for p in report["processes"]}["peer0.org2"] == "healthy"
    assert report["chaincode_version"] == "1.0"

    again = _error_line(["up", *folder])
    assert "already running" in again

    stopped = runner.invoke(app, ["down", *folder, "--purge"])
    assert stopped.exit_code == 0, stopped.output
    assert "files removed" in stopped.stdout
    assert not network_dir.exists()
