"""outline_mask: an RGB copy of an image, enlarged, with exactly the mask's outer border drawn in red."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ukan_core.overlay import OUTLINE_COLOUR, outline_mask


def grey(h: int = 20, w: int = 24) -> np.ndarray:
    return (np.arange(h * w, dtype=np.int64).reshape(h, w) % 200 + 20).astype(np.uint8)


def square_mask(h: int = 20, w: int = 24, value: int = 1) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[4:12, 6:14] = value
    return mask


def drawn(out: np.ndarray, colour: tuple[int, int, int] = OUTLINE_COLOUR) -> np.ndarray:
    """Where `out` has exactly `colour`."""
    return np.all(out == np.array(colour, np.uint8), axis=-1)


def test_no_mask_gives_an_rgb_copy_of_a_grey_or_colour_image() -> None:
    image = grey()
    out = outline_mask(image, None)
    assert out.shape == (20, 24, 3) and out.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], image)

    rgb = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    out = outline_mask(rgb, None)
    np.testing.assert_array_equal(out, rgb)
    assert not np.shares_memory(out, rgb), "a copy, never the caller's pixels"

    rgba = np.dstack([rgb, np.full((9, 7), 17, np.uint8)])
    np.testing.assert_array_equal(outline_mask(rgba, None), rgb)   # alpha dropped


def test_the_outline_is_exactly_the_border_of_a_filled_square() -> None:
    image = np.zeros((20, 24), np.uint8)
    out = outline_mask(image, square_mask())
    ring = np.zeros((20, 24), bool)
    ring[4:12, 6:14] = True
    ring[5:11, 7:13] = False   # the square's interior stays untouched
    np.testing.assert_array_equal(drawn(out), ring)
    assert not out[~ring].any(), "nothing drawn inside the square or outside it"


def test_scale_enlarges_nearest_neighbour_and_outlines_the_enlarged_mask() -> None:
    image = grey()
    out = outline_mask(image, square_mask(), scale=2)
    assert out.shape == (40, 48, 3)
    ring = np.zeros((40, 48), bool)
    ring[8:24, 12:28] = True
    ring[9:23, 13:27] = False
    np.testing.assert_array_equal(drawn(out), ring)
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(out[~ring][:, 0], big[~ring])   # everything else: the enlarged image
    for scale in (2, 3):
        expected = cv2.resize(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB), None, fx=scale, fy=scale,
                              interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(outline_mask(image, None, scale=scale), expected)


def test_a_round_mask_is_outlined_on_its_edge_only() -> None:
    mask = np.zeros((32, 32), np.uint8)
    cv2.circle(mask, (15, 16), 9, 1, -1)
    red = drawn(outline_mask(np.zeros((32, 32, 3), np.uint8), mask))
    interior = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))) > 0
    edge = (mask > 0) & ~interior   # mask pixels next to the background (left, right, up or down)
    np.testing.assert_array_equal(red, edge)


def test_any_non_zero_mask_value_counts_and_the_colour_is_the_callers() -> None:
    image = np.zeros((20, 24, 3), np.uint8)
    np.testing.assert_array_equal(outline_mask(image, square_mask(value=255)), outline_mask(image, square_mask()))
    out = outline_mask(image, square_mask(), colour=(0, 200, 10))
    assert drawn(out, (0, 200, 10)).sum() == drawn(outline_mask(image, square_mask())).sum() > 0


def test_the_inputs_are_not_modified() -> None:
    for image in (grey(), np.dstack([grey()] * 3), np.dstack([grey()] * 4)):
        mask = square_mask()
        image_before, mask_before = image.copy(), mask.copy()
        for scale in (1, 2):
            outline_mask(image, mask, scale=scale)
        np.testing.assert_array_equal(image, image_before)
        np.testing.assert_array_equal(mask, mask_before)


def test_an_empty_mask_draws_nothing() -> None:
    image = grey()
    np.testing.assert_array_equal(outline_mask(image, np.zeros_like(image)), outline_mask(image, None))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        outline_mask(grey(), np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        outline_mask(grey().astype(np.float32), None)
    with pytest.raises(ValueError, match="scale"):
        outline_mask(grey(), None, scale=0)
