"""The chaincode lifecycle's peer CLI calls, made alike by `network up` and by each org's own
`org deploy` and `consortium commit`: install a package on an org's peer, approve the
definition for the org, commit it. Each takes ``run``, the peer CLI as one org's admin, so the
caller decides whose folder and which peer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fedlora.network.tools import ToolError, ToolResult, retry_tool
from fedlora.network.topology import ChaincodeSettings

# Runs the peer CLI with these arguments, as one org's admin; the string says what for.
AdminRun = Callable[[list[str], str], ToolResult]
# Retried until the caller's deadline right after nodes start or join: Raft electing a leader,
# peers and chaincode servers still dialling each other, a definition a majority has not yet
# approved. Any other error ends the step at once.
WARMUP_ERRORS = (
    "SERVICE_UNAVAILABLE",
    "no Raft leader",
    "connection refused",
    "failed to connect",
    "context deadline exceeded",
    "not agreed",
    "failed to endorse",
    "deadline",
)


def is_warming_up(error: ToolError) -> bool:
    """True for the errors in :data:`WARMUP_ERRORS`."""
    return any(mark in error.output for mark in WARMUP_ERRORS)


def definition_flags(channel: str, chaincode: ChaincodeSettings) -> list[str]:
    """The chaincode definition an approval and a commit must agree on."""
    return [
        *("--channelID", channel, "--name", chaincode.name),
        *("--version", chaincode.version, "--sequence", str(chaincode.sequence)),
    ]


def install(run: AdminRun, package: Path) -> None:
    """Install ``package`` on the admin's peer; an identical earlier install is fine."""
    try:
        run(["lifecycle", "chaincode", "install", str(package)], "install the chaincode")
    except ToolError as error:
        if "already successfully installed" not in error.output:
            raise


def approve(
    run: AdminRun,
    channel: str,
    chaincode: ChaincodeSettings,
    package_id: str,
    orderer: Sequence[str],
    deadline_s: float,
) -> None:
    """Approve the definition for the admin's org, with the package its own peer runs
    (``orderer``: the ``-o ... --tls --cafile ...`` flags to order through)."""
    args = ["lifecycle", "chaincode", "approveformyorg", *orderer]
    args += [*definition_flags(channel, chaincode), "--package-id", package_id, "--waitForEvent"]
    retry_tool(lambda: run(args, "approve the chaincode"), is_warming_up, deadline_s, 1.0)


def commit(
    run: AdminRun,
    channel: str,
    chaincode: ChaincodeSettings,
    orderer: Sequence[str],
    endorsers: Sequence[str],
    deadline_s: float,
) -> None:
    """Commit the definition once a majority approved (``endorsers``: the
    ``--peerAddresses``/``--tlsRootCertFiles`` flags of the peers that endorse it)."""
    args = ["lifecycle", "chaincode", "commit", *orderer, *definition_flags(channel, chaincode)]
    args += [*endorsers, "--waitForEvent"]
    retry_tool(lambda: run(args, "commit the chaincode definition"), is_warming_up, deadline_s, 1.0)
