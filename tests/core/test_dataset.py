"""SegmentationDataset gives network-ready tensors equal to what inference prepares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ukan_core.data.dataset import SegmentationDataset
from ukan_core.data.folders import scan_labelled_folder
from ukan_core.data.synthetic import write_synthetic_dataset
from ukan_core.errors import DatasetError
from ukan_core.io.images import read_image, to_rgb8
from ukan_core.io.masks import read_mask, write_mask
from ukan_core.preprocess import Preprocessing, prepare, prepare_mask


def test_items_match_inference_preprocessing(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 3, seed=1, size=96)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", fit="resize", input_size=(64, 64))
    dataset = SegmentationDataset(pairs, pre)
    x, y = dataset[1]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    assert y.shape == (1, 64, 64) and y.dtype == torch.float32 and set(torch.unique(y).tolist()) <= {0.0, 1.0}
    expected = prepare(to_rgb8(read_image(pairs[1].image)), pre)
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-6)


def test_masks_follow_the_official_mask_rule(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 2, seed=4, size=96)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="official", input_size=(64, 64))
    dataset = SegmentationDataset(pairs, pre)
    for i, pair in enumerate(pairs):
        np.testing.assert_array_equal(dataset[i][1].numpy(), prepare_mask(read_mask(pair.mask), pre))


def test_augmented_items_are_reproducible_per_epoch(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 2, seed=2, size=64)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", input_size=(64, 64))
    a = SegmentationDataset(pairs, pre, augment=True, seed=3)
    b = SegmentationDataset(pairs, pre, augment=True, seed=3)
    assert torch.equal(a[0][0], b[0][0]) and torch.equal(a[0][1], b[0][1])
    grey = SegmentationDataset(pairs, pre, input_channels=1)
    assert grey[0][0].shape == (1, 64, 64)


def test_non_square_augmentation_keeps_the_shape(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 1, seed=2, size=64)
    pre = Preprocessing(mode="standard", input_size=(32, 64))
    dataset = SegmentationDataset(scan_labelled_folder(tmp_path), pre, augment=True)
    for epoch in range(6):
        dataset.set_epoch(epoch)
        x, y = dataset[0]
        assert x.shape == (3, 32, 64) and y.shape == (1, 32, 64)


def test_multi_class_targets_have_one_channel_per_class(tmp_path: Path) -> None:
    image = np.full((32, 32), 90, np.uint8)
    first, second = np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8)
    first[2:10, 2:10], second[20:30, 20:30] = 255, 255
    write_mask(tmp_path / "images" / "a.png", image)
    write_mask(tmp_path / "masks" / "0" / "a.png", first)
    write_mask(tmp_path / "masks" / "1" / "a.png", second)
    dataset = SegmentationDataset(scan_labelled_folder(tmp_path), Preprocessing(input_size=(32, 32)), num_classes=2)
    _, y = dataset[0]
    assert y.shape == (2, 32, 32)
    assert y[0, 5, 5] == 1 and y[1, 5, 5] == 0 and y[1, 25, 25] == 1 and y[0, 25, 25] == 0


def test_size_mismatch_names_both_files(tmp_path: Path) -> None:
    write_mask(tmp_path / "images" / "img.png", np.zeros((32, 32), np.uint8))
    write_mask(tmp_path / "masks" / "0" / "img.png", np.zeros((16, 32), np.uint8))
    dataset = SegmentationDataset(scan_labelled_folder(tmp_path), Preprocessing(input_size=(32, 32)))
    with pytest.raises(DatasetError, match=r"^img\.png: mask is 32x16 but its image img\.png is 32x32$"):
        dataset[0]


def test_studio_label_masks_give_one_channel_per_class(tmp_path: Path) -> None:
    """A Studio correction is one PNG of label values (0 background, k for class k): no official folders."""
    from ukan_core.data.folders import Pair

    image = np.full((32, 32), 90, np.uint8)
    labels = np.zeros((32, 32), np.uint8)
    labels[2:10, 2:10], labels[20:30, 20:30] = 1, 2
    write_mask(tmp_path / "a.png", image)
    write_mask(tmp_path / "a_labels.png", labels)
    pair = Pair(image=tmp_path / "a.png", masks=(tmp_path / "a_labels.png",), id="a")
    _, y = SegmentationDataset([pair], Preprocessing(input_size=(32, 32)), num_classes=2)[0]
    assert y.shape == (2, 32, 32)
    assert np.array_equal(y[0], labels == 1) and np.array_equal(y[1], labels == 2)
    _, binary = SegmentationDataset([pair], Preprocessing(input_size=(32, 32)), num_classes=1)[0]
    assert np.array_equal(binary[0], labels > 0), "a one-class model learns every label as foreground"


def test_pair_weights_come_with_each_item_and_bad_weights_are_refused(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 3, seed=5, size=64)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", input_size=(64, 64))
    dataset = SegmentationDataset(pairs, pre, weights=[1.0, 0.5, 0.25])
    x, y, w = dataset[1]
    assert x.shape == (3, 64, 64) and y.shape == (1, 64, 64) and float(w) == 0.5
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))
    assert batch[2].tolist() == [1.0, 0.5, 0.25]
    with pytest.raises(ValueError, match="one weight per pair"):
        SegmentationDataset(pairs, pre, weights=[1.0])
    with pytest.raises(ValueError, match="at least 0"):
        SegmentationDataset(pairs, pre, weights=[1.0, float("nan"), -1.0])


def test_affine_augmentation_moves_labels_without_new_values(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path, 4, seed=6, size=64)
    pairs = scan_labelled_folder(tmp_path)
    pre = Preprocessing(mode="standard", input_size=(64, 64))
    flat = SegmentationDataset(pairs, pre, augment=True, seed=1)
    warped = SegmentationDataset(pairs, pre, augment=True, seed=1, affine=True)
    changed = 0
    for i in range(len(pairs)):
        _, y = warped[i]
        assert set(torch.unique(y).tolist()) <= {0.0, 1.0}
        changed += int(not torch.equal(y, flat[i][1]))
    assert changed >= 1  # the affine step moved at least one mask beyond what rot90/flips give
