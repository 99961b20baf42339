"""Client weights: FedAvg's example counts, optionally sharpened toward high-loss clients."""

from __future__ import annotations

import math
from collections.abc import Sequence

from fedlora.errors import FedloraError

# A language model's cross-entropy loss is a few units; anything near this is a lie or a bug,
# and raised to a fairness power it would overflow the weights.
MAX_REPORTED_LOSS = 1e4
# The contract refuses larger declarations; the same bound here keeps weights finite.
MAX_REPORTED_EXAMPLES = 10**12


def check_report(client_id: str, num_examples: object, loss: object) -> None:
    """Refuse a client's reported example count or loss that no honest client could send.

    Raises
    ------
    FedloraError
        Naming the client and the number.
    """
    if (
        isinstance(num_examples, bool)
        or not isinstance(num_examples, int)
        or not 0 < num_examples <= MAX_REPORTED_EXAMPLES
    ):
        raise FedloraError(
            f"client {client_id!r} reports num_examples={num_examples!r}",
            f"it must be an int in 1..{MAX_REPORTED_EXAMPLES}",
        )
    if (
        isinstance(loss, bool)
        or not isinstance(loss, int | float)
        or not math.isfinite(loss)
        or not 0 <= loss <= MAX_REPORTED_LOSS
    ):
        raise FedloraError(
            f"client {client_id!r} reports loss={loss!r}",
            f"it must be a finite number in 0..{MAX_REPORTED_LOSS:g}",
        )


def client_weights(
    client_ids: Sequence[str],
    num_examples: Sequence[int],
    losses: Sequence[float],
    fairness_q: float = 0.0,
) -> dict[str, float]:
    """Return normalised weights ``w_k ∝ n_k * loss_k ** q`` keyed by client id, in id order.

    With ``q = 0`` these are FedAvg's weights ``n_k / sum(n)``. With ``q > 0`` clients whose
    model fits them worst (higher reported loss) get more weight, in the spirit of q-FedAvg
    (Li et al. 2020). If every loss is 0 the loss factor carries no information and the
    FedAvg weights are returned.

    Parameters
    ----------
    client_ids, num_examples, losses : sequences of equal length
        One entry per client; ids must be unique, counts and losses within check_report's bounds.
    fairness_q : float
        Sharpening exponent, >= 0.

    Returns
    -------
    dict[str, float]
        Weights summing to 1 (up to rounding), ordered by client id.

    Raises
    ------
    FedloraError
        For empty input, duplicate ids, non-positive counts or invalid losses.
    """
    if not client_ids:
        raise FedloraError("no client updates to weigh", "wait for at least one update")
    if not len(client_ids) == len(num_examples) == len(losses):
        raise FedloraError("client ids, example counts and losses differ in length")
    if len(set(client_ids)) != len(client_ids):
        raise FedloraError("the same client id appears twice", "send one update per client")
    if not math.isfinite(fairness_q) or fairness_q < 0:
        raise FedloraError(f"fairness_q={fairness_q!r} is invalid", "use a finite q >= 0")
    entries = sorted(zip(client_ids, num_examples, losses, strict=True))
    for client_id, count, loss in entries:
        check_report(client_id, count, loss)
    sharpen = fairness_q > 0 and any(loss > 0 for _, _, loss in entries)
    raw = [
        float(count) * float(loss) ** fairness_q if sharpen else float(count)
        for _, count, loss in entries
    ]
    total = math.fsum(raw)
    if total <= 0 or not math.isfinite(total):
        raise FedloraError(
            "client weights cannot be normalised (total is 0 or overflows)",
            "lower fairness_q or check the reported losses",
        )
    return {client_id: value / total for (client_id, _, _), value in zip(entries, raw, strict=True)}
