"""Who is in the network, on which address each process listens, and which port it gets.

The plan is pure data: built from a few numbers, checked against the ports this machine already
uses, stored in the network's state file and read back by `status` and `down`. By default every
process listens on the loopback interface; a :class:`Placement` puts each org's peer and
chaincode server on a host address of its own (a network namespace on one machine, in the tests)
and the orderer on an address those hosts reach.
"""

from __future__ import annotations

import errno
import random
import socket
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError

MIN_ORGS = 1
MAX_ORGS = 9
LOWEST_BASE_PORT = 1024
# Org k's peer sits at base + 10k and its chaincode server at base + 10k + 3, so the highest
# port in use is base + 10 * MAX_ORGS + 3.
PORT_SPAN = 10 * MAX_ORGS + 4
HIGHEST_BASE_PORT = 65535 - PORT_SPAN

ORDERER_MSP_ID = "OrdererMSP"
LOOPBACK = "127.0.0.1"


def templates_root() -> Traversable:
    """The network definition shipped in this package: defaults.toml and builders/.

    Read through importlib.resources, so an installed wheel finds it as a checkout does.
    """
    return resources.files("fedlora.network")


@dataclass(frozen=True)
class ChaincodeSettings:
    """The one chaincode every network runs, and how readiness is proven."""

    name: str = "fedlora"
    version: str = "1.0"
    sequence: int = 1
    ready_function: str = "org.hyperledger.fabric:GetMetadata"


@dataclass(frozen=True)
class NetworkDefaults:
    """Values used when the command line leaves them out (from the package's defaults.toml)."""

    orgs: int = 3
    channel: str = "fedlora"
    base_port: int = 27050
    domain: str = "fedlora.local"
    chaincode: ChaincodeSettings = field(default_factory=ChaincodeSettings)


def load_defaults(path: Path | None = None) -> NetworkDefaults:
    """Read the network defaults; built-in values fill whatever the file leaves out.

    Parameters
    ----------
    path
        The TOML file; the package's ``fedlora/network/defaults.toml`` when omitted.
    """
    source: Path | Traversable = path or templates_root() / "defaults.toml"
    if not source.is_file():
        return NetworkDefaults()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise FedloraError(f"{source} is not valid TOML ({error})", "fix or delete it") from None
    network = data.get("network", {})
    chaincode = ChaincodeSettings(**data.get("chaincode", {}))
    return NetworkDefaults(**network, chaincode=chaincode)


@dataclass(frozen=True)
class OrgHost:
    """Where one org's peer runs: the IP address it listens on and is dialled at, and the
    network namespace (``ip netns``) it is started in, if not this one."""

    ip: str = LOOPBACK
    netns: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where the network's processes run.

    ``shared_ip`` is the address of the orderer, which every peer dials; ``orgs`` places org
    1, 2, ... (its peer and its chaincode server) in order; orgs beyond it stay on the loopback.
    """

    shared_ip: str = LOOPBACK
    orgs: tuple[OrgHost, ...] = ()

    def org(self, index: int) -> OrgHost:
        """Where org ``index`` (1-based) runs."""
        return self.orgs[index - 1] if index <= len(self.orgs) else OrgHost()


@dataclass(frozen=True)
class OrgPlan:
    """One member organisation with its single peer."""

    index: int
    name: str
    msp_id: str
    domain: str
    peer_host: str
    peer_port: int
    chaincode_listen_port: int
    operations_port: int
    # Left out of state files written before peers could have hosts of their own.
    ip: str = LOOPBACK
    netns: str | None = None

    @property
    def on_own_host(self) -> bool:
        """True when the peer is reached over a link (not loopback), which can lose packets."""
        return self.ip != LOOPBACK

    @property
    def peer_name(self) -> str:
        """Process name used for logs and the state file, e.g. ``peer0.org1``."""
        return f"peer0.{self.name.lower()}"

    @property
    def peer_address(self) -> str:
        """Address clients and other peers dial (the peer's Gateway, gossip and endorser)."""
        return f"{self.ip}:{self.peer_port}"

    @property
    def chaincode_listen_address(self) -> str:
        """Where the peer listens for chaincode that dials in (unused with CCaaS, still bound)."""
        return f"{self.ip}:{self.chaincode_listen_port}"

    @property
    def operations_address(self) -> str:
        """The peer's operations endpoint (/healthz)."""
        return f"{self.ip}:{self.operations_port}"

    @property
    def chaincode_server_port(self) -> int:
        """The org's own chaincode server, beside its peer (the only process that dials it)."""
        return self.peer_port + 3

    @property
    def chaincode_server_address(self) -> str:
        """Where the org's chaincode server listens, on the peer's own address."""
        return f"{self.ip}:{self.chaincode_server_port}"

    @property
    def chaincode_name(self) -> str:
        """Process name of the org's chaincode server, e.g. ``chaincode.org1``."""
        return f"chaincode.{self.name.lower()}"


@dataclass(frozen=True)
class OrdererPlan:
    """The single Raft orderer."""

    domain: str
    host: str
    port: int
    admin_port: int
    operations_port: int
    msp_id: str = ORDERER_MSP_ID
    ip: str = LOOPBACK

    @property
    def address(self) -> str:
        """Address of the orderer's client and cluster listener."""
        return f"{self.ip}:{self.port}"

    @property
    def admin_address(self) -> str:
        """The channel participation API (osnadmin)."""
        return f"{self.ip}:{self.admin_port}"

    @property
    def operations_address(self) -> str:
        """The orderer's operations endpoint (/healthz)."""
        return f"{self.ip}:{self.operations_port}"


@dataclass(frozen=True)
class NetworkPlan:
    """Everything about a network that does not change while it lives."""

    channel: str
    base_port: int
    domain: str
    orderer: OrdererPlan
    orgs: tuple[OrgPlan, ...]
    chaincode: ChaincodeSettings

    def listeners(self) -> dict[str, tuple[str, int]]:
        """Every (IP, port) the network listens on, keyed by a readable role name."""
        orderer = self.orderer
        listeners = {
            "orderer": (orderer.ip, orderer.port),
            "orderer admin": (orderer.ip, orderer.admin_port),
            "orderer operations": (orderer.ip, orderer.operations_port),
        }
        for org in self.orgs:
            listeners[f"{org.peer_name}"] = (org.ip, org.peer_port)
            listeners[f"{org.peer_name} chaincode"] = (org.ip, org.chaincode_listen_port)
            listeners[f"{org.peer_name} operations"] = (org.ip, org.operations_port)
            listeners[org.chaincode_name] = (org.ip, org.chaincode_server_port)
        return listeners

    def ports(self) -> dict[str, int]:
        """Every port the network listens on, keyed by a readable role name."""
        return {role: port for role, (_, port) in self.listeners().items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the inverse of :func:`plan_from_dict`."""
        return asdict(self)


def plan_from_dict(data: dict[str, Any]) -> NetworkPlan:
    """Rebuild a plan stored by :meth:`NetworkPlan.to_dict`."""
    return NetworkPlan(
        channel=data["channel"],
        base_port=data["base_port"],
        domain=data["domain"],
        orderer=OrdererPlan(**data["orderer"]),
        orgs=tuple(OrgPlan(**org) for org in data["orgs"]),
        chaincode=ChaincodeSettings(**data["chaincode"]),
    )


def validate_channel_name(channel: str) -> None:
    """Fabric channel names: lower-case letters, digits, '.', '-'; start with a letter."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
    if not channel or not channel[0].isalpha() or not channel.islower() or set(channel) - allowed:
        raise FedloraError(
            f"invalid channel name {channel!r}",
            "use lower-case letters, digits, '.' or '-', starting with a letter",
        )
    if len(channel) > 249:
        raise FedloraError(f"channel name is {len(channel)} characters long", "use at most 249")


def validate_counts(orgs: int, base_port: int) -> None:
    """Check the org count (1..9) and that the whole port block fits below 65536."""
    if not MIN_ORGS <= orgs <= MAX_ORGS:
        raise FedloraError(
            f"invalid org count {orgs}", f"--orgs must be between {MIN_ORGS} and {MAX_ORGS}"
        )
    if not LOWEST_BASE_PORT <= base_port <= HIGHEST_BASE_PORT:
        raise FedloraError(
            f"invalid base port {base_port}: the network needs ports {base_port}.."
            f"{base_port + PORT_SPAN - 1}",
            f"--base-port must be between {LOWEST_BASE_PORT} and {HIGHEST_BASE_PORT}",
        )


def plan_network(
    orgs: int,
    base_port: int,
    channel: str,
    defaults: NetworkDefaults | None = None,
    placement: Placement | None = None,
) -> NetworkPlan:
    """Lay out a network of ``orgs`` members on the port block starting at ``base_port``.

    Parameters
    ----------
    orgs
        Number of member organisations, 1..9, one peer each.
    base_port
        First port of the block; see fedlora/network/defaults.toml for the layout.
    channel
        Name of the application channel.
    defaults
        Domain and chaincode settings; fedlora/network/defaults.toml when omitted.
    placement
        The address of each org's peer and of the orderer; every process on the loopback
        interface when omitted.

    Raises
    ------
    FedloraError
        When the org count, the port block or the channel name is out of range.
    """
    validate_counts(orgs, base_port)
    validate_channel_name(channel)
    settings = defaults or load_defaults()
    where = placement or Placement()
    orderer = OrdererPlan(
        settings.domain, f"orderer.{settings.domain}", base_port, base_port + 1, base_port + 2,
        ip=where.shared_ip,
    )  # fmt: skip
    members = tuple(
        _org_plan(index, base_port, settings.domain, where.org(index))
        for index in range(1, orgs + 1)
    )
    return NetworkPlan(
        channel=channel,
        base_port=base_port,
        domain=settings.domain,
        orderer=orderer,
        orgs=members,
        chaincode=settings.chaincode,
    )


def _org_plan(index: int, base_port: int, domain: str, host: OrgHost) -> OrgPlan:
    org_domain = f"org{index}.{domain}"
    peer_port = base_port + 10 * index
    return OrgPlan(
        index=index,
        name=f"Org{index}",
        msp_id=f"Org{index}MSP",
        domain=org_domain,
        peer_host=f"peer0.{org_domain}",
        peer_port=peer_port,
        chaincode_listen_port=peer_port + 1,
        operations_port=peer_port + 2,
        ip=host.ip,
        netns=host.netns,
    )


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing is bound to ``host:port`` (checked by binding it for a moment).

    An address this network namespace does not have (a peer on a host of its own) counts as
    free: nothing here can hold its ports, and a port taken on that host makes the peer's own
    bind fail, with the reason in its log.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Without SO_REUSEADDR a port in TIME_WAIT reads as busy, but Fabric's own listeners
        # set it, so such a port is in fact usable.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            if error.errno == errno.EADDRNOTAVAIL:
                return True
            raise
    return True


# Blocks for temporary networks stay below Linux's ephemeral range (32768-60999 by default):
# there, the outgoing connections of running networks take ports at random, and a block that
# looked free could be taken by one before `up` binds it. The top leaves room for the nodes'
# exchange ports, which the demo puts a few hundred above the block.
TEMPORARY_BLOCKS = range(20000, 32000, 100)


def find_free_base_port(avoid: set[int] | None = None, attempts: int = 100) -> int:
    """A base port (a multiple of 100 below the ephemeral range) whose block is unused now.

    For networks started in a temporary folder (tests, benchmarks) next to others on the same
    machine; nothing is reserved, so a port can still be taken before ``up`` binds it.
    """
    rng = random.Random()
    for _ in range(attempts):
        base = rng.choice(TEMPORARY_BLOCKS)
        block = set(range(base, base + PORT_SPAN))
        if block & (avoid or set()):
            continue
        if all(port_is_free(port) for port in block):
            return base
    raise FedloraError(
        f"no free block of {PORT_SPAN} ports found in {attempts} tries",
        "stop other local networks, or pass a base port explicitly",
    )


# Called as is_free(port, ip): True when nothing holds the port on that address.
PortCheck = Callable[[int, str], bool]


def busy_ports(plan: NetworkPlan, is_free: PortCheck = port_is_free) -> list[tuple[str, int]]:
    """(role, port) pairs of the plan that something else already holds on their address."""
    listeners = plan.listeners().items()
    return [(role, port) for role, (ip, port) in listeners if not is_free(port, ip)]


def check_ports_free(plan: NetworkPlan, is_free: PortCheck = port_is_free) -> None:
    """Raise a one-line error naming the first ports of the plan that are in use."""
    busy = busy_ports(plan, is_free)
    if busy:
        listed = ", ".join(f"{port} ({role})" for role, port in busy[:4])
        more = f" and {len(busy) - 4} more" if len(busy) > 4 else ""
        raise FedloraError(
            f"port in use: {listed}{more}",
            "stop what holds it, or pick another block with --base-port",
        )
