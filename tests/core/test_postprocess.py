"""Mask clean-up: enclosed holes filled, small islands dropped, the main region never lost."""

from __future__ import annotations

import numpy as np
import pytest

from ukan_core.postprocess import DEFAULT, NONE, PostProcess, clean_mask, drop_small_islands, fill_holes


def _square(mask: np.ndarray, top: int, left: int, side: int, value: int = 1) -> None:
    mask[top:top + side, left:left + side] = value


def test_enclosed_holes_are_filled_but_a_notch_open_to_the_border_is_not() -> None:
    mask = np.zeros((40, 40), np.uint8)
    _square(mask, 5, 5, 20)
    mask[10:14, 10:14] = 0        # a hole inside
    mask[0:40, 0:3] = 1           # a band on the border ...
    mask[20:24, 0:3] = 0          # ... with a notch reaching the border: not a hole
    filled = fill_holes(mask)
    assert filled[10:14, 10:14].all()
    assert not filled[20:24, 0].any()
    assert (filled >= mask).all()


def test_islands_below_the_fraction_of_the_largest_are_dropped() -> None:
    mask = np.zeros((60, 60), np.uint8)
    _square(mask, 5, 5, 20)       # 400 px
    _square(mask, 40, 40, 5)      # 25 px: 6 % of the largest
    _square(mask, 40, 5, 8)       # 64 px: 16 %
    kept = drop_small_islands(mask, 0.1)
    assert kept[5:25, 5:25].all() and kept[40:48, 5:13].all()
    assert not kept[40:45, 40:45].any()
    assert drop_small_islands(mask, 0.0).sum() == mask.sum()


def test_clean_mask_works_per_class_and_keeps_dtype_and_shape() -> None:
    mask = np.zeros((50, 50), np.uint8)
    _square(mask, 2, 2, 20, 1)
    mask[8:10, 8:10] = 0          # hole in class 1
    _square(mask, 30, 30, 15, 2)
    _square(mask, 2, 40, 2, 2)    # tiny island of class 2
    out = clean_mask(mask)
    assert out.dtype == np.uint8 and out.shape == mask.shape
    assert (out[8:10, 8:10] == 1).all()
    assert (out[2:4, 40:42] == 0).all()
    assert (out[30:45, 30:45] == 2).all()
    assert np.array_equal(clean_mask(mask, NONE), mask)


def test_a_hole_holding_another_class_is_left_to_that_class() -> None:
    mask = np.zeros((30, 30), np.uint8)
    _square(mask, 2, 2, 25, 1)
    _square(mask, 10, 10, 6, 2)   # class 2 sits inside class 1
    out = clean_mask(mask, DEFAULT)
    assert (out[10:16, 10:16] == 2).all()


def test_an_empty_mask_stays_empty_and_bad_options_are_refused() -> None:
    assert not clean_mask(np.zeros((8, 8), np.uint8)).any()
    with pytest.raises(ValueError, match="min_island_fraction"):
        PostProcess(min_island_fraction=1.5)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        clean_mask(np.zeros((2, 8, 8), np.uint8))
