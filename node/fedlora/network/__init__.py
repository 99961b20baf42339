"""Admin side of the consortium: render configs, start/stop orderer and peers, deploy chaincode.

Everything runs as native processes, on the loopback interface unless a :class:`Placement`
gives the peers hosts of their own; no Docker. The CLI group `fedlora network` is a thin front
end over :func:`up`, :func:`down` and :func:`network_status`.
"""

from fedlora.network.install import FABRIC_VERSION, FabricInstall, locate_fabric
from fedlora.network.layout import NetworkLayout
from fedlora.network.lifecycle import DownResult, UpResult, down, up
from fedlora.network.status import network_status
from fedlora.network.topology import NetworkPlan, OrgHost, OrgPlan, Placement, plan_network

__all__ = [
    "FABRIC_VERSION",
    "DownResult",
    "FabricInstall",
    "NetworkLayout",
    "NetworkPlan",
    "OrgHost",
    "OrgPlan",
    "Placement",
    "UpResult",
    "down",
    "locate_fabric",
    "network_status",
    "plan_network",
    "up",
]
