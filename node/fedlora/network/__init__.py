"""Admin side of the consortium: render configs, start/stop orderer and peers, deploy chaincode.

Everything runs as native processes on the loopback interface; no Docker. The CLI group
`fedlora network` is a thin front end over :func:`up`, :func:`down` and :func:`network_status`.
"""

from fedlora.network.install import FABRIC_VERSION, FabricInstall, locate_fabric
from fedlora.network.layout import NetworkLayout
from fedlora.network.lifecycle import DownResult, UpResult, down, up
from fedlora.network.status import network_status
from fedlora.network.topology import NetworkPlan, OrgPlan, plan_network

__all__ = [
    "FABRIC_VERSION",
    "DownResult",
    "FabricInstall",
    "NetworkLayout",
    "NetworkPlan",
    "OrgPlan",
    "UpResult",
    "down",
    "locate_fabric",
    "network_status",
    "plan_network",
    "up",
]
