"""DP-SGD for the LoRA weights: per-example clipping, Gaussian noise, and the RDP accountant.

Each step samples every example of the site independently with probability q (Poisson
sampling, what the accountant assumes), takes each sampled example's gradient of the trainable
LoRA weights, clips it to L2 norm C, sums, adds N(0, sigma^2 C^2) and divides by the expected
batch size qN (Abadi et al. 2016; Opacus does the same). Opacus's RDP accountant turns
(sigma, q, steps) into epsilon for a delta. The guarantee is record-level: one example of one
site, against everyone who sees that site's adapters.

Per-example gradients come from hooks on the LoRA Linear layers rather than from Opacus's
GradSampleModule: LocalTrainer calls decoder layers directly (``shared_prefix``), caches the
frozen layers' output and runs the top layer at one position, all of which a module wrapper
does not see. A Linear's weight gradient is the sum over positions of grad_output x input, so
keeping the batch axis gives every example's gradient from the one batched backward pass.
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch

from fedlora.errors import FedloraError


@dataclass(frozen=True)
class DpSettings:
    """How DP-SGD trains: the session's noise multiplier and clipping norm.

    ``noise_seed`` None draws sampling and noise from the OS's entropy, as a node must: anyone
    who can predict the noise can subtract it. A seed makes a simulation reproducible.
    """

    noise_multiplier: float
    clip_norm: float
    noise_seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("noise_multiplier", "clip_norm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise FedloraError(f"DP {name} must be a finite number > 0, got {value}")


def sample_rate(batch_size: int, num_examples: int) -> float:
    """Poisson sampling rate q that gives ``batch_size`` examples per step on average."""
    if num_examples < 1:
        raise FedloraError("cannot sample from zero examples", "give this site some data")
    return min(1.0, batch_size / num_examples)


# One accountant entry: (noise multiplier, sample rate, steps), Opacus's history format.
Spending = tuple[float, float, int]


def epsilon_spent(history: Sequence[Spending], delta: float) -> float:
    """Epsilon (RDP accountant, for ``delta``) of all the DP-SGD steps in ``history``."""
    from opacus.accountants import RDPAccountant

    if not history:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = list(history)
    with warnings.catch_warnings():
        # "optimal order is the largest alpha": a looser (larger) epsilon, still a valid bound
        warnings.simplefilter("ignore", UserWarning)
        return float(accountant.get_epsilon(delta))


def noise_multiplier_for(epsilon: float, delta: float, rate: float, steps: int) -> float:
    """The smallest noise multiplier whose ``steps`` steps at ``rate`` spend <= ``epsilon``."""
    from opacus.accountants.utils import get_noise_multiplier

    if not (epsilon > 0 and 0 < delta < 1):
        raise FedloraError(
            f"DP epsilon must be > 0 and delta in (0, 1), got {epsilon} and {delta}",
            "use e.g. --dp-epsilon 3 --dp-delta 1e-5",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(
            get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=rate,
                steps=steps,
                accountant="rdp",
                epsilon_tolerance=0.005,
            )
        )


class DpSgd:
    """One ``train`` call's DP-SGD: Poisson batches, and private gradients for them.

    Use as a context manager around the forward and backward passes: while open, every call of
    a trainable LoRA Linear records its input and, on the backward pass, its per-example
    weight gradient.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        parameters: Sequence[torch.nn.Parameter],
        settings: DpSettings,
        rate: float,
        num_examples: int,
    ) -> None:
        self.settings, self.rate, self._count = settings, rate, num_examples
        self._parameters = list(parameters)
        owners = {id(m.weight): m for m in model.modules() if isinstance(m, torch.nn.Linear)}
        if any(id(p) not in owners or owners[id(p)].bias is not None for p in self._parameters):
            raise FedloraError(
                "DP-SGD supports LoRA weights of bias-free Linear layers only",
                "train LoRA A/B weights without bias",
            )
        self._modules = [owners[id(p)] for p in self._parameters]
        seed = secrets.randbits(63) if settings.noise_seed is None else settings.noise_seed
        self._generator = torch.Generator().manual_seed(seed)
        self._grads: dict[int, torch.Tensor] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> DpSgd:
        self._handles = [m.register_forward_hook(self._record) for m in self._modules]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles, self._grads = [], {}

    def batches(self, steps: int) -> Iterator[list[int]]:
        """``steps`` Poisson samples: each example in each batch with probability ``rate``."""
        for _ in range(steps):
            chosen = torch.rand(self._count, generator=self._generator) < self.rate
            yield chosen.nonzero().flatten().tolist()

    def _record(self, module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if not (torch.is_grad_enabled() and isinstance(output, torch.Tensor)):
            return
        if output.requires_grad:
            activations = inputs[0].detach()

            def accumulate(grad: torch.Tensor) -> None:
                self._accumulate(module, activations, grad)

            output.register_hook(accumulate)  # type: ignore[no-untyped-call]

    def _accumulate(
        self, module: torch.nn.Module, inputs: torch.Tensor, grad: torch.Tensor
    ) -> None:
        # The weight gradient of one call, kept per example: sum over positions of g x a.
        per_example = torch.einsum("n...o,n...i->noi", grad.float(), inputs.float())
        key = id(module)
        self._grads[key] = per_example + self._grads[key] if key in self._grads else per_example

    def per_example(self, losses: torch.Tensor) -> list[torch.Tensor | None]:
        """Backpropagate per-example ``losses``; each weight's gradient per example [n, ...].

        None for a weight the batch's loss does not reach.
        """
        torch.autograd.backward(losses.sum())
        grads = [self._grads.pop(id(m), None) for m in self._modules]
        self._grads = {}
        return grads

    def backward(self, losses: torch.Tensor | None) -> None:
        """Set each trainable weight's ``.grad`` to the DP-SGD gradient of one batch.

        ``losses`` holds the batch's per-example losses (None for an empty Poisson batch, whose
        gradient is the noise alone): clipped sum plus noise, over the expected batch size.
        """
        grads = [None] * len(self._modules) if losses is None else self.per_example(losses)
        clip, sigma = self.settings.clip_norm, self.settings.noise_multiplier
        present = [g for g in grads if g is not None]
        if present:
            norms = torch.stack([g.flatten(1).norm(dim=1) for g in present]).norm(dim=0)
            factors = (clip / (norms + 1e-6)).clamp(max=1.0)
        expected = self.rate * self._count
        for parameter, grad in zip(self._parameters, grads, strict=True):
            noise = torch.normal(0.0, sigma * clip, parameter.shape, generator=self._generator)
            total = noise.to(parameter.device)
            if grad is not None:
                total = total + torch.einsum("n,n...->...", factors, grad)
            parameter.grad = (total / expected).to(parameter.dtype)
