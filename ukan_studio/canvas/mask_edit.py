"""Mask edits as plain numpy: paint a brush segment, fill a polygon or a region, diff two masks.

Qt-free on purpose, so the drawing rules are tested without a window. An edit is kept small: the
bounding box of what changed and the pixels there before and after (never two whole masks).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # top, left, bottom, right (bottom/right exclusive)


@dataclass(frozen=True)
class MaskEdit:
    """A change to one mask: its bounding box and the (h, w) uint8 pixels before and after."""

    top: int
    left: int
    before: np.ndarray
    after: np.ndarray

    @property
    def rect(self) -> Rect:
        h, w = self.after.shape
        return self.top, self.left, self.top + h, self.left + w

    def apply(self, mask: np.ndarray) -> None:
        top, left, bottom, right = self.rect
        mask[top:bottom, left:right] = self.after

    def revert(self, mask: np.ndarray) -> None:
        top, left, bottom, right = self.rect
        mask[top:bottom, left:right] = self.before

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)


def diff_edit(before: np.ndarray, after: np.ndarray, within: Rect | None = None) -> MaskEdit | None:
    """The MaskEdit that turns `before` into `after` (looking only inside `within`); None if equal."""
    top0, left0 = 0, 0
    if within is not None:
        top0, left0, bottom0, right0 = clip_rect(within, before.shape)
        before = before[top0:bottom0, left0:right0]
        after = after[top0:bottom0, left0:right0]
    if before.size == 0:
        return None
    changed = before != after
    if not changed.any():
        return None
    rows = np.flatnonzero(changed.any(axis=1))
    cols = np.flatnonzero(changed.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return MaskEdit(
        top0 + top, left0 + left,
        before[top:bottom, left:right].copy(), after[top:bottom, left:right].copy(),
    )


def clip_rect(rect: Rect, shape: tuple[int, ...]) -> Rect:
    """`rect` limited to an image of `shape` (H, W, ...)."""
    top, left, bottom, right = rect
    height, width = shape[0], shape[1]
    return max(0, top), max(0, left), min(height, bottom), min(width, right)


def union_rect(a: Rect | None, b: Rect | None) -> Rect | None:
    """The smallest rect holding both (None counts as empty)."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def paint_segment(mask: np.ndarray, start: tuple[float, float], end: tuple[float, float],
                  diameter: int, value: int) -> Rect | None:
    """Paint a round brush of `diameter` pixels from `start` to `end` (x, y) in place.

    Returns the touched rect (clipped), or None when it lies outside the mask. cv2 draws only
    into the segment's bounding box, so the cost does not grow with the image size.
    """
    radius = max(0.5, diameter / 2.0)
    (x0, y0), (x1, y1) = start, end
    rect = segment_rect(mask.shape, start, end, diameter)
    top, left, bottom, right = rect
    if bottom <= top or right <= left:
        return None
    view = mask[top:bottom, left:right]
    work = np.ascontiguousarray(view)
    p0 = (int(round(x0)) - left, int(round(y0)) - top)
    p1 = (int(round(x1)) - left, int(round(y1)) - top)
    if diameter <= 1:
        cv2.line(work, p0, p1, int(value), 1, lineType=cv2.LINE_8)
    else:
        cv2.line(work, p0, p1, int(value), int(diameter), lineType=cv2.LINE_8)
        cv2.circle(work, p0, int(radius), int(value), -1, lineType=cv2.LINE_8)
        cv2.circle(work, p1, int(radius), int(value), -1, lineType=cv2.LINE_8)
    if work is not view:
        view[...] = work
    return rect


def segment_rect(shape: tuple[int, ...], start: tuple[float, float], end: tuple[float, float],
                 diameter: int) -> Rect:
    """The rect (clipped to `shape`) that `paint_segment` may touch for this segment and brush."""
    r = int(np.ceil(max(0.5, diameter / 2.0))) + 1
    (x0, y0), (x1, y1) = start, end
    return clip_rect(
        (int(min(y0, y1)) - r, int(min(x0, x1)) - r, int(max(y0, y1)) + r + 1, int(max(x0, x1)) + r + 1), shape
    )


def polygon_rect(shape: tuple[int, ...], points: list[tuple[float, float]]) -> Rect:
    """The rect (clipped to `shape`) that `fill_polygon` may touch for these points."""
    pts = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32).reshape(-1, 2)
    left, top = pts.min(axis=0)
    right, bottom = pts.max(axis=0) + 1
    return clip_rect((int(top), int(left), int(bottom), int(right)), shape)


def fill_polygon(mask: np.ndarray, points: list[tuple[float, float]], value: int) -> Rect | None:
    """Fill the closed polygon through `points` (x, y) with `value` in place; returns the rect."""
    if len(points) < 3:
        return None
    pts = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32)
    rect = polygon_rect(mask.shape, points)
    if rect[2] <= rect[0] or rect[3] <= rect[1]:
        return None
    cv2.fillPoly(mask, [pts.reshape(-1, 1, 2)], int(value), lineType=cv2.LINE_8)
    return rect


def flood_fill(mask: np.ndarray, seed: tuple[int, int], value: int) -> Rect | None:
    """Give the 4-connected region of equal labels around `seed` (x, y) the label `value`."""
    x, y = seed
    height, width = mask.shape
    if not (0 <= x < width and 0 <= y < height) or int(mask[y, x]) == int(value):
        return None
    region = np.zeros((height + 2, width + 2), np.uint8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(mask, region, (int(x), int(y)), int(value), 0, 0, 4)
    return ry, rx, ry + rh, rx + rw
