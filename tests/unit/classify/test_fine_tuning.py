from __future__ import annotations

import numpy as np
import pytest

from training.classify.finetune import (
    WarmupLinearDecay,
    class_weights,
    length_bucketed_batches,
    task_batches,
)


def test_length_bucketed_batches_cover_every_row_once_and_group_similar_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 120, size=1000).tolist()
    batches = length_bucketed_batches(lengths, 32, np.random.default_rng(1), pool_batches=10)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    spread = np.mean([np.ptp([lengths[r] for r in b]) for b in batches])
    assert spread < 30  # vs ~110 for random batches


def test_task_batches_run_fractional_epochs_and_are_reproducible() -> None:
    lengths = [5] * 100

    def run() -> list[list[int]]:
        rng = np.random.default_rng(3)
        return [b.tolist() for b in task_batches(100, lengths, 2.5, 10, rng)]

    assert len(run()) == 25
    assert run() == run()


def test_learning_rate_warms_up_linearly_then_decays_to_zero() -> None:
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    values = [float(schedule(step)) for step in (0, 5, 10, 60, 110, 200)]
    assert values == pytest.approx([0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0])


def test_class_weights_balance_the_classes_with_mean_one_per_sample() -> None:
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    weights = class_weights(labels, 3)
    per_class_mass = np.bincount(labels, weights=weights[labels])
    assert per_class_mass == pytest.approx([100 / 3] * 3)
    assert weights[labels].mean() == pytest.approx(1.0)
