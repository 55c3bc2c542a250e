"""prepare / prepare_mask / restore: the official pipeline bit for bit, the standard one, resize and pad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ukan_core.io.images import read_image, to_rgb8
from ukan_core.io.masks import read_mask
from ukan_core.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocessing,
    network_size,
    prepare,
    prepare_batch,
    prepare_mask,
    restore,
)

OFFICIAL_64 = Preprocessing(mode="official", fit="resize", input_size=(64, 64))


def rgb_image(h: int = 45, w: int = 61, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("case", ["case_a", "case_b"])
def test_official_mode_reproduces_the_reference_dataset(reference_dir: Path, case: str) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.load(reference_dir / "preprocess_cases_expected.pt", weights_only=True)[case]
    folder = reference_dir / "preprocess_cases"
    image = prepare(to_rgb8(read_image(folder / "images" / f"{case}.png")), OFFICIAL_64)
    mask = prepare_mask(read_mask(folder / "masks" / "0" / f"{case}.png"), OFFICIAL_64)
    assert image.dtype == np.float32 and image.shape == (3, 64, 64)
    np.testing.assert_allclose(image, expected["image"].numpy(), rtol=0, atol=1e-6)
    assert mask.shape == (1, 64, 64)
    np.testing.assert_array_equal(mask, expected["mask"].numpy())


def test_official_mode_uses_bgr_order_and_divides_twice() -> None:
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 255
    x = prepare(red, Preprocessing("official", "resize", (32, 32)))
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    # BGR: red lands in channel 2, normalised with the *third* ImageNet statistics
    np.testing.assert_allclose(x[:, 0, 0], ((np.array([0, 0, 1.0]) - mean) / std) / 255, rtol=1e-6)


def test_standard_mode_is_rgb_imagenet() -> None:
    rgb = rgb_image(32, 64)
    x = prepare(rgb, Preprocessing("standard", "resize", (32, 64)))
    expected = ((rgb / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)).transpose(2, 0, 1)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-6)


def test_grey_input_is_accepted_and_wrong_input_is_not() -> None:
    grey = rgb_image()[:, :, 0]
    pre = Preprocessing("standard", "resize", (32, 32))
    np.testing.assert_array_equal(prepare(grey, pre), prepare(np.dstack([grey] * 3), pre))
    with pytest.raises(ValueError):
        prepare(grey.astype(np.float32), pre)


def test_resize_restore_goes_back_to_the_original_size() -> None:
    pre = Preprocessing("official", "resize", (64, 96))
    assert prepare(rgb_image(45, 61), pre).shape == (3, 64, 96)
    prob = np.full((2, 64, 96), 0.25, np.float32)
    prob[1, :, 48:] = 1.0
    back = restore(prob, pre, (45, 61))
    assert back.shape == (2, 45, 61) and back.dtype == np.float32
    np.testing.assert_allclose(back[0], 0.25)
    assert back[1, :, :25].max() == 0.25 and back[1, :, 35:].min() == 1.0  # bilinear, edges kept


def test_pad_mode_pads_bottom_right_by_reflection_and_restore_crops() -> None:
    pre = Preprocessing("standard", "pad", (256, 256))
    rgb = rgb_image(45, 61)
    x = prepare(rgb, pre)
    assert x.shape == (3, 64, 64) and network_size((45, 61), pre) == (64, 64)
    core = ((rgb / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)).transpose(2, 0, 1)
    np.testing.assert_allclose(x[:, :45, :61], core, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x[:, 45, :61], x[:, 43, :61])  # reflect (edge row 44 not repeated)
    np.testing.assert_array_equal(x[:, :45, 61], x[:, :45, 59])
    assert restore(x, pre, (45, 61)).shape == (3, 45, 61)
    np.testing.assert_array_equal(restore(x, pre, (45, 61)), x[:, :45, :61])


def test_pad_mode_keeps_exact_multiples_and_handles_tiny_images() -> None:
    pre = Preprocessing("official", "pad", (64, 64))
    assert prepare(rgb_image(64, 96), pre).shape == (3, 64, 96)
    assert prepare(rgb_image(1, 5), pre).shape == (3, 32, 32)


def test_prepare_batch_resize_and_pad() -> None:
    images = [rgb_image(45, 61, 0), rgb_image(70, 33, 1)]
    resized = prepare_batch(images, Preprocessing("standard", "resize", (32, 32)))
    assert resized.shape == (2, 3, 32, 32)
    pre = Preprocessing("standard", "pad", (32, 32))
    padded = prepare_batch(images, pre)
    assert padded.shape == (2, 3, 96, 64)
    for item, image in zip(padded, images):
        h, w = image.shape[:2]
        np.testing.assert_array_equal(restore(item, pre, (h, w)), prepare(image, pre)[:, :h, :w])


def test_prepare_mask_rules() -> None:
    mask = np.zeros((45, 61), np.uint8)
    mask[10:30, 10:40] = 255
    pre = Preprocessing("official", "resize", (64, 64))
    target = prepare_mask(mask, pre)
    assert target.shape == (1, 64, 64) and set(np.unique(target)) == {0.0, 1.0}
    np.testing.assert_array_equal(prepare_mask((mask > 0).astype(np.uint8), pre), target)  # 0/1 -> 1
    padded = prepare_mask(mask, Preprocessing("official", "pad", (64, 64)))
    assert padded.shape == (1, 64, 64) and padded[0, 45:].max() == 0 and padded[0, :, 61:].max() == 0
    stacked = prepare_mask(np.dstack([mask, 255 - mask]), pre)
    assert stacked.shape == (2, 64, 64)


def test_preprocessing_dict_round_trip_and_validation() -> None:
    pre = Preprocessing("standard", "pad", (128, 96))
    assert pre.to_dict() == {"mode": "standard", "fit": "pad", "input_size": [128, 96]}
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    assert Preprocessing.from_dict({"mode": "standard", "fit": "resize", "input_size": [64, 64]}).input_size == (64, 64)
    assert Preprocessing.from_dict({}) == Preprocessing() == Preprocessing("official", "resize", (256, 256))
    for bad in ({"mode": "fancy"}, {"fit": "crop"}, {"input_size": [100, 100]}):
        with pytest.raises(ValueError):
            Preprocessing.from_dict(bad)
    assert Preprocessing.from_dict(None) == Preprocessing()
    with pytest.raises(TypeError):
        Preprocessing.from_dict({"mode": "official", "mean": [0.5, 0.5, 0.5]})
