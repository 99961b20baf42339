"""The process supervisor on harmless stand-in processes (python -m http.server and friends)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.pki import make_ca

from fedlora.errors import FedloraError
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.processes import chaincode_binary, chaincode_spec
from fedlora.network.state import NetworkState, ProcessRecord, load_state, save_state
from fedlora.network.supervisor import (
    ProcessSpec,
    is_running,
    log_tail,
    probe_health,
    start_process,
    stop_process,
    wait_healthy,
)
from fedlora.network.topology import NetworkDefaults, plan_network, port_is_free


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def started() -> Iterator[list[ProcessRecord]]:
    """Records of processes a test starts; any still alive afterwards is stopped by PID."""
    records: list[ProcessRecord] = []
    yield records
    for record in records:
        stop_process(record, grace_s=1.0)


def _http_server(tmp_path: Path, port: int, health: bool) -> ProcessSpec:
    served = tmp_path / "served"
    served.mkdir(exist_ok=True)
    (served / "healthz").write_text('{"status":"OK"}')
    return ProcessSpec(
        name="web",
        command=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        env=dict(os.environ),
        log=tmp_path / "logs" / "web.log",
        ports=(port,),
        health_url=f"http://127.0.0.1:{port}/healthz" if health else None,
        cwd=served,
    )


@pytest.mark.parametrize("health", [True, False], ids=["healthz", "tcp"])
def test_start_health_stop_by_pid_frees_the_port(
    tmp_path: Path, started: list[ProcessRecord], health: bool
) -> None:
    port = _free_port()
    record = start_process(_http_server(tmp_path, port, health))
    started.append(record)

    wait_healthy(record, timeout_s=20)
    assert is_running(record)
    assert not port_is_free(port)
    assert os.getpgid(record.pid) == record.pid  # its own process group and session

    stop_process(record, grace_s=5)

    assert not is_running(record)
    assert port_is_free(port)
    assert "starting web" in Path(record.log).read_text()


def test_health_url_answering_something_else_is_not_healthy(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    port = _free_port()
    spec = _http_server(tmp_path, port, health=True)
    (tmp_path / "served" / "healthz").write_text('{"status":"Unavailable"}')
    record = start_process(spec)
    started.append(record)

    with pytest.raises(FedloraError, match="not healthy after 1 s"):
        wait_healthy(record, timeout_s=1)
    assert is_running(record)


def test_a_process_that_dies_during_start_is_reported_with_its_last_log_line(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    spec = ProcessSpec(
        name="orderer",
        command=[sys.executable, "-c", "print('panic: cannot open ledger', flush=True); exit(3)"],
        env=dict(os.environ),
        log=tmp_path / "orderer.log",
        ports=(_free_port(),),
    )
    record = start_process(spec)
    started.append(record)

    with pytest.raises(FedloraError) as raised:
        wait_healthy(record, timeout_s=20)

    message = str(raised.value)
    assert "orderer exited: panic: cannot open ledger" in message
    assert str(tmp_path / "orderer.log") in message
    assert "\n" not in message


def test_log_tail_prefers_the_panic_of_the_last_run_without_colour_codes(tmp_path: Path) -> None:
    log = tmp_path / "peer.log"
    log.write_text(
        "\n==> 2026-01-01T00:00:00 starting peer\npanic: an old crash\n"
        "\n==> 2026-01-01T00:01:00 starting peer\n"
        "\x1b[34m2026 [peer] INFO 001 starting\x1b[0m\n"
        "\x1b[31m2026 [ledger] ERRO 002 cannot open\x1b[0m\n"
        "panic: ledger is corrupt\n\ngoroutine 1 [running]:\nmain.main()\n"
    )
    quiet = tmp_path / "quiet.log"
    quiet.write_text("\n==> 2026 starting x\n\x1b[34mINFO ready\x1b[0m\nINFO shutting down\n")

    assert log_tail(log) == "panic: ledger is corrupt"
    assert log_tail(quiet) == "INFO shutting down"
    assert log_tail(tmp_path / "missing.log") == ""


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, started: list[ProcessRecord]
) -> None:
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    spec = ProcessSpec(
        "stubborn",
        [sys.executable, "-c", stubborn],
        dict(os.environ),
        tmp_path / "stubborn.log",
        ports=(),
    )
    record = start_process(spec)
    started.append(record)
    while "ready" not in Path(record.log).read_text():
        assert is_running(record)

    stop_process(record, grace_s=0.5)

    assert not is_running(record)


def test_a_recorded_pid_now_used_by_another_program_is_left_alone() -> None:
    # Our own PID with a different start time stands for a PID the system has reused.
    record = ProcessRecord(
        "peer0.org1", os.getpid(), create_time=1.0, ports=(), log="x", health_url=None
    )

    assert not is_running(record)
    stop_process(record)  # must not signal this test process
    assert is_running(ProcessRecord("self", os.getpid(), _own_start(), (), "x", None))


def _own_start() -> float:
    import psutil

    return float(psutil.Process().create_time())


def test_stop_reports_a_port_someone_else_still_holds(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    gone = ProcessRecord("chaincode", 2**22 + 7, 0.0, (port,), str(tmp_path / "c.log"), None)
    try:
        with pytest.raises(FedloraError, match=f"port {port} of chaincode is still in use"):
            stop_process(gone, port_wait_s=0.3)
    finally:
        holder.close()


def test_probe_without_ports_or_url_is_healthy_and_closed_port_is_not() -> None:
    assert probe_health(ProcessRecord("x", 1, 0.0, (), "x", None))
    assert not probe_health(ProcessRecord("x", 1, 0.0, (_free_port(),), "x", None))


def test_state_file_round_trip_keeps_plan_processes_and_package(tmp_path: Path) -> None:
    plan = plan_network(2, 31000, "fedlora", NetworkDefaults())
    record = ProcessRecord("orderer", 4242, 17.5, (31000, 31001), "/x/orderer.log", "http://h")
    state = NetworkState(
        plan,
        package_ids={"Org1": "fedlora_1.0:ab", "Org2": "fedlora_1.0:cd"},
        chaincode_committed=True,
        processes={"orderer": record},
    )

    save_state(tmp_path / "state.json", state)
    loaded = load_state(tmp_path / "state.json")

    assert loaded == state
    assert load_state(tmp_path / "missing.json") is None


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 99}')

    with pytest.raises(FedloraError, match=r"state file .* is unreadable"):
        load_state(tmp_path / "state.json")


def test_the_real_chaincode_server_starts_from_its_spec_and_stops(tmp_path: Path) -> None:
    binary = chaincode_binary()
    if not binary.is_file():
        pytest.skip(f"{binary} not built (scripts/build_chaincode.sh)")
    port = _free_port()
    org = plan_network(1, port - 13, "fedlora", NetworkDefaults()).orgs[0]
    layout = NetworkLayout(tmp_path)
    # The server serves with its peer's TLS key pair: any pair will do to start it.
    make_ca(tmp_path / "ca", "tls")
    tls = layout.peer_dir(org) / "tls"
    tls.mkdir(parents=True)
    for name, source in (("ca.crt", "tls-cert.pem"), ("server.crt", "tls-cert.pem")):
        shutil.copy(tmp_path / "ca" / source, tls / name)
    shutil.copy(tmp_path / "ca" / "priv_sk", tls / "server.key")
    spec = chaincode_spec(org, layout, FabricInstall(tmp_path), "fedlora_1.0:00")

    record = start_process(spec)
    try:
        wait_healthy(record, timeout_s=20)  # listening as a chaincode-as-a-service server
    finally:
        stop_process(record, grace_s=5)

    assert port_is_free(org.chaincode_server_port)
