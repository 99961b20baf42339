"""Several hosts on one machine: a network namespace per host on a private switch.

Each host gets its own namespace with one interface (``eth0``) and its own address, wired to a
bridge that lives in a separate "switch" namespace. The test process reaches the hosts through
one more link into that switch. Cutting a host switches its port off at the switch, the way a
pulled cable or a failed link does: the host keeps its address and routes, and its packets are
lost until the port comes back (TCP retransmits; new connections time out).

Test support only; needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"flprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as error:
        return f"cannot create a network namespace: {error.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


class Hosts:
    """Hosts ``names`` on subnet 10.<x>.<y>.0/24, one namespace each (a context manager)."""

    def __init__(self, names: Sequence[str]) -> None:
        tag = os.getpid() % 100000
        self._tag = f"fl{tag}"
        self._subnet = f"10.{200 + tag % 50}.{tag % 250}"
        self.names = list(names)
        self._switch = f"{self._tag}sw"
        self._made: list[str] = []
        self._root_link = f"{self._tag}r"

    def namespace(self, name: str) -> str:
        return f"{self._tag}{name}"

    def address(self, name: str) -> str:
        """The host's IPv4 address."""
        return f"{self._subnet}.{self.names.index(name) + 1}"

    @property
    def root_address(self) -> str:
        """The test process's address on the switch."""
        return f"{self._subnet}.254"

    def silent_address(self) -> str:
        """An address whose packets leave the test process and are never answered.

        A fixed neighbour entry maps it to a hardware address no host has, so there is no
        quick "no route to host": a connection attempt hangs, as behind a router that drops.
        """
        address = f"{self._subnet}.200"
        _ip("neigh", "replace", address, "lladdr", "02:00:00:00:00:c8", "dev", self._root_link,
            "nud", "permanent")  # fmt: skip
        return address

    def command(self, name: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside host ``name``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(name), *argv]

    def cut(self, name: str) -> None:
        """Switch the host's port off at the switch: its packets are lost from now on."""
        _ip("-n", self._switch, "link", "set", self._port(name), "down")

    def restore(self, name: str) -> None:
        """Switch the host's port back on."""
        _ip("-n", self._switch, "link", "set", self._port(name), "up")

    def _port(self, name: str) -> str:
        return f"{self._tag}p{self.names.index(name)}"

    def __enter__(self) -> Hosts:
        try:
            self._add_namespace(self._switch)
            _ip("-n", self._switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self._switch, "link", "set", "br0", "up")
            for name in self.names:
                self._add_host(name)
            self._link_root()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _add_namespace(self, namespace: str) -> None:
        _ip("netns", "add", namespace)
        self._made.append(namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")

    def _add_host(self, name: str) -> None:
        namespace, port = self.namespace(name), self._port(name)
        self._add_namespace(namespace)
        # Create the pair inside the switch, then move one end into the host as eth0.
        _ip("-n", self._switch, "link", "add", port, "type", "veth", "peer", "name", "eth0")
        _ip("-n", self._switch, "link", "set", "eth0", "netns", namespace)
        _ip("-n", self._switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", namespace, "addr", "add", f"{self.address(name)}/24", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")

    def _link_root(self) -> None:
        _ip("link", "add", self._root_link, "type", "veth", "peer", "name", "uplink")
        _ip("link", "set", "uplink", "netns", self._switch)
        _ip("-n", self._switch, "link", "set", "uplink", "master", "br0", "up")
        _ip("addr", "add", f"{self.root_address}/24", "dev", self._root_link)
        _ip("link", "set", self._root_link, "up")

    def __exit__(self, *_: object) -> None:
        # Deleting a namespace deletes the interfaces in it, and a veth goes with its peer.
        subprocess.run(["ip", "link", "del", self._root_link], check=False, capture_output=True)
        for namespace in reversed(self._made):
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)
        self._made.clear()
