"""The foreground threshold a fine-tune chooses on its held-out corrections, and the Segmenter using it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import preprocessing, tiny_model, write_pairs
from ukan_core.inference import Segmenter, model_threshold
from ukan_core.training.recipes import FINETUNE
from ukan_core.training.report import THRESHOLDS, choose_threshold


def _scores(overlaps: dict[float, tuple[int, int]]) -> dict:
    return {"overlap_by_threshold": {t: list(overlaps.get(t, (50, 100))) for t in THRESHOLDS}}


def test_the_threshold_with_the_best_pooled_iou_over_all_folds_wins() -> None:
    # two folds: 0.6 is better pooled over both (70+70 / 100+100) than 0.5 (50+60 / 100+100)
    folds = [_scores({0.5: (50, 100), 0.6: (70, 100)}), _scores({0.5: (60, 100), 0.6: (70, 100)})]
    threshold, pooled = choose_threshold(folds)
    assert threshold == 0.6 and pooled[0.6] == pytest.approx(0.7) and pooled[0.5] == pytest.approx(0.55)


def test_the_official_half_stays_unless_another_threshold_is_clearly_better() -> None:
    threshold, _ = choose_threshold([_scores({0.5: (800, 1000), 0.4: (805, 1000)})])   # +0.005 only
    assert threshold == 0.5


def test_the_segmenter_uses_the_models_threshold_unless_told_otherwise() -> None:
    info = {"preprocessing": preprocessing().to_dict()}
    model = tiny_model()
    prob = np.array([[[0.55, 0.65], [0.2, 0.9]]], np.float32)
    plain = Segmenter(model, info, device="cpu")
    assert plain.threshold == 0.5 and plain.to_mask(prob).tolist() == [[1, 1], [0, 1]]
    own = Segmenter(model, {**info, "threshold": 0.6}, device="cpu")
    assert own.to_mask(prob).tolist() == [[0, 1], [0, 1]]
    assert own.to_mask(prob, 0.5).tolist() == [[1, 1], [0, 1]]          # an explicit threshold wins
    assert [model_threshold({"threshold": bad}) for bad in (0, 1.5, "x", None)] == [0.5] * 4


def test_a_finetune_records_its_chosen_threshold_and_the_scores_behind_it(tmp_path: Path) -> None:
    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.training.finetune import finetune

    base = tmp_path / "base.safetensors"
    save_checkpoint(tiny_model(seed=0), base, {"name": "base", "preprocessing": preprocessing().to_dict()})
    pairs = list(scan_labelled_folder(write_pairs(tmp_path / "p", 3)))
    recipe = dataclasses.replace(FINETUNE, train_size=None, max_steps=2, val_every_steps=1)
    report = finetune(str(base), pairs, recipe=recipe, save=False, device="cpu")
    by_threshold = report.metadata["metrics"]["held_out_iou_by_threshold"]
    assert set(by_threshold) == {str(t) for t in THRESHOLDS}
    assert report.metadata["threshold"] == report.threshold in THRESHOLDS
    best = max(by_threshold.values())
    assert by_threshold[str(report.threshold)] == best or report.threshold == 0.5

