"""LoRA setup with peft, deterministic adapter initialisation, and adapter tensors in and out."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from fedlora.artifacts.codec import Tensors
from fedlora.errors import FedloraError

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class LoraSettings:
    """How the adapter is shaped; every node of a session must use identical settings.

    Attributes
    ----------
    rank, alpha, dropout
        LoRA rank r, scaling numerator (scaling = alpha / r) and dropout on the LoRA input.
    target_modules
        Linear layers (by short name) that receive an adapter.
    top_layers
        Adapt only the top K decoder layers (None: all). The frozen layers below then never
        change, so the trainer can compute their output once per example and reuse it.
    freeze_a
        FFA-LoRA: lora_A stays at its shared initialisation and only lora_B trains.
    init_seed
        Seed of the shared initialisation of lora_A (lora_B starts at zero).
    """

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    top_layers: int | None = None
    freeze_a: bool = False
    init_seed: int = 0

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise FedloraError(f"LoRA rank must be >= 1, got {self.rank}", "use e.g. rank 8")
        if not 0.0 <= self.dropout < 1.0:
            raise FedloraError(f"LoRA dropout must be in [0, 1), got {self.dropout}", "use 0.0")
        if self.top_layers is not None and self.top_layers < 1:
            raise FedloraError(
                f"top_layers must be >= 1 or unset, got {self.top_layers}", "leave it unset"
            )
        if not self.target_modules:
            raise FedloraError("no LoRA target modules given", "use q_proj,k_proj,v_proj,o_proj")


def first_adapted_layer(num_layers: int, settings: LoraSettings) -> int:
    """Index of the lowest decoder layer that carries an adapter."""
    if settings.top_layers is None or settings.top_layers >= num_layers:
        return 0
    return num_layers - settings.top_layers


def apply_lora(model: Any, settings: LoraSettings) -> Any:
    """Wrap a frozen causal LM with a LoRA adapter and initialise it from ``settings.init_seed``.

    Parameters
    ----------
    model
        A transformers causal LM (Llama family) with frozen weights.
    settings
        Adapter shape and initialisation.

    Returns
    -------
    peft.PeftModel
        The wrapped model; only adapter weights require grad (lora_B only under FFA).
    """
    from peft import LoraConfig, get_peft_model

    num_layers = model.config.num_hidden_layers
    start = first_adapted_layer(num_layers, settings)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,  # type: ignore[arg-type]  # annotated int; scaling is alpha / r
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        layers_to_transform=list(range(start, num_layers)) if start > 0 else None,
        bias="none",
        task_type="CAUSAL_LM",
    )
    check_no_checkpointing(model)
    with warnings.catch_warnings():
        # peft reads transformers' deprecated alias is_gradient_checkpointing (a FutureWarning);
        # checkpointing is off, as checked just above.
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        peft_model = get_peft_model(model, config)
    parameters = adapter_parameters(peft_model)
    if not parameters:
        raise FedloraError(
            f"no layer matches LoRA targets {', '.join(settings.target_modules)}",
            "name Linear modules of the model, e.g. q_proj,v_proj",
        )
    initialise_adapter(parameters, settings.init_seed)
    for key, parameter in parameters.items():
        parameter.requires_grad_(not (settings.freeze_a and ".lora_A." in key))
    return peft_model


def check_no_checkpointing(model: Any) -> None:
    """Refuse a model with activation checkpointing switched on.

    Checkpointing re-runs each layer's forward during the backward pass, trading time for
    memory this trainer does not need (its decoder layers honour the flag when called directly).
    """
    if getattr(model, "is_activation_checkpointing", False):
        raise FedloraError(
            "the base model has activation checkpointing switched on",
            "call model.activation_checkpointing_disable() before wrapping it with LoRA",
        )


def adapter_parameters(peft_model: Any) -> dict[str, torch.nn.Parameter]:
    """Map each adapter state-dict key (peft's naming, no adapter name) to its live parameter."""
    from peft import get_peft_model_state_dict

    keys = set(get_peft_model_state_dict(peft_model))
    by_key = {}
    for name, parameter in peft_model.named_parameters():
        key = name.replace(".default.", ".")
        if key in keys:
            by_key[key] = parameter
    if set(by_key) != keys:
        missing = sorted(keys - set(by_key))[:3]
        raise FedloraError(f"cannot locate adapter parameters {missing}", "check peft version")
    return dict(sorted(by_key.items()))


def initialise_adapter(parameters: dict[str, torch.nn.Parameter], seed: int) -> None:
    """Set lora_A from a seeded uniform (peft's Kaiming bound) and lora_B to zero.

    Every node that uses the same seed and settings obtains bitwise the same lora_A, which
    FFA-LoRA relies on: A is never trained, so it must agree everywhere from the start.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, parameter in parameters.items():  # sorted keys: same draw order everywhere
            if ".lora_A." in key:
                bound = 1.0 / math.sqrt(parameter.shape[1])
                values = torch.rand(parameter.shape, generator=generator, dtype=torch.float32)
                parameter.copy_((values * 2.0 - 1.0) * bound)
            else:
                parameter.zero_()


def get_adapter_tensors(parameters: dict[str, torch.nn.Parameter]) -> Tensors:
    """Copy the adapter out as contiguous CPU fp32 tensors (peft state-dict keys)."""
    return {
        key: parameter.detach().to("cpu", torch.float32).clone().contiguous()
        for key, parameter in parameters.items()
    }


def set_adapter_tensors(parameters: dict[str, torch.nn.Parameter], tensors: Tensors) -> None:
    """Load adapter tensors in place; keys and shapes must match exactly.

    Raises
    ------
    FedloraError
        When keys or shapes differ from this model's adapter.
    """
    if set(tensors) != set(parameters):
        extra = sorted(set(tensors) - set(parameters))[:2]
        missing = sorted(set(parameters) - set(tensors))[:2]
        raise FedloraError(
            f"adapter keys do not match this model (extra {extra}, missing {missing})",
            "use an adapter made with the same base model and LoRA settings",
        )
    with torch.no_grad():
        for key, parameter in parameters.items():
            value = tensors[key]
            if tuple(value.shape) != tuple(parameter.shape):
                raise FedloraError(
                    f"adapter tensor {key} has shape {tuple(value.shape)}, "
                    f"expected {tuple(parameter.shape)}",
                    "use an adapter made with the same LoRA rank and targets",
                )
            parameter.copy_(value.to(parameter.device, parameter.dtype))
