"""Fine-tuning on corrections: held-out before/after, k-fold for few pairs, nothing written on cancel."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import SIZE, preprocessing, tiny_model, write_pairs
from ukan_core.errors import Cancelled, DatasetError
from ukan_core.progress import CancelToken
from ukan_core.training.finetune import finetune, fold_plan
from ukan_core.training.recipes import FINETUNE


def _pairs(folder: Path, n: int, **kw):
    from ukan_core.data.folders import scan_labelled_folder

    return list(scan_labelled_folder(write_pairs(folder, n, **kw)))


def _base_file(tmp_path: Path) -> Path:
    """A checkpoint of an untrained tiny model: a base that knows nothing about the task."""
    from ukan_core.io.checkpoints import save_checkpoint

    path = tmp_path / "base.safetensors"
    save_checkpoint(tiny_model(seed=0), path, {"name": "base", "preprocessing": preprocessing().to_dict()})
    return path


def _quick(**changes):
    return dataclasses.replace(FINETUNE, input_size=(SIZE, SIZE), **changes)


def test_fold_plan_holds_out_every_pair_once_when_there_are_few() -> None:
    for max_folds in (2, 5):   # FINETUNE's 2, and the 5 a recipe may ask for
        for n in (2, 3, 4, 5, 7, 10, 19):   # 7 corrections: all 7 are checked, not 1 or 2 of them
            plan = fold_plan(n, seed=0, max_folds=max_folds)
            assert len(plan) == min(n, max_folds)
            held = sorted(j for _, val in plan for j in val)
            assert held == list(range(n))
            for train, val in plan:
                assert train and val and not set(train) & set(val)
    (train, val), = fold_plan(40, seed=0)
    assert len(val) == 8 and len(train) == 32 and not set(train) & set(val)


@pytest.mark.slow
def test_finetune_raises_held_out_iou_over_a_poorly_matched_base(tmp_path: Path) -> None:
    from ukan_core.io.checkpoints import read_checkpoint_info
    from ukan_core.store import ModelStore

    torch.set_num_threads(1)
    pairs = _pairs(tmp_path / "corrected", 10)
    base = _base_file(tmp_path)
    base_bytes = hashlib.sha256(base.read_bytes()).hexdigest()
    store = ModelStore(tmp_path / "store")
    # A fresh model learns this toy task fastest with the paper's KAN rate for every weight.
    recipe = _quick(lr=1e-2, kan_lr=1e-2, max_steps=60, val_every_steps=10, patience=None)
    report = finetune(str(base), pairs, recipe=recipe, store=store, name="tuned", device="cpu")
    assert report.n_train == 10 and report.n_val == 5 and report.folds == 2 and report.gains.n == 10
    assert report.new_metrics["iou"] > report.base_metrics["iou"] + 0.1, report
    assert report.improved
    assert hashlib.sha256(base.read_bytes()).hexdigest() == base_bytes  # the base is never overwritten
    info = read_checkpoint_info(report.version.path)
    assert info["parent"] == "base"
    assert info["training"]["data_fingerprint"].startswith("sha256:")
    assert info["training"]["recipe"]["max_steps"] == 60
    assert info["metrics"]["held_out"]["iou"] == pytest.approx(report.new_metrics["iou"])
    assert info["metrics"]["base_held_out"]["iou"] == pytest.approx(report.base_metrics["iou"])


def test_few_pairs_use_k_fold_and_train_the_kept_model_on_all(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "corrected", 3)
    report = finetune(str(_base_file(tmp_path)), pairs, recipe=_quick(max_steps=2, val_every_steps=1, max_folds=5),
                      device="cpu", save=False)
    assert report.folds == 3 and report.n_val == 1 and report.n_train == 3
    assert report.base_metrics["n"] == 3 and report.new_metrics["n"] == 3
    assert report.version is None and report.path is None


def test_the_kept_model_trains_as_many_passes_over_all_pairs_as_the_folds_made_over_theirs(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "corrected", 4)
    # Validation only at each fold's last step: both folds' best step is their 3rd, over 2 of the 4 pairs.
    recipe = _quick(max_steps=3, val_every_steps=100, patience=None, max_folds=2, batch_size=1)
    report = finetune(str(_base_file(tmp_path)), pairs, recipe=recipe, device="cpu", save=False)
    assert report.folds == 2
    assert report.metadata["training"]["steps"] == 6            # 3 steps x 4 pairs / 2 pairs
    assert report.steps == 3 + 3 + 6


def test_cancel_writes_nothing(tmp_path: Path) -> None:
    from ukan_core.store import ModelStore

    pairs = _pairs(tmp_path / "corrected", 6)
    store = ModelStore(tmp_path / "store")
    token = CancelToken()

    def on_progress(p) -> None:
        if p.done >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        finetune(str(_base_file(tmp_path)), pairs, recipe=_quick(max_steps=50), store=store, name="tuned",
                 progress=on_progress, cancel=token, device="cpu")
    assert "tuned" not in store.names()


def test_one_pair_is_not_enough(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "corrected", 1)
    with pytest.raises(DatasetError, match="at least 2"):
        finetune(str(_base_file(tmp_path)), pairs, device="cpu", save=False)
