"""The mask overlay's colour buffer is exactly the label look-up of the mask, also after partial
refreshes at the edges (OpenCV writes the colours in place into the buffer the QImage shares)."""

from __future__ import annotations

import numpy as np

from ukan_studio.canvas.overlay import MaskOverlayItem, label_lut


def _expected(mask: np.ndarray, colors) -> np.ndarray:
    return label_lut(colors)[mask]


def test_overlay_colours_follow_the_mask_through_partial_refreshes(qtbot) -> None:
    rng = np.random.default_rng(3)
    mask = rng.integers(0, 4, (300, 400), dtype=np.uint8)
    item = MaskOverlayItem()
    item.set_mask(mask)
    colors = item._colors
    np.testing.assert_array_equal(item._bgra, _expected(mask, colors))

    for rect in [(10, 20, 50, 90), (0, 390, 300, 400), (299, 0, 300, 1), (120, 200, 121, 201)]:
        top, left, bottom, right = rect
        before = item._bgra.copy()
        mask[top:bottom, left:right] = rng.integers(0, 4, (bottom - top, right - left), dtype=np.uint8)
        item.refresh(rect)
        want = before.copy()
        want[top:bottom, left:right] = _expected(mask[top:bottom, left:right], colors)
        np.testing.assert_array_equal(item._bgra, want)   # inside recoloured, outside untouched

    mask[:] = 0
    item.refresh(None)
    assert not item._bgra.any()   # label 0 is transparent

    item.set_colors([(0, 0, 0), (1, 2, 3), (4, 5, 6)])
    mask[5:9, 5:9] = 2
    item.refresh(None)
    np.testing.assert_array_equal(item._bgra, _expected(mask, item._colors))
    assert tuple(item._bgra[6, 6]) == (6, 5, 4, 255)   # BGRA of colour 2
    # the QImage shows the same memory: its pixel is the colour written
    assert item._qimage.pixelColor(6, 6).getRgb() == (4, 5, 6, 255)
