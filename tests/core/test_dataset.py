"""SegmentationDataset gives network-ready tensors equal to what inference prepares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ukan_core.data.dataset import SegmentationDataset
from ukan_core.data.folders import scan_labelled_folder
from ukan_core.data.synthetic import write_synthetic_dataset
from ukan_core.io.images import read_image, to_rgb8
from ukan_core.preprocess import Preprocessing, prepare


def test_items_match_inference_preprocessing(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 3, seed=1, size=96)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", fit="resize", input_size=(64, 64))
    dataset = SegmentationDataset(pairs, pre)
    x, y = dataset[1]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    assert y.shape == (1, 64, 64) and set(torch.unique(y).tolist()) <= {0.0, 1.0}
    expected = prepare(to_rgb8(read_image(pairs[1].image)), pre)
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-6)


def test_augmented_items_are_reproducible_per_epoch(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 2, seed=2, size=64)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", input_size=(64, 64))
    a = SegmentationDataset(pairs, pre, augment=True, seed=3)
    b = SegmentationDataset(pairs, pre, augment=True, seed=3)
    assert torch.equal(a[0][0], b[0][0]) and torch.equal(a[0][1], b[0][1])
    grey = SegmentationDataset(pairs, pre, input_channels=1)
    assert grey[0][0].shape == (1, 64, 64)
