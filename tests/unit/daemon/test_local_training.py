"""The daemon's trainer binding: seeded start, updates that hold only tensors and scalars."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import msgspec
import pytest
import torch

from fedlora.artifacts import encode_adapter, sha256_hex
from fedlora.cli.audit import adapter_sha256
from fedlora.config import TrainingConfig
from fedlora.daemon.local_training import (
    LocalData,
    NodeTrainer,
    base_model_sha256,
    check_base_model,
    load_local_data,
)
from fedlora.data import Example
from fedlora.errors import FedloraError
from fedlora.ledger import LoraSpec

# The chain's LoRA shape, with an alpha that is not a whole number (the contract's is a float).
LORA = LoraSpec(rank=2, alpha=4.5, dropout=0.0, target_modules=("q_proj", "v_proj"), top_layers=1)


def toy_data() -> LocalData:
    words = ["fracture of femur", "pregnancy check", "tumour of lung", "fever of unknown origin"]
    examples = tuple(Example(f"{w} case {i}", i % 2) for i in range(8) for w in words[:2])
    return LocalData("toy", "Classify this.", 2, examples[:12], examples[12:])


@pytest.fixture(scope="module")
def trainer() -> NodeTrainer:
    settings = TrainingConfig(model="tiny", steps=2, batch_size=4, lr=1e-2, seed=3)
    return NodeTrainer(settings, LORA, toy_data(), freeze_a=True)


def test_the_chains_float_alpha_reaches_peft_untruncated(trainer: NodeTrainer) -> None:
    from peft.tuners.lora import LoraLayer

    modules = trainer._trainer.model.modules()
    scalings = {m.scaling["default"] for m in modules if isinstance(m, LoraLayer)}
    assert scalings == {4.5 / 2}  # lora_alpha / r, not int(4.5) / 2


def test_initial_adapter_is_a_copy_and_the_same_each_time(trainer: NodeTrainer) -> None:
    first, second = trainer.initial_adapter(0), trainer.initial_adapter(0)
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name])
        assert first[name] is not second[name]


def test_update_holds_only_tensors_and_scalar_metrics(trainer: NodeTrainer) -> None:
    start = trainer.initial_adapter(0)
    update = trainer.train(start, round_number=1, proximal_mu=0.0)
    assert update.num_examples == 12
    assert set(update.metrics) == {"loss", "global_accuracy"}
    assert all(isinstance(value, float) for value in update.metrics.values())
    changed = [n for n in start if not torch.equal(start[n], update.tensors[n])]
    assert changed and all("lora_B" in name for name in changed)  # FFA: A stays frozen


def test_unknown_demo_site_names_the_known_ones() -> None:
    settings = TrainingConfig(model="tiny", site="client-9")
    with pytest.raises(FedloraError, match="is not in the session's split"):
        load_local_data(settings, "icd10:dirichlet:0.5:3:0")


def test_malformed_dataset_tag_is_explained() -> None:
    with pytest.raises(FedloraError, match="icd10:<partition>"):
        load_local_data(TrainingConfig(model="tiny"), "icd10-dirichlet")


@pytest.mark.parametrize("tag", ["icd10:dirichlet:abc:3:0", "icd10:dirichlet:0.1:three:0"])
def test_a_tag_with_non_numbers_from_the_chain_is_explained(tag: str) -> None:
    with pytest.raises(FedloraError, match="non-numeric alpha, site count or seed"):
        load_local_data(TrainingConfig(model="tiny"), tag)


def test_final_adapter_loads_with_peft_and_gives_the_same_outputs(
    trainer: NodeTrainer, tmp_path: Path
) -> None:
    from peft import PeftModel
    from safetensors import safe_open

    from fedlora.training import load_model

    update = trainer.train(trainer.initial_adapter(0), round_number=2, proximal_mu=0.0)
    artifact = encode_adapter(update.tensors)
    trainer.save_peft(update.tensors, tmp_path / "peft")  # PEFT's own file, for its names
    with safe_open(str(tmp_path / "peft" / "adapter_model.safetensors"), "pt") as peft_file:
        assert set(peft_file.keys()) == set(update.tensors)  # the names PEFT expects
    trainer.save_peft(update.tensors, tmp_path / "final", artifact=artifact, card="# card\n")
    weights = tmp_path / "final" / "adapter_model.safetensors"
    # the file is the chain's artifact byte for byte: `sha256sum` gives the recorded hash
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == sha256_hex(artifact)
    assert adapter_sha256(tmp_path / "final") == sha256_hex(artifact)
    assert (tmp_path / "final" / "README.md").read_text() == "# card\n"
    config = json.loads((tmp_path / "final" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == trainer.base_model_path
    loaded = PeftModel.from_pretrained(load_model("tiny").model, str(tmp_path / "final")).eval()
    node_model = trainer._trainer.model.eval()
    ids = torch.tensor([[1, 17, 42, 99, 7]])
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, node_model(ids).logits, atol=1e-5)
        plain = load_model("tiny").model(ids).logits
        assert not torch.allclose(loaded(ids).logits, plain, atol=1e-5)  # the adapter counts


def test_a_node_refuses_weights_other_than_the_sessions(trainer: NodeTrainer) -> None:
    from tests.unit.daemon.fake_ledger import make_session

    recorded = base_model_sha256("tiny")
    assert trainer.base_model_sha256 == recorded  # the same hash `session create` records
    session = msgspec.structs.replace(
        make_session("s1", ["a", "b"], 1, 2), base_model_sha256=recorded
    )
    check_base_model(trainer, "tiny", session)  # the session's weights: fine
    other = msgspec.structs.replace(session, base_model_sha256="ab" * 32)
    with pytest.raises(FedloraError, match="is not the session's 'tiny'"):
        check_base_model(trainer, "tiny", other)
    with pytest.raises(FedloraError, match=r"set training\.model"):
        check_base_model(trainer, "smollm2", session)


def test_a_personal_adapter_starts_from_the_global_one_and_records_it(
    trainer: NodeTrainer, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from fedlora.daemon.outcome import PersonalProvenance
    from fedlora.daemon.service import _FinalWriter

    # Prepare: a node configured for 3 personalization steps, and a completed session
    global_tensors = trainer.train(trainer.initial_adapter(0), 1, 0.0).tensors
    settings = TrainingConfig(model="tiny", personalize_steps=3)
    config = SimpleNamespace(data_dir=tmp_path, training=settings)
    session = SimpleNamespace(session_id="s1", current_round=4, final_adapter_sha256="ab" * 32)
    writer = _FinalWriter(config, trainer, None, None, "Org1MSP/n1")  # type: ignore[arg-type]
    # Execute
    written = writer.write_personal(session, global_tensors)  # type: ignore[arg-type]
    # Assert: a PEFT folder of other weights than the global ones, and where it came from
    assert written is not None
    folder, accuracy = written
    assert folder == tmp_path / "personal" / "s1" and 0.0 <= accuracy <= 1.0
    provenance = msgspec.json.decode(
        (folder / "provenance.json").read_bytes(), type=PersonalProvenance
    )
    assert (provenance.global_round, provenance.global_sha256) == (4, "ab" * 32)
    assert provenance.steps == 3 and "never shared" in (folder / "README.md").read_text()
    personal = trainer._trainer.get_adapter()
    assert any(not torch.equal(personal[k], global_tensors[k]) for k in global_tensors)


def test_personalization_is_off_by_default(trainer: NodeTrainer, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from fedlora.daemon.service import _FinalWriter

    config = SimpleNamespace(data_dir=tmp_path, training=TrainingConfig(model="tiny"))
    writer = _FinalWriter(config, trainer, None, None, "n")  # type: ignore[arg-type]
    assert writer.write_personal(None, {}) is None  # type: ignore[arg-type]
    assert not (tmp_path / "personal").exists()
