"""The leave-one-site-out comparison: paired per seed, refused across different data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[3] / "scripts"))
import results_unseen

CONFIG = {"alpha": 0.1, "rounds": 2, "leave_one_out": False, "personalize_steps": 0}
DP_OFF = {"dp_epsilon": None, "dp_noise_multiplier": None, "dp_delta": 1e-5, "dp_clip_norm": 1.0}


def _final(accuracy: float) -> dict[str, Any]:
    per_site = {"a": accuracy, "b": accuracy}
    return {"avg": accuracy, "min": accuracy, "hmean": accuracy, "per_site": per_site}


def _write(folder: Path, label: str, seed: int, config: dict[str, Any], **extra: Any) -> None:
    folder.mkdir(exist_ok=True)
    run = {
        "method": {"label": label, "strategy": None},
        "seed": seed,
        "config": config,
        "config_digest": json.dumps(config, sort_keys=True)[-12:],
        "final": _final(0.5),
        "rounds": [{"accuracy": {"a": 0.5, "b": 0.5}, "summary": {"min": 0.5}}],
        **extra,
    }
    (folder / f"{label}__x__{run['config_digest']}__seed{seed}.json").write_text(json.dumps(run))


def _folders(tmp_path: Path, local_config: dict[str, Any]) -> tuple[Path, Path]:
    unseen, local = tmp_path / "unseen", tmp_path / "local"
    for seed, accuracy in ((0, 0.6), (1, 0.3)):
        _write(unseen, "fedlora", seed, {**CONFIG, **DP_OFF, "leave_one_out": True},
               unseen_site=_final(accuracy))  # fmt: skip
        _write(local, "local", seed, local_config, cross={"mean": 0.3})
    return unseen, local


def _main(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> int:
    monkeypatch.setattr(sys, "argv", ["results_unseen.py", *map(str, folders)])
    return results_unseen.main()


def test_unseen_site_accuracy_is_paired_with_local_off_site_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The local runs predate the dp_ fields: at their defaults they are the same data.
    unseen, local = _folders(tmp_path, {**CONFIG, "personalize_steps": 100})
    assert _main(monkeypatch, unseen, local) == 0
    out = capsys.readouterr().out
    assert "| 0 | 60.0 | 30.0 | 2.00x |" in out and "| 1 | 30.0 | 30.0 | 1.00x |" in out
    assert "ratio 1.50x" in out and "+15.0" in out and "| += |" in out


def test_runs_of_different_data_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unseen, local = _folders(tmp_path, {**CONFIG, "alpha": 1.0})
    assert _main(monkeypatch, unseen, local) == 1
    assert "not comparable" in capsys.readouterr().err
