"""Fabric's own `peer` CLI, run as one MSP identity against a network's peers and orderer.

    cli = PeerCli(plan, layout, install, org, issued.msp_dir)    # a node of ``org``
    cli.invoke("RegisterNode", "127.0.0.1:7000", fingerprint)     # endorse on a majority, wait
    cli.query_json("GetNode", node_id)                            # answered by org's own peer

The identity signs through CORE_PEER_MSPCONFIGPATH/CORE_PEER_LOCALMSPID; queries go to the
identity's own org peer; invokes are endorsed by enough peers for the MAJORITY endorsement
policy (``--peerAddresses``), ordered by the network's orderer, and awaited (``--waitForEvent``)
until the peers committed them. A failure is a :class:`ToolError`: one line, ending with the
peer CLI's own error (a contract rejection keeps its ``[CODE]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fabric_protos.peer import proposal_response_pb2 as _proposal_response_pb2
from google.protobuf import text_format  # type: ignore[import-untyped]

from fedlora.network.env import client_environment
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.tools import DEFAULT_TIMEOUT_S, ToolError, ToolResult, retry_tool, run_tool
from fedlora.network.topology import NetworkPlan, OrgPlan

# The generated protobuf modules (and protobuf itself, here) carry no type information.
proposal_response_pb2: Any = _proposal_response_pb2

# The peer CLI logs an invoke's response as protobuf text: `result: status:200 payload:"..."`.
_RESULT_MARK = "Chaincode invoke successful. result: "
# While retrying a warm-up, these errors are final: the function does not exist, or the
# contract itself refused (its messages start with a bracketed code).
_FINAL_INVOKE_ERRORS = ("not found in contract", "Unknown function", "unknown function")
_REJECTION = re.compile(r'message:"\[([A-Z_]+)\]')


def orderer_flags(plan: NetworkPlan, layout: NetworkLayout) -> list[str]:
    """``-o <orderer> --tls --cafile <its TLS CA>``: where an invoke or lifecycle call orders."""
    return ["-o", plan.orderer.address, "--tls", "--cafile", str(layout.orderer_tls_ca(plan))]


def peer_flags(layout: NetworkLayout, orgs: Sequence[OrgPlan]) -> list[str]:
    """``--peerAddresses``/``--tlsRootCertFiles`` for each org's peer: who endorses."""
    flags: list[str] = []
    for org in orgs:
        flags += ["--peerAddresses", org.peer_address]
        flags += ["--tlsRootCertFiles", str(layout.peer_tls_ca(org))]
    return flags


def majority_with(plan: NetworkPlan, org: OrgPlan) -> tuple[OrgPlan, ...]:
    """``org`` and the orgs after it (in plan order, wrapping): a strict majority of the orgs.

    The channel's endorsement policy is MAJORITY Endorsement; the peer CLI, unlike the Gateway,
    does not plan endorsements itself, so the caller names the peers.
    """
    start = plan.orgs.index(org)
    ordered = plan.orgs[start:] + plan.orgs[:start]
    return ordered[: len(plan.orgs) // 2 + 1]


@dataclass(frozen=True)
class InvokeResult:
    """The chaincode response of a committed invoke, and the CLI's line that carried it."""

    status: int
    payload: bytes
    line: str

    def json(self) -> Any:
        """The payload decoded as JSON (every consortium transaction returns a JSON object)."""
        return _decode_json(self.payload, self.line)


def parse_invoke_result(output: str, what: str) -> InvokeResult:
    """Read the response out of what ``peer chaincode invoke`` printed (stdout and stderr).

    Raises
    ------
    ToolError
        When no result line is there (the CLI logs it only at FABRIC_LOGGING_SPEC=INFO or finer).
    """
    found = [line for line in output.splitlines() if _RESULT_MARK in line]
    if not found:
        raise ToolError(f"cannot {what}: the peer CLI printed no invoke result", "", output)
    line = found[-1].split(_RESULT_MARK, 1)[1].strip()
    response = proposal_response_pb2.Response()
    try:
        text_format.Parse(line, response)
    except text_format.ParseError as error:
        raise ToolError(f"cannot {what}: unreadable invoke result ({error})", "", output) from None
    return InvokeResult(int(response.status), bytes(response.payload), line)


def _decode_json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        shown = raw[:120].decode("utf-8", "replace")
        raise ToolError(f"{what} is not JSON: {shown!r}", "", shown) from None


@dataclass(frozen=True)
class PeerCli:
    """``peer`` calls signed by the MSP in ``msp_dir``, an identity of ``org``."""

    plan: NetworkPlan
    layout: NetworkLayout
    install: FabricInstall
    org: OrgPlan
    msp_dir: Path

    @classmethod
    def admin(
        cls, plan: NetworkPlan, layout: NetworkLayout, install: FabricInstall, org: OrgPlan
    ) -> PeerCli:
        """The org's admin (joins channels, runs the chaincode lifecycle, creates sessions)."""
        return cls(plan, layout, install, org, layout.admin_msp(org))

    def environment(self) -> dict[str, str]:
        """The complete environment of every call: this identity, the org's peer, TLS on."""
        return client_environment(self.org, self.msp_dir, self.layout, self.install)

    def run(
        self, args: Sequence[str], what: str, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> ToolResult:
        """``peer <args>`` to completion; ``what`` names the call in the error message."""
        command = [str(self.install.binary("peer")), *args]
        try:
            return run_tool(command, self.environment(), what, timeout_s)
        except ToolError as error:
            if rejection_code(error) is None:
                raise
            # The contract refused: the processes are fine, the call broke a rule.
            hint = "the contract refused the call; chaincode/README.md lists its error codes"
            raise ToolError(error.what, hint, error.output) from None

    def _chaincode_flags(self, function: str, args: Sequence[str]) -> list[str]:
        call = json.dumps({"function": function, "Args": list(args)}, separators=(",", ":"))
        return ["-C", self.plan.channel, "-n", self.plan.chaincode.name, "-c", call]

    def query(self, function: str, *args: str) -> str:
        """Evaluate ``function`` on the org's peer; return what it printed (the payload)."""
        cli = ["chaincode", "query", *self._chaincode_flags(function, args)]
        return self.run(cli, f"query {function}").stdout

    def query_json(self, function: str, *args: str) -> Any:
        """:meth:`query`, decoded as JSON."""
        return _decode_json(self.query(function, *args).encode("utf-8"), f"{function}'s answer")

    def invoke(
        self,
        function: str,
        *args: str,
        endorsers: Sequence[OrgPlan] | None = None,
        warmup_s: float = 0.0,
    ) -> InvokeResult:
        """Submit ``function`` and return once the endorsing peers committed it as VALID.

        Parameters
        ----------
        endorsers
            Whose peers endorse; by default this org and the next ones, a majority.
        warmup_s
            Keep retrying transient failures for this long (a network that just started:
            gossip, Raft leader, chaincode dial). 0 tries once. A contract rejection or an
            unknown function is never retried.
        """
        peers = endorsers if endorsers is not None else majority_with(self.plan, self.org)
        cli = ["chaincode", "invoke", *orderer_flags(self.plan, self.layout)]
        cli += [*peer_flags(self.layout, peers), *self._chaincode_flags(function, args)]
        cli += ["--waitForEvent"]
        what = f"invoke {function} as {self.org.msp_id}"
        if warmup_s <= 0:
            return parse_invoke_result(self.run(cli, what).output, what)
        result = retry_tool(lambda: self.run(cli, what), _transient, warmup_s)
        return parse_invoke_result(result.output, what)


def rejection_code(error: ToolError) -> str | None:
    """The contract's ``[CODE]`` when the peer CLI failed because the chaincode refused."""
    found = _REJECTION.search(error.output)
    return found.group(1) if found else None


def _transient(error: ToolError) -> bool:
    final = any(mark in error.output for mark in _FINAL_INVOKE_ERRORS)
    return not final and rejection_code(error) is None
