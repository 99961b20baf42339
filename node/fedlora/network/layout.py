"""Where a network keeps its files: one folder holds config, crypto, ledgers, logs and state.

<dir>/state.json        plan, process ids and ports, package id (see supervisor.py)
<dir>/config/           patched core.yaml and orderer.yaml, crypto-config.yaml, configtx.yaml,
                        builders/ccaas/ (the chaincode-as-a-service builder the peers run)
<dir>/crypto/           cryptogen output (ordererOrganizations/, peerOrganizations/)
<dir>/channel/          the channel's genesis block
<dir>/chaincode/        the CCaaS package of each org
<dir>/data/             ledgers, one folder per process (removed by `down --purge`)
<dir>/logs/             one log per process, kept across restarts
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fedlora.network.topology import NetworkPlan, OrgPlan


@dataclass(frozen=True)
class NetworkLayout:
    """Paths inside one network folder; computing them touches no file."""

    root: Path

    @property
    def state_file(self) -> Path:
        """JSON record of the plan and of the running processes."""
        return self.root / "state.json"

    @property
    def config_dir(self) -> Path:
        """FABRIC_CFG_PATH of every process: core.yaml, orderer.yaml, configtx.yaml."""
        return self.root / "config"

    @property
    def builder_dir(self) -> Path:
        """The network's copy of fedlora's ccaas external builder; its bin/ holds the programs."""
        return self.config_dir / "builders" / "ccaas"

    @property
    def crypto_dir(self) -> Path:
        """cryptogen's output folder."""
        return self.root / "crypto"

    @property
    def data_dir(self) -> Path:
        """Ledgers of every process."""
        return self.root / "data"

    @property
    def logs_dir(self) -> Path:
        """One log file per process."""
        return self.root / "logs"

    def channel_block(self, plan: NetworkPlan) -> Path:
        """The channel's genesis block written by configtxgen."""
        return self.root / "channel" / f"{plan.channel}.block"

    def package_file(self, plan: NetworkPlan, org: OrgPlan) -> Path:
        """The org's chaincode-as-a-service package (its own server's address, its peer's TLS
        client key)."""
        return self.root / "chaincode" / f"{plan.chaincode.name}.{org.name.lower()}.tgz"

    def log_file(self, process_name: str) -> Path:
        """Log of one process, e.g. ``logs/orderer.log``."""
        return self.logs_dir / f"{process_name}.log"

    # -- orderer organisation -------------------------------------------------------------

    def orderer_org_dir(self, plan: NetworkPlan) -> Path:
        """Orderer organisation's folder in the crypto material."""
        return self.crypto_dir / "ordererOrganizations" / plan.orderer.domain

    def orderer_node_dir(self, plan: NetworkPlan) -> Path:
        """The orderer node's own MSP and TLS material."""
        return self.orderer_org_dir(plan) / "orderers" / plan.orderer.host

    def orderer_tls_ca(self, plan: NetworkPlan) -> Path:
        """CA certificate clients use to verify the orderer's TLS certificate."""
        return self.orderer_node_dir(plan) / "tls" / "ca.crt"

    # -- member organisations -------------------------------------------------------------

    def org_dir(self, org: OrgPlan) -> Path:
        """A member organisation's folder in the crypto material."""
        return self.crypto_dir / "peerOrganizations" / org.domain

    def peer_dir(self, org: OrgPlan) -> Path:
        """The org's peer: msp/ and tls/."""
        return self.org_dir(org) / "peers" / org.peer_host

    def peer_tls_ca(self, org: OrgPlan) -> Path:
        """CA certificate clients use to verify the org peer's TLS certificate."""
        return self.peer_dir(org) / "tls" / "ca.crt"

    def admin_msp(self, org: OrgPlan) -> Path:
        """MSP of the org's admin user (joins channels, installs and approves chaincode)."""
        return self.org_dir(org) / "users" / f"Admin@{org.domain}" / "msp"

    def user_msp(self, org: OrgPlan) -> Path:
        """MSP of the org's ordinary client user (what a node submits transactions as)."""
        return self.org_dir(org) / "users" / f"User1@{org.domain}" / "msp"

    def peer_data_dir(self, org: OrgPlan) -> Path:
        """The peer's ledger folder."""
        return self.data_dir / org.peer_name

    def orderer_data_dir(self) -> Path:
        """The orderer's block store and Raft folders."""
        return self.data_dir / "orderer"
