"""Fréchet distance, encoder features and mask agreement used to score generated images."""

from __future__ import annotations

import numpy as np
import pytest

from ukan_core.diffusion.quality import SegmenterFeatures, frechet_distance, mask_agreement


def test_frechet_distance_of_gaussians_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shifted = a + np.array([3.0, 0.0, 4.0])
    assert frechet_distance(a, shifted) == pytest.approx(25.0, rel=1e-9)   # only the means differ
    # N(0, I) against N(0, 4I) in 3-D: Tr(I + 4I - 2*2I) = 3; sampled, so about 3
    b = rng.normal(0.0, 2.0, (4000, 3))
    assert frechet_distance(a, b) == pytest.approx(3.0, rel=0.1)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_rejects_mismatched_features() -> None:
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="two feature rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


@pytest.fixture(scope="module")
def bundled_segmenter():
    from ukan_core.inference import Segmenter

    return Segmenter.from_name_or_path("ukan-synthetic-us", device="cpu")


def test_encoder_features_tell_ultrasound_like_images_from_shuffled_pixels(bundled_segmenter, one_thread) -> None:
    from ukan_core.data.synthetic import generate_case

    real_a = [generate_case(np.random.default_rng(i), size=64)[0] for i in range(24)]
    real_b = [generate_case(np.random.default_rng(100 + i), size=64)[0] for i in range(24)]
    rng = np.random.default_rng(1)
    shuffled = [rng.permutation(image.ravel()).reshape(image.shape) for image in real_b]
    features = SegmenterFeatures(bundled_segmenter, batch_size=12)
    fa, fb, fs = features(real_a), features(real_b), features(shuffled)
    assert fa.shape == (24, 192)
    assert frechet_distance(fa, fs) > 3 * frechet_distance(fa, fb)


def test_mask_agreement_is_high_for_true_masks_and_low_for_wrong_ones(bundled_segmenter, one_thread) -> None:
    from ukan_core.data.synthetic import generate_case

    cases = [generate_case(np.random.default_rng(200 + i), size=128) for i in range(8)]
    cases = [(image, mask) for image, mask in cases if mask.any()]
    images, masks = [c[0] for c in cases], [c[1] for c in cases]
    right = mask_agreement(bundled_segmenter, images, masks)
    wrong = mask_agreement(bundled_segmenter, images, [np.roll(m, 40, axis=1) for m in masks])
    assert right.n == len(images) and right.iou > 0.5
    assert wrong.iou < right.iou - 0.3
