"""A node's privacy spending in a session with a DP budget: what it trained, what it spent.

Every round this node trains ``steps`` DP-SGD steps on its own examples; the epsilon it has
spent is the RDP accountant's over all of them (the rounds compose). The steps are recorded in
the node's own file, so a restarted node keeps counting where it stopped. A round whose
training would take the total above the session's budget is refused before it starts: no
training, no file change, nothing submitted (the chain would refuse it too, BUDGET_EXCEEDED).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from fedlora.errors import FedloraError
from fedlora.fileio import write_json_atomic
from fedlora.ledger import Privacy
from fedlora.training.dp import DpSettings, Spending, epsilon_spent, sample_rate


class PrivacySpend:
    """The DP-SGD steps this node has trained in one session, kept in ``path``.

    Training that never reached the chain (a crash before submitting) stays counted: the
    examples were used, and counting more than was released is the safe side.
    """

    def __init__(self, budget: Privacy, path: Path) -> None:
        self.budget, self.path = budget, path
        self.history: list[Spending] = self._load()

    def _load(self) -> list[Spending]:
        if not self.path.is_file():
            return []
        try:
            rows = msgspec.json.decode(self.path.read_bytes(), type=list[tuple[float, float, int]])
        except msgspec.DecodeError as error:
            raise FedloraError(
                f"privacy spending record {self.path} is unreadable: {error}",
                "restore it from a backup; deleting it would under-count the epsilon spent",
            ) from None
        return [(float(s), float(q), int(n)) for s, q, n in rows]

    @property
    def settings(self) -> DpSettings:
        """DP-SGD with the session's noise multiplier and clipping norm, noise from the OS."""
        return DpSettings(self.budget.noise_multiplier, self.budget.clip_norm)

    def spent(self) -> float:
        """Epsilon (at the session's delta) of every step recorded so far."""
        return epsilon_spent(self.history, self.budget.delta)

    def plan(self, round_number: int, steps: int, batch_size: int, num_examples: int) -> Spending:
        """This round's spending; refuses it when the total would pass the budget."""
        step = (self.budget.noise_multiplier, sample_rate(batch_size, num_examples), steps)
        after = epsilon_spent([*self.history, step], self.budget.delta)
        if after > self.budget.epsilon:
            raise FedloraError(
                f"round {round_number}: training would bring this node's epsilon to {after:.4g}, "
                f"above the session's privacy budget of {self.budget.epsilon:g} "
                f"(spent so far {self.spent():.4g})",
                "this node has used its budget and takes no further part in the session",
            )
        return step

    def record(self, step: Spending) -> float:
        """Add a round's trained steps to the file; the epsilon spent now."""
        self.history.append(step)
        write_json_atomic(self.path, [list(row) for row in self.history])
        return self.spent()
