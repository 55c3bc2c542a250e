"""Fine-tune data path: training at the images' own resolution, and per-pair weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import SIZE, preprocessing, tiny_model, tiny_recipe, write_pairs
from ukan_core.training.finetune import finetune
from ukan_core.training.recipes import FINETUNE
from ukan_core.training.resolution import training_preprocessing
from ukan_core.training.trainer import fit


def _pairs(folder: Path, n: int, **kw):
    from ukan_core.data.folders import scan_labelled_folder

    return list(scan_labelled_folder(write_pairs(folder, n, **kw)))


def _base_file(tmp_path: Path) -> Path:
    from ukan_core.io.checkpoints import save_checkpoint

    path = tmp_path / "base.safetensors"
    save_checkpoint(tiny_model(seed=0), path, {"name": "base", "preprocessing": preprocessing().to_dict()})
    return path


def test_training_size_follows_the_images_within_the_recipe_cap(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "p", 2, size=160)
    base = preprocessing()  # 64²
    assert training_preprocessing(base, dataclasses.replace(FINETUNE, train_size=None), pairs) == base
    assert training_preprocessing(base, dataclasses.replace(FINETUNE, train_size=128), pairs).input_size == (128, 128)
    # never above the images' own size (160 -> 160), never below the base's
    assert training_preprocessing(base, dataclasses.replace(FINETUNE, train_size=512), pairs).input_size == (160, 160)
    small = _pairs(tmp_path / "s", 2, size=40)
    assert training_preprocessing(base, dataclasses.replace(FINETUNE, train_size=256), small) == base


def test_a_finetuned_model_records_and_predicts_at_the_size_it_trained_at(tmp_path: Path) -> None:
    from ukan_core.inference import Segmenter
    from ukan_core.model_refs import load_model_with_info

    pairs = _pairs(tmp_path / "p", 6, size=128)
    recipe = dataclasses.replace(FINETUNE, train_size=128, max_steps=2, val_every_steps=1)
    out = tmp_path / "tuned.safetensors"
    report = finetune(str(_base_file(tmp_path)), pairs, recipe=recipe, out=out, store=_store(tmp_path))
    assert report.metadata["preprocessing"]["input_size"] == [128, 128]
    model, info = load_model_with_info(out)
    segmenter = Segmenter(model, info, device="cpu")
    assert segmenter.preprocessing.input_size == (128, 128)
    assert segmenter.prepare(torch.zeros(200, 100, 3, dtype=torch.uint8).numpy()).shape == (3, 128, 128)


def test_weights_reach_the_loss(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "p", 4, size=SIZE)
    recipe = tiny_recipe(max_steps=2, augment=False)

    def trained(weights):
        model = tiny_model(seed=1)
        fit(model, pairs, [], recipe, preprocessing=preprocessing(), device="cpu", seed=0, train_weights=weights)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    plain, ones, half_out = trained(None), trained([1.0] * 4), trained([1.0, 0.0, 1.0, 0.0])
    # weights of 1 give the unweighted loss (up to float rounding, which Adam amplifies a little);
    # leaving two pairs out moves the weights far more
    assert (plain - ones).abs().mean() < 0.01 * (plain - half_out).abs().mean()


def test_weights_must_match_the_pairs(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "p", 3)
    with pytest.raises(ValueError, match="one weight per pair"):
        finetune(str(_base_file(tmp_path)), pairs, weights=[1.0, 0.5], save=False)


def _store(tmp_path: Path):
    from ukan_core.store import ModelStore

    return ModelStore(tmp_path / "store")
