"""The bench compares like with like: the bare peft loop optimises the same loss as LocalTrainer."""

from __future__ import annotations

import time

import torch
from tests.unit.training.training_helpers import NUM_LABELS, TOY_FORMAT, toy_examples

from fedlora.cli.bench_trainer import CellRun, cell_report, run_cell
from fedlora.data import Example
from fedlora.training import LocalTrainer, LoraSettings, load_model
from fedlora.training.bench import BarePeftLoop, measure_throughput
from fedlora.training.threads import CpuShare
from fedlora.training.trainer import TrainerOptions


def test_bare_loop_and_trainer_compute_the_same_answer_loss() -> None:
    settings = LoraSettings(rank=4, alpha=8, init_seed=11)
    batch = [*toy_examples(5), Example("a much longer case text " * 4, 2)]
    bare = BarePeftLoop("tiny", settings, TOY_FORMAT, NUM_LABELS)
    trainer = LocalTrainer(
        load_model("tiny"), settings, TOY_FORMAT, NUM_LABELS, TrainerOptions(device="cpu")
    )
    prompts = trainer._encoder.encode_all(batch)
    labels = torch.tensor([example.label for example in batch])
    with torch.no_grad():
        expected = float(trainer._answer_loss(trainer.answer_logits(prompts), labels))
    # Fixed padding must not change the loss either: padding sits after the answer.
    assert abs(bare.step(batch, fixed_length=64) - expected) < 1e-4


def test_measure_throughput_times_every_variant_on_the_same_tokens() -> None:
    measured = measure_throughput("tiny", toy_examples(12), TOY_FORMAT, NUM_LABELS, 1, 4, 1)
    timed = [row for row in measured.rows if row.steps == 1]
    assert len(timed) == 6
    assert timed[-1].variant == "LocalTrainer, top 1 layers, cached, DP-SGD"
    assert len({row.tokens for row in timed}) == 1
    assert all(row.seconds > 0 and row.tokens_per_second > 0 for row in timed)
    assert all(row.seconds_per_step == row.seconds for row in timed)
    assert measured.ratio() > 0 and measured.private_ratio() > 0
    assert measured.others_cpu_share is None or 0.0 <= measured.others_cpu_share <= 1.0


def test_bare_loop_under_bf16_autocast_still_scores_the_answer_token() -> None:
    settings = LoraSettings(rank=4, alpha=8, init_seed=11)
    fp32 = BarePeftLoop("tiny", settings, TOY_FORMAT, NUM_LABELS)
    bf16 = BarePeftLoop("tiny", settings, TOY_FORMAT, NUM_LABELS, bf16=True)
    batch = toy_examples(4)
    # bf16 rounds the matmuls (3 significant digits); the loss must stay the same loss
    assert abs(bf16.step(batch) - fp32.step(batch)) < 0.05


def test_cpu_share_counts_other_processes_only() -> None:
    share = CpuShare()
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:  # this process's own work is not "others"
        pass
    measured = share.stop()
    assert measured is None or 0.0 <= measured <= 1.0


def test_cell_estimate_adds_the_missing_rounds_at_the_steady_round_time() -> None:
    # Round 1 builds the feature cache (20 s); rounds 2 and 3 take 5 s each.
    cell = CellRun(rounds=3, wall_seconds=40.0, round_seconds=[20.0, 5.0, 5.0], steps=180,
                   peak_rss_mib=900.0)  # fmt: skip
    assert cell.estimate_seconds() == 40.0 + 17 * 5.0
    report = cell_report(cell)
    assert report["estimated"] is True
    assert report["s_per_step_incl_evaluation"] == round(125.0 / 1200, 3)
    whole = CellRun(rounds=20, wall_seconds=90.0, round_seconds=[4.0] * 20, steps=1200,
                    peak_rss_mib=900.0)  # fmt: skip
    assert whole.estimate_seconds() == 90.0
    assert cell_report(whole)["estimated"] is False


def test_run_cell_times_a_real_simulate_process() -> None:
    # The results-table cell on the tiny model, one round: a child `fedlora simulate` process
    cell = run_cell(rounds=1, bf16=False, model="tiny")
    assert cell.rounds == 1 and len(cell.round_seconds) == 1
    assert cell.steps == 3 * 20  # sites x local steps
    assert cell.wall_seconds > cell.round_seconds[0] > 0
    assert cell.peak_rss_mib > 100
