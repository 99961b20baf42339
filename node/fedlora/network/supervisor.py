"""Start, watch and stop the network's long-running processes, by PID.

Each process gets its own session (so a Ctrl-C in the terminal that ran `up` does not reach
it), its own log file, and a record of PID, start time and ports in the state file. Stopping
is SIGTERM, a grace period, then SIGKILL, followed by a check that its ports are free again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from fedlora.backoff import poll
from fedlora.errors import FedloraError
from fedlora.network.state import ProcessRecord
from fedlora.network.topology import LOOPBACK, port_is_free

POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one process and how to tell that it is ready."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log: Path
    ports: tuple[int, ...]
    health_url: str | None = None
    cwd: Path | None = None
    host: str = LOOPBACK  # the address its ports are on


def start_process(spec: ProcessSpec) -> ProcessRecord:
    """Start ``spec`` detached in its own session, output appended to its log file."""
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    with spec.log.open("ab") as log:
        log.write(f"\n==> {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {spec.name}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                list(spec.command),
                env=dict(spec.env),
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise FedloraError(
                f"cannot start {spec.name} ({spec.command[0]}): {error.strerror}",
                "check that the program exists and is executable",
            ) from None
    return ProcessRecord(
        name=spec.name,
        pid=process.pid,
        create_time=psutil.Process(process.pid).create_time(),
        ports=spec.ports,
        log=str(spec.log),
        health_url=spec.health_url,
        host=spec.host,
    )


def _reap(pid: int) -> None:
    """Collect the exit status of a child of this process so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_running(record: ProcessRecord) -> bool:
    """True when the recorded process is alive and is the one we started (not a reused PID)."""
    _reap(record.pid)
    try:
        process = psutil.Process(record.pid)
        if abs(process.create_time() - record.create_time) > 1.0:
            return False
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"\b(FATA|ERRO|PANI)\b|error|Error")


def _telling_line(lines: Sequence[str]) -> str:
    """The line that best says why a process died: a Go panic's first line, else the last
    fatal or error log line, else the last line."""
    for line in lines:
        if line.startswith("panic:"):
            return line
    for line in reversed(lines):
        if _ERROR_LINE.search(line):
            return line
    return lines[-1] if lines else ""


def log_tail(path: str | Path, limit: int = 240) -> str:
    """The telling line of a log's last start (colour codes removed), for a one-line message."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    # Only the output since the last "==> ... starting" marker belongs to this run.
    text = text.rsplit("\n==> ", 1)[-1]
    lines = [_ANSI_ESCAPE.sub("", line).strip() for line in text.splitlines()[1:]]
    line = _telling_line([line for line in lines if line])
    return line if len(line) <= limit else line[: limit - 3] + "..."


def crashed_error(record: ProcessRecord) -> FedloraError:
    """The error for a process that exited on its own: its last log line and the log's path."""
    tail = log_tail(record.log)
    said = f": {tail}" if tail else ""
    return FedloraError(f"{record.name} exited{said}", f"see its log {record.log}")


def probe_health(record: ProcessRecord, timeout_s: float = 1.0) -> bool:
    """One health probe: the /healthz answer when there is one, else a TCP connect."""
    if record.health_url:
        try:
            with urllib.request.urlopen(record.health_url, timeout=timeout_s) as response:
                body = json.loads(response.read() or b"{}")
            return bool(response.status == 200 and body.get("status") == "OK")
        except (urllib.error.URLError, OSError, ValueError):
            return False
    if not record.ports:
        return True
    try:
        with socket.create_connection((record.host, record.ports[0]), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_healthy(record: ProcessRecord, timeout_s: float) -> None:
    """Return once ``record`` answers its health probe.

    Raises
    ------
    FedloraError
        When the process exits first (with its log's last line) or the timeout passes.
    """

    def healthy() -> bool:
        if not is_running(record):
            raise crashed_error(record)
        return probe_health(record)

    if not poll(healthy, timeout_s, POLL_INTERVAL_S):
        raise FedloraError(
            f"{record.name} not healthy after {timeout_s:.0f} s", f"see its log {record.log}"
        )


def _wait_exit(record: ProcessRecord, timeout_s: float) -> bool:
    return poll(lambda: not is_running(record), timeout_s, POLL_INTERVAL_S)


def wait_ports_free(
    ports: Sequence[int],
    timeout_s: float,
    host: str = LOOPBACK,
    is_free: Callable[[int, str], bool] = port_is_free,
) -> list[int]:
    """Wait until every port is free on ``host``; return those still held when the time is up."""
    held = list(ports)

    def all_free() -> bool:
        held[:] = [port for port in held if not is_free(port, host)]
        return not held

    poll(all_free, timeout_s, POLL_INTERVAL_S)
    return held


def stop_process(record: ProcessRecord, grace_s: float = 10.0, port_wait_s: float = 5.0) -> None:
    """SIGTERM the recorded PID, SIGKILL it after ``grace_s``, then check its ports are free.

    A record whose process is already gone (or whose PID now belongs to another program) is
    left alone; only its ports are checked.

    Raises
    ------
    FedloraError
        When a port of the process is still held afterwards.
    """
    if is_running(record):
        _signal(record.pid, signal.SIGTERM)
        if not _wait_exit(record, grace_s):
            _signal(record.pid, signal.SIGKILL)
            _wait_exit(record, 5.0)
    _require_ports_freed(record, port_wait_s)


def kill_process(record: ProcessRecord, port_wait_s: float = 5.0) -> None:
    """SIGKILL the recorded PID at once (a crash, with no chance to shut down cleanly), then
    check its ports are free; a record whose process is already gone is left alone.

    Raises
    ------
    FedloraError
        When the process outlives the signal or a port of it is still held afterwards.
    """
    if is_running(record):
        _signal(record.pid, signal.SIGKILL)
        if not _wait_exit(record, 5.0):
            raise FedloraError(f"{record.name} (PID {record.pid}) survived SIGKILL", "see `ps`")
    _require_ports_freed(record, port_wait_s)


def _require_ports_freed(record: ProcessRecord, port_wait_s: float) -> None:
    held = wait_ports_free(record.ports, timeout_s=port_wait_s, host=record.host)
    if held:
        raise FedloraError(
            f"port {held[0]} of {record.name} is still in use after it stopped",
            f"find the holder with `ss -ltnp 'sport = :{held[0]}'` and stop it",
        )


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
