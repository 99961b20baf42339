"""Environment of every Fabric process and CLI call: all paths and ports set explicitly.

Fabric's defaults point at /var/hyperledger and at ports that collide with each other (the
peer's operations port is the orderer's admin port), so every one is overridden here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fedlora.network.install import FabricInstall
from fedlora.network.layout import NetworkLayout
from fedlora.network.topology import NetworkPlan, OrgPlan

# Gossip retries a failed handshake every 25 s by default; right after the channel join peers of
# different orgs reject each other until all have joined, so a short interval makes the first
# multi-org endorsement possible within seconds instead of half a minute.
GOSSIP_RECONNECT_INTERVAL = "2s"
# A peer on a host of its own can lose its link without a word: its packets are dropped, nothing
# is refused. Fabric's defaults then take 25 s before the other peers count it as gone (until
# then their Gateways keep asking it to endorse, and each such call hangs), and up to 80 s
# (keepalive 60 s + 20 s) before the peer notices that its block stream from the orderer died,
# so once the link is back it stays behind and every endorsement it makes disagrees with the
# others'. Alive messages every 2 s with a 10 s expiry (the defaults' 1:5 ratio), and a
# keepalive ping on an idle block stream after 5 s, bound both to about 10 s. The peer then
# redials the orderer with a backoff growing 1.2-fold from 100 ms up to an hour; capped at 5 s,
# a peer whose link was down for minutes is back within seconds of its return. On the loopback
# interface a stopped process is refused at once, so there the defaults stay.
LINK_LOSS_PEER_SETTINGS = {
    "CORE_PEER_GOSSIP_ALIVETIMEINTERVAL": "2s",
    "CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT": "10s",
    "CORE_PEER_KEEPALIVE_DELIVERYCLIENT_INTERVAL": "5s",
    "CORE_PEER_KEEPALIVE_DELIVERYCLIENT_TIMEOUT": "5s",
    "CORE_PEER_DELIVERYCLIENT_RECONNECTBACKOFFTHRESHOLD": "5s",
}
# The orderer disconnects clients that ping more often than this (60 s by default); kept well
# under the peers' 5 s so that timer jitter never counts as a ping too early.
LINK_LOSS_ORDERER_SETTINGS = {"ORDERER_GENERAL_KEEPALIVE_SERVERMININTERVAL": "2s"}
LOGGING_SPEC = "INFO"
_FABRIC_PREFIXES = ("CORE_", "ORDERER_", "FABRIC_", "CHAINCODE_")


def base_environment(install: FabricInstall, layout: NetworkLayout) -> dict[str, str]:
    """The caller's environment minus any Fabric settings, plus the network's config folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FABRIC_PREFIXES)}
    env["PATH"] = f"{install.bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["FABRIC_CFG_PATH"] = str(layout.config_dir)
    # The peer CLI prints an invoke's result only at INFO or finer.
    env["FABRIC_LOGGING_SPEC"] = LOGGING_SPEC
    return env


@dataclass(frozen=True)
class NodeFiles:
    """Where one orderer or peer finds its MSP and TLS material (cryptogen's node folder, with
    msp/ and tls/) and keeps its ledgers."""

    node_dir: Path
    data_dir: Path

    @property
    def tls(self) -> Path:
        """The node's tls/ folder: server.crt, server.key, ca.crt."""
        return self.node_dir / "tls"


def orderer_node_environment(
    base: dict[str, str],
    msp_id: str,
    files: NodeFiles,
    listen: tuple[str, int],
    admin_address: str,
    operations_address: str,
    over_links: bool,
) -> dict[str, str]:
    """An orderer: TLS on ``listen`` (ip, port), no system channel, joined by osnadmin on
    ``admin_address``; with :data:`LINK_LOSS_ORDERER_SETTINGS` when peers reach it over links.

    The cluster's TLS roots of the other consenters come from the channel configuration.
    """
    tls, data = files.tls, files.data_dir
    env = {
        **base,
        "ORDERER_GENERAL_LISTENADDRESS": listen[0],
        "ORDERER_GENERAL_LISTENPORT": str(listen[1]),
        "ORDERER_GENERAL_LOCALMSPID": msp_id,
        "ORDERER_GENERAL_LOCALMSPDIR": str(files.node_dir / "msp"),
        "ORDERER_GENERAL_TLS_ENABLED": "true",
        "ORDERER_GENERAL_TLS_PRIVATEKEY": str(tls / "server.key"),
        "ORDERER_GENERAL_TLS_CERTIFICATE": str(tls / "server.crt"),
        "ORDERER_GENERAL_TLS_ROOTCAS": f"[{tls / 'ca.crt'}]",
        "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE": str(tls / "server.crt"),
        "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY": str(tls / "server.key"),
        "ORDERER_GENERAL_CLUSTER_ROOTCAS": f"[{tls / 'ca.crt'}]",
        "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
        "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
        "ORDERER_FILELEDGER_LOCATION": str(data / "ledger"),
        "ORDERER_CONSENSUS_WALDIR": str(data / "etcdraft" / "wal"),
        "ORDERER_CONSENSUS_SNAPDIR": str(data / "etcdraft" / "snapshot"),
        "ORDERER_OPERATIONS_LISTENADDRESS": operations_address,
        # The admin endpoint is for this host's admin only: keep it off the firewall.
        "ORDERER_ADMIN_LISTENADDRESS": admin_address,
        "ORDERER_ADMIN_TLS_ENABLED": "false",
        "ORDERER_METRICS_PROVIDER": "disabled",
    }
    return {**env, **LINK_LOSS_ORDERER_SETTINGS} if over_links else env


def peer_node_environment(
    base: dict[str, str],
    msp_id: str,
    files: NodeFiles,
    peer_id: str,
    addresses: tuple[str, str, str],
    over_links: bool,
) -> dict[str, str]:
    """A peer: TLS, ``addresses`` = (its own, its chaincode listener's, its operations
    endpoint's); with :data:`LINK_LOSS_PEER_SETTINGS` when it is reached over a link.

    One peer per org: it bootstraps gossip from itself and is reached by the others through its
    anchor-peer entry in the channel configuration.
    """
    address, chaincode, operations = addresses
    tls, data = files.tls, files.data_dir
    env = {
        **base,
        "CORE_PEER_ID": peer_id,
        "CORE_PEER_ADDRESS": address,
        "CORE_PEER_LISTENADDRESS": address,
        "CORE_PEER_CHAINCODEADDRESS": chaincode,
        "CORE_PEER_CHAINCODELISTENADDRESS": chaincode,
        "CORE_PEER_GOSSIP_BOOTSTRAP": address,
        "CORE_PEER_GOSSIP_EXTERNALENDPOINT": address,
        "CORE_PEER_GOSSIP_RECONNECTINTERVAL": GOSSIP_RECONNECT_INTERVAL,
        "CORE_PEER_LOCALMSPID": msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(files.node_dir / "msp"),
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_CERT_FILE": str(tls / "server.crt"),
        "CORE_PEER_TLS_KEY_FILE": str(tls / "server.key"),
        "CORE_PEER_TLS_ROOTCERT_FILE": str(tls / "ca.crt"),
        "CORE_PEER_FILESYSTEMPATH": str(data),
        "CORE_LEDGER_SNAPSHOTS_ROOTDIR": str(data / "snapshots"),
        "CORE_OPERATIONS_LISTENADDRESS": operations,
        "CORE_METRICS_PROVIDER": "disabled",
        "CORE_PEER_PROFILE_ENABLED": "false",
    }
    return {**env, **LINK_LOSS_PEER_SETTINGS} if over_links else env


def peer_client_environment(
    base: dict[str, str], msp_id: str, msp_dir: Path, peer: str, peer_tls_ca: Path
) -> dict[str, str]:
    """A ``peer`` CLI call signed by the MSP in ``msp_dir`` and answered by the peer at
    ``peer`` (verified with ``peer_tls_ca``)."""
    return {
        **base,
        "CORE_PEER_LOCALMSPID": msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(msp_dir),
        "CORE_PEER_ADDRESS": peer,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_PEER_TLS_ROOTCERT_FILE": str(peer_tls_ca),
    }


def orderer_environment(
    plan: NetworkPlan, layout: NetworkLayout, install: FabricInstall
) -> dict[str, str]:
    """Environment of the network's orderer process."""
    orderer = plan.orderer
    return orderer_node_environment(
        base_environment(install, layout),
        orderer.msp_id,
        NodeFiles(layout.orderer_node_dir(plan), layout.orderer_data_dir()),
        (orderer.ip, orderer.port),
        orderer.admin_address,
        orderer.operations_address,
        over_links=any(org.on_own_host for org in plan.orgs),
    )


def peer_environment(org: OrgPlan, layout: NetworkLayout, install: FabricInstall) -> dict[str, str]:
    """Environment of one org's peer process (``peer node start``)."""
    return peer_node_environment(
        base_environment(install, layout),
        org.msp_id,
        NodeFiles(layout.peer_dir(org), layout.peer_data_dir(org)),
        org.peer_host,
        (org.peer_address, org.chaincode_listen_address, org.operations_address),
        over_links=org.on_own_host,
    )


def client_environment(
    org: OrgPlan, msp_dir: Path, layout: NetworkLayout, install: FabricInstall
) -> dict[str, str]:
    """Environment of a ``peer`` CLI call signed by the MSP in ``msp_dir`` (one of ``org``'s
    identities) and answered by ``org``'s peer."""
    base = base_environment(install, layout)
    tls_ca = layout.peer_tls_ca(org)
    return peer_client_environment(base, org.msp_id, msp_dir, org.peer_address, tls_ca)


def admin_environment(
    org: OrgPlan, layout: NetworkLayout, install: FabricInstall
) -> dict[str, str]:
    """Environment of a ``peer`` CLI call made as the org's admin against the org's peer."""
    return client_environment(org, layout.admin_msp(org), layout, install)


def chaincode_server_environment(
    base: dict[str, str], address: str, package_id: str, peer_tls: Path
) -> dict[str, str]:
    """Environment of one org's chaincode server (chaincode-as-a-service), dialled by that org's
    peer only, over mutual TLS; ``base`` is :func:`base_environment`.

    It serves with the peer's TLS key pair in ``peer_tls`` (same org, same host) and accepts
    only clients whose certificate the org's TLS CA issued (the fabric-contract-api names
    below). The contract API turns into a server when both CHAINCODE_SERVER_ADDRESS and
    CORE_CHAINCODE_ID_NAME are set; the id must equal the one the peer gave the org's package.
    """
    return {
        **base,
        "CHAINCODE_SERVER_ADDRESS": address,
        "CORE_CHAINCODE_ID_NAME": package_id,
        "CHAINCODE_ID": package_id,
        "CORE_PEER_TLS_ENABLED": "true",
        "CORE_TLS_CLIENT_KEY_FILE": str(peer_tls / "server.key"),
        "CORE_TLS_CLIENT_CERT_FILE": str(peer_tls / "server.crt"),
        "CORE_PEER_TLS_ROOTCERT_FILE": str(peer_tls / "ca.crt"),
    }
