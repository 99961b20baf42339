"""Local LoRA training: model loading, LoRA setup, the trainer (the only user of peft)."""

from fedlora.artifacts.codec import Tensors
from fedlora.training.lora import LoraSettings
from fedlora.training.model import MODEL_NAMES, LoadedModel, load_model, weights_sha256
from fedlora.training.prompts import PromptFormat, prompt_format_for
from fedlora.training.trainer import (
    FeatureCache,
    LocalTrainer,
    TrainerOptions,
    TrainResult,
    default_device,
)

__all__ = [
    "MODEL_NAMES",
    "FeatureCache",
    "LoadedModel",
    "LocalTrainer",
    "LoraSettings",
    "PromptFormat",
    "Tensors",
    "TrainResult",
    "TrainerOptions",
    "default_device",
    "load_model",
    "prompt_format_for",
    "weights_sha256",
]
