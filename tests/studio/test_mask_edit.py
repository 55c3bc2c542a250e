"""Mask edits as numpy: brush segments, polygon and flood fills, and small undo records."""

from __future__ import annotations

import numpy as np

from ukan_studio.canvas import mask_edit


def test_brush_segment_paints_a_band_and_reports_its_rect() -> None:
    mask = np.zeros((100, 200), np.uint8)
    rect = mask_edit.paint_segment(mask, (20, 50), (120, 50), diameter=9, value=1)
    assert mask[50, 20:121].all() and mask[46:55, 70].all()
    assert not mask[40, 70] and not mask[50, 140]
    top, left, bottom, right = rect
    ys, xs = np.nonzero(mask)
    assert top <= ys.min() and bottom > ys.max() and left <= xs.min() and right > xs.max()


def test_diff_edit_keeps_only_the_bounding_box_and_undoes_exactly() -> None:
    before = np.zeros((3000, 4000), np.uint8)
    after = before.copy()
    mask_edit.paint_segment(after, (1000, 1000), (1100, 1040), diameter=15, value=2)
    edit = mask_edit.diff_edit(before, after)
    assert edit is not None and edit.nbytes < 2 * 120 * 70
    restored = after.copy()
    edit.revert(restored)
    np.testing.assert_array_equal(restored, before)
    edit.apply(restored)
    np.testing.assert_array_equal(restored, after)
    assert mask_edit.diff_edit(before, before.copy()) is None


def test_polygon_and_flood_fill() -> None:
    mask = np.zeros((50, 50), np.uint8)
    mask_edit.fill_polygon(mask, [(10, 10), (30, 10), (30, 30), (10, 30)], 1)
    assert mask[20, 20] == 1 and mask[5, 5] == 0
    mask[:, 40] = 2                                   # a wall
    rect = mask_edit.flood_fill(mask, (45, 5), 3)     # fills only the strip right of the wall
    assert (mask[:, 41:] == 3).all() and mask[5, 5] == 0 and rect == (0, 41, 50, 50)
    assert mask_edit.flood_fill(mask, (45, 5), 3) is None   # same label: nothing to do
