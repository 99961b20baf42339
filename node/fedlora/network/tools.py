"""Run Fabric's command-line tools (cryptogen, configtxgen, osnadmin, peer) as subprocesses."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fedlora.backoff import Backoff, Deadline, retry
from fedlora.errors import FedloraError

DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ToolResult:
    """What a finished tool printed."""

    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (the peer CLI logs results on stderr)."""
        return f"{self.stdout}\n{self.stderr}"


class ToolError(FedloraError):
    """A Fabric tool exited non-zero; ``output`` keeps everything it printed."""

    def __init__(self, what: str, hint: str, output: str) -> None:
        super().__init__(what, hint)
        self.output = output


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "fail" in line.lower():
            return line[-300:]
    return lines[-1][-300:] if lines else "no output"


def _execute(
    command: Sequence[str], env: Mapping[str, str], what: str, timeout_s: float
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(command), env=dict(env), capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"cannot {what}: {command[0]} did not finish in {timeout_s:.0f} s",
            "check the processes' logs under the network folder",
            "",
        ) from None
    except OSError as error:
        raise ToolError(f"cannot {what}: {command[0]}: {error.strerror}", "", "") from None


def run_tool(
    command: Sequence[str],
    env: Mapping[str, str],
    what: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ToolResult:
    """Run one tool to completion.

    Parameters
    ----------
    command
        Program and arguments.
    env
        Its complete environment.
    what
        What the call does, for the error message ("join Org1's peer to the channel").

    Raises
    ------
    ToolError
        When it exits non-zero or runs past ``timeout_s``; the message carries its last
        error line.
    """
    done = _execute(command, env, what, timeout_s)
    result = ToolResult(done.stdout, done.stderr)
    if done.returncode != 0:
        raise ToolError(
            f"cannot {what}: {_last_error_line(result.output)}",
            "check the processes' logs under the network folder",
            result.output,
        )
    return result


def retry_tool(
    attempt: Callable[[], ToolResult],
    retryable: Callable[[ToolError], bool],
    deadline_s: float,
    pause_s: float = 0.5,
) -> ToolResult:
    """Call ``attempt`` until it succeeds, a non-retryable error occurs or time runs out.

    Fabric needs a moment after start-up (Raft leader election, gossip membership) before some
    calls succeed; those failures are expected and retried, the last one is raised.
    """

    def transient(error: Exception) -> bool:
        return isinstance(error, ToolError) and retryable(error)

    backoff = Backoff.every(pause_s, deadline_s)
    return retry(attempt, backoff, transient, deadline=Deadline(deadline_s), what="Fabric tool")
