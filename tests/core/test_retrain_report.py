"""The retrain report: every few correction is checked (k-fold), per-image gains with their spread,
a gain within the noise keeps the previous model, and the words say so."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import SIZE, preprocessing, tiny_model, write_pairs
from ukan_core.training import finetune as finetune_module
from ukan_core.training.finetune import FinetuneReport, should_select
from ukan_core.training.recipes import FINETUNE
from ukan_core.training.report import NO_CLEAR_GAIN, clear_gain, report_lines, summarise_gains


def _report(before: list[float], after: list[float], **changes) -> FinetuneReport:
    scores = {"iou": 0.5, "iou_mean": 0.5, "f1": 0.5, "f1_mean": 0.5, "n": len(before)}
    values = dict(base="liver/v0001", base_metrics=scores, new_metrics=scores, n_train=len(before),
                  n_val=1, steps=10, seconds=23.4, folds=5, gains=summarise_gains(before, after))
    values.update(changes)
    return FinetuneReport(**values)


def test_the_summary_has_n_the_range_and_an_interval_around_the_mean_gain() -> None:
    gains = summarise_gains([0.1, 0.2, 0.3, 0.4], [0.5, 0.3, 0.3, 0.9])
    assert gains.n == 4 and gains.mean_gain == pytest.approx(0.25)
    assert gains.min_gain == pytest.approx(0.0) and gains.max_gain == pytest.approx(0.5)
    assert gains.low <= gains.mean_gain <= gains.high and gains.low >= 0.0
    assert (gains.better, gains.worse) == (3, 0)
    assert summarise_gains([0.1, 0.2], [0.3, 0.4]) == summarise_gains([0.1, 0.2], [0.3, 0.4])  # seeded


def test_one_lucky_image_is_no_clear_gain_and_a_consistent_one_is() -> None:
    # the mean gain is positive, but one image carries it: within the noise of 7 images
    lucky = _report([0.5] * 7, [0.5, 0.48, 0.47, 0.5, 0.49, 0.51, 0.95])
    assert lucky.improved is not None and lucky.gains.mean_gain > 0.01
    assert not clear_gain(lucky.gains) and not should_select(lucky)
    consistent = _report([0.03, 0.05, 0.1, 0.0, 0.02, 0.04, 0.06], [0.9, 0.85, 0.92, 0.88, 0.91, 0.8, 0.9])
    assert should_select(consistent)
    assert not clear_gain(summarise_gains([0.1], [0.9]))        # one held-out image proves nothing
    assert not clear_gain(summarise_gains([0.5] * 6, [0.505] * 6))   # too small to notice


def test_report_lines_speak_plainly_of_n_the_spread_and_the_verdict() -> None:
    kept = _report([0.5] * 7, [0.5, 0.48, 0.47, 0.5, 0.49, 0.51, 0.95], version="liver/v0002", selected=False)
    text = "\n".join(report_lines(kept))
    assert "n = 7" in text and "+0.45" in text and "2 better, 3 worse" in text
    assert NO_CLEAR_GAIN[1:] in text and "23 s" in text
    for identifier in ("early_stop", "iou_mean", "val_", "None", "nan"):
        assert identifier not in text
    chosen = "\n".join(report_lines(dataclasses.replace(kept, selected=True)))
    assert "now in use" in chosen and NO_CLEAR_GAIN[1:] not in chosen


def test_seven_corrections_are_all_checked_and_the_report_carries_them(tmp_path: Path) -> None:
    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.io.checkpoints import read_checkpoint_info, save_checkpoint
    from ukan_core.store import ModelStore

    pairs = list(scan_labelled_folder(write_pairs(tmp_path / "corrected", 7)))
    base = tmp_path / "base.safetensors"
    save_checkpoint(tiny_model(seed=0), base, {"name": "base", "preprocessing": preprocessing().to_dict()})
    recipe = dataclasses.replace(FINETUNE, input_size=(SIZE, SIZE), max_steps=2, val_every_steps=1)
    store = ModelStore(tmp_path / "store")
    report = finetune_module.finetune(str(base), pairs, recipe=recipe, store=store, name="tuned", device="cpu")
    assert report.folds == 2 and report.gains.n == 7 and report.new_metrics["n"] == 7
    assert report.selected == clear_gain(report.gains)
    info = read_checkpoint_info(report.version.path)
    assert info["metrics"]["per_image"]["n"] == 7 and len(info["metrics"]["per_image"]["after"]) == 7


def test_the_time_budget_covers_the_cross_validation(tmp_path: Path) -> None:
    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.io.checkpoints import save_checkpoint

    pairs = list(scan_labelled_folder(write_pairs(tmp_path / "corrected", 7)))
    base = tmp_path / "base.safetensors"
    save_checkpoint(tiny_model(seed=0), base, {"name": "base", "preprocessing": preprocessing().to_dict()})
    recipe = dataclasses.replace(FINETUNE, input_size=(SIZE, SIZE), max_steps=100000, patience=None)
    report = finetune_module.finetune(str(base), pairs, recipe=recipe, budget_s=8.0, device="cpu", save=False)
    assert report.folds == 2 and report.seconds < 8.0 + 6.0   # 3 runs share 8 s (+ scoring)
