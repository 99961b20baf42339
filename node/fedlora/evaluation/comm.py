"""Communication accounting: bytes moved in one federated round."""

from __future__ import annotations

from dataclasses import dataclass

from fedlora.errors import FedloraError


@dataclass(frozen=True)
class RoundTraffic:
    """Bytes moved in one round, summed over all nodes.

    Attributes
    ----------
    uploads : int
        Client updates sent to the aggregator.
    downloads : int
        Aggregates (plus optimizer state and, when verifying, the inputs) sent back out.
    total : int
        ``uploads + downloads``.
    """

    uploads: int
    downloads: int
    total: int


def bytes_per_round(
    num_clients: int,
    adapter_bytes: int,
    *,
    update_bytes: int | None = None,
    state_bytes: int = 0,
    peer_aggregator: bool = False,
    recompute_verify: bool = False,
) -> RoundTraffic:
    """Count the bytes one round moves.

    Parameters
    ----------
    num_clients : int
        Participants that train this round.
    adapter_bytes : int
        Size of the aggregate sent to each participant.
    update_bytes : int, optional
        Size of one client update, if it differs from ``adapter_bytes`` (e.g. an FFA update
        that leaves out the frozen lora_A). Defaults to ``adapter_bytes``.
    state_bytes : int
        Server-optimizer state shipped with each aggregate (0 when there is none).
    peer_aggregator : bool
        The aggregator is one of the participants (round-robin), so its own update and its
        own copy of the aggregate do not cross the network. False models a separate server.
    recompute_verify : bool
        Every other participant fetches the updates it lacks to recompute the aggregate
        (fedlora's endorsement): ``(n - 1) * (n - 1)`` extra update transfers.

    Returns
    -------
    RoundTraffic

    Raises
    ------
    FedloraError
        For a negative size or fewer than one client.
    """
    if num_clients < 1:
        raise FedloraError(f"num_clients={num_clients} is invalid", "count at least one client")
    update = adapter_bytes if update_bytes is None else update_bytes
    if min(adapter_bytes, update, state_bytes) < 0:
        raise FedloraError("byte counts cannot be negative", "pass sizes in bytes")
    senders = num_clients - 1 if peer_aggregator else num_clients
    uploads = senders * update
    downloads = senders * (adapter_bytes + state_bytes)
    if recompute_verify and peer_aggregator:
        # Each verifier already holds its own update and needs the other n - 1.
        downloads += (num_clients - 1) * (num_clients - 1) * update
    elif recompute_verify:
        # With a separate server every client lacks the n - 1 updates of the others.
        downloads += num_clients * (num_clients - 1) * update
    return RoundTraffic(uploads=uploads, downloads=downloads, total=uploads + downloads)


def format_bytes(count: float) -> str:
    """Render a byte count with a binary unit, e.g. ``3.5 MiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
