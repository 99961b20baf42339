"""The deployment steps of a network, each one Fabric tool call (or one per org)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fedlora.fileio import write_atomic
from fedlora.network.chaincode_lifecycle import AdminRun, approve, commit, install
from fedlora.network.configtx import PROFILE
from fedlora.network.env import base_environment
from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.package import org_package, package_id
from fedlora.network.peer_cli import PeerCli, majority_with, orderer_flags, peer_flags
from fedlora.network.tools import ToolError, ToolResult, run_tool
from fedlora.network.topology import NetworkPlan, OrgPlan


@dataclass(frozen=True)
class Deployer:
    """Runs the tools for one network; holds the three things every step needs."""

    plan: NetworkPlan
    layout: NetworkLayout
    install: FabricInstall

    def _tool(self, name: str) -> str:
        return str(self.install.binary(name))

    def _as_admin(self, org: OrgPlan, args: list[str], what: str) -> ToolResult:
        return PeerCli.admin(self.plan, self.layout, self.install, org).run(args, what)

    def _admin(self, org: OrgPlan) -> AdminRun:
        """The peer CLI as ``org``'s admin against its own peer."""
        return lambda args, what: self._as_admin(org, args, f"{what} as {org.msp_id}")

    def generate_crypto(self) -> None:
        """cryptogen: MSP and TLS material of every organisation, node and user."""
        config = self.layout.config_dir / "crypto-config.yaml"
        args = ["generate", f"--config={config}", f"--output={self.layout.crypto_dir}"]
        env = base_environment(self.install, self.layout)
        run_tool([self._tool("cryptogen"), *args], env, "generate crypto material")

    def generate_channel_block(self) -> None:
        """configtxgen: the channel's genesis block."""
        block = self.layout.channel_block(self.plan)
        block.parent.mkdir(parents=True, exist_ok=True)
        args = ["-configPath", str(self.layout.config_dir), "-profile", PROFILE]
        args += ["-outputBlock", str(block), "-channelID", self.plan.channel]
        env = base_environment(self.install, self.layout)
        run_tool([self._tool("configtxgen"), *args], env, "create the channel's genesis block")

    def join_orderer(self) -> None:
        """osnadmin: the orderer joins the channel (channel participation API, no TLS)."""
        args = ["channel", "join", "--channelID", self.plan.channel]
        args += ["--config-block", str(self.layout.channel_block(self.plan))]
        args += ["-o", self.plan.orderer.admin_address]
        env = base_environment(self.install, self.layout)
        run_tool([self._tool("osnadmin"), *args], env, "join the orderer to the channel")

    def join_peer(self, org: OrgPlan) -> None:
        """The org's peer joins the channel, as the org's admin."""
        block = str(self.layout.channel_block(self.plan))
        self._as_admin(org, ["channel", "join", "-b", block], f"join {org.name}'s peer")

    def write_package(self, org: OrgPlan) -> str:
        """Write the org's deterministic CCaaS package (its own chaincode server, mutual TLS)
        into the network folder; return the id its peer gives it (label:sha256, as the peer
        CLI's calculatepackageid computes it, without a process per org)."""
        package = org_package(self.plan, org, self.layout.peer_dir(org) / "tls")
        write_atomic(self.layout.package_file(self.plan, org), package)
        return package_id(self.plan, package)

    def install_chaincode(self, org: OrgPlan) -> None:
        """Install the org's package on its peer; an identical earlier install is fine."""
        install(self._admin(org), self.layout.package_file(self.plan, org))

    def approve(self, org: OrgPlan, package_id: str, deadline_s: float = 30.0) -> None:
        """The org approves the chaincode definition (retried until Raft has a leader)."""
        flags = orderer_flags(self.plan, self.layout)
        approve(
            self._admin(org), self.plan.channel, self.plan.chaincode, package_id, flags, deadline_s
        )

    def commit(self) -> None:
        """Commit the chaincode definition, endorsed by every org's peer."""
        plan, layout = self.plan, self.layout
        peers = peer_flags(layout, plan.orgs)
        commit(
            self._admin(plan.orgs[0]),
            plan.channel,
            plan.chaincode,
            orderer_flags(plan, layout),
            peers,
            30.0,
        )

    def committed_version(self, org: OrgPlan | None = None) -> str | None:
        """Version of the committed chaincode definition, None when there is none."""
        args = ["lifecycle", "chaincode", "querycommitted", "--channelID", self.plan.channel]
        args += ["--name", self.plan.chaincode.name, "--output", "json"]
        try:
            result = self._as_admin(org or self.plan.orgs[0], args, "query the chaincode")
        except ToolError as error:
            if "not found" in error.output or "404" in error.output:
                return None
            raise
        version = json.loads(result.stdout).get("version")
        return str(version) if version is not None else None

    def invoke(self, function: str, args: list[str], deadline_s: float) -> str:
        """Submit one transaction as Org1's admin through a majority of the peers, wait for its
        commit, and return the CLI's result line (``status:200 ...``).

        The first invoke after a (re)start can fail in many transient ways (peers still dialling
        the chaincode server, Raft electing, gossip converging), so it is retried until
        ``deadline_s``.
        """
        first = self.plan.orgs[0]
        admin = PeerCli.admin(self.plan, self.layout, self.install, first)
        endorsers = majority_with(self.plan, first)
        return admin.invoke(function, *args, endorsers=endorsers, warmup_s=deadline_s).line

    def channel_height(self, org: OrgPlan) -> int:
        """Number of blocks in the org peer's copy of the channel."""
        args = ["channel", "getinfo", "-c", self.plan.channel]
        output = self._as_admin(org, args, f"read {org.name}'s channel height").output
        marker = "Blockchain info:"
        for line in output.splitlines():
            if marker in line:
                return int(json.loads(line.split(marker, 1)[1])["height"])
        raise ToolError(f"cannot read {org.name}'s channel height", "", output)
