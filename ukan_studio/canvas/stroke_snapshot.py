"""The pixels a stroke changes, as they were before it, without copying the whole mask.

Copying a 12-megapixel mask when a stroke begins costs the GUI thread 3-25 ms (a fresh 12 MB
allocation faults in its pages), which the user feels as a hitch at the first touch of the brush.
A `StrokeSnapshot` instead copies the mask tile by tile, just before the stroke first changes a
tile, so a brush stroke copies only the few tiles it crosses. Qt-free, like `mask_edit`.
"""

from __future__ import annotations

import numpy as np

from ukan_studio.canvas.mask_edit import MaskEdit, Rect, clip_rect, diff_edit

TILE = 256   # pixels a side


class StrokeSnapshot:
    """The state of `mask` when the stroke began, for the tiles the stroke has touched.

    Call `keep(rect)` before changing the pixels of `rect`; the tiles never kept are unchanged,
    so the live mask itself holds their "before" pixels.
    """

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self._tiles: dict[tuple[int, int], np.ndarray] = {}

    def keep(self, rect: Rect | None) -> None:
        """Copy the tiles of `rect` (None: the whole mask) that are not kept yet."""
        height, width = self.mask.shape[:2]
        top, left, bottom, right = (0, 0, height, width) if rect is None else clip_rect(rect, self.mask.shape)
        if bottom <= top or right <= left:
            return
        for ty in range(top // TILE, (bottom - 1) // TILE + 1):
            for tx in range(left // TILE, (right - 1) // TILE + 1):
                if (ty, tx) not in self._tiles:
                    self._tiles[ty, tx] = self.mask[ty * TILE:(ty + 1) * TILE, tx * TILE:(tx + 1) * TILE].copy()

    def before(self, rect: Rect) -> np.ndarray:
        """The pixels of `rect` (clipped to the mask) as they were when the stroke began."""
        top, left, bottom, right = clip_rect(rect, self.mask.shape)
        out = self.mask[top:bottom, left:right].copy()
        for (ty, tx), tile in self._tiles.items():
            y0, x0 = ty * TILE, tx * TILE
            a, b = max(top, y0), min(bottom, y0 + tile.shape[0])
            c, d = max(left, x0), min(right, x0 + tile.shape[1])
            if a < b and c < d:
                out[a - top:b - top, c - left:d - left] = tile[a - y0:b - y0, c - x0:d - x0]
        return out

    def edit(self, rect: Rect) -> MaskEdit | None:
        """The MaskEdit of what the stroke changed inside `rect`; None when nothing did."""
        top, left, bottom, right = clip_rect(rect, self.mask.shape)
        if bottom <= top or right <= left:
            return None
        change = diff_edit(self.before(rect), self.mask[top:bottom, left:right])
        return None if change is None else MaskEdit(change.top + top, change.left + left, change.before, change.after)

    def restore(self, rect: Rect) -> None:
        """Put back the pixels of `rect` as they were when the stroke began."""
        top, left, bottom, right = clip_rect(rect, self.mask.shape)
        if bottom > top and right > left:
            self.mask[top:bottom, left:right] = self.before(rect)
