"""The mask overlay: a QImage that shares memory with a numpy colour buffer, updated by rectangle.

A stroke on a 4000×3000 image changes a few thousand pixels; recolouring only that rectangle and
repainting only that part of the view keeps drawing smooth (rebuilding the whole RGBA overlay per
mouse move is what makes other tools lag). Contour-only mode draws label outlines as a cosmetic
path, so they stay visible at any zoom. `HeatmapOverlayItem` shows the Explain heatmap (and its
outlines) over the image instead of the mask when the user asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from ukan_studio.canvas.mask_edit import Rect, clip_rect

DEFAULT_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (255, 64, 96), (64, 200, 255), (255, 200, 40), (120, 230, 110),
    (190, 110, 255), (255, 130, 40), (40, 220, 190), (240, 240, 240),
)


def label_lut(colors: list[tuple[int, int, int]] | tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """(256, 4) uint8 BGRA lookup: label 0 transparent, label k opaque colors[k] (cycled)."""
    lut = np.zeros((256, 4), np.uint8)
    palette = list(colors[1:]) or list(DEFAULT_COLORS[1:])
    for label in range(1, 256):
        r, g, b = palette[(label - 1) % len(palette)]
        lut[label] = (b, g, r, 255)
    return lut


def packed_lut(lut: np.ndarray) -> np.ndarray:
    """The (256, 4) BGRA lookup as (256, 1) int32: each entry one whole pixel, for a one-channel cv2.LUT."""
    return np.ascontiguousarray(lut, np.uint8).view(np.int32).reshape(256, 1)


class MaskOverlayItem(QGraphicsItem):
    """Shows a uint8 label mask in colour over the image; call refresh(rect) after editing it."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._mask: np.ndarray | None = None
        self._bgra: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._lut = label_lut(DEFAULT_COLORS)
        self._lut32 = packed_lut(self._lut)
        self._colors = list(DEFAULT_COLORS)
        self._contour_only = False
        self._contours: list[tuple[QColor, QPainterPath]] = []
        self._contours_dirty = False

    # -- state -------------------------------------------------------------------------------
    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show `mask` (kept by reference: edits to it appear after refresh())."""
        self.prepareGeometryChange()
        self._mask = mask
        if mask is None:
            self._bgra, self._qimage = None, None
        else:
            h, w = mask.shape
            if self._bgra is None or self._bgra.shape[:2] != (h, w):   # the same size again: reuse the buffer
                self._bgra = np.zeros((h, w, 4), np.uint8)
            self._qimage = QImage(self._bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        self.refresh(None)

    def set_colors(self, colors: list[tuple[int, int, int]]) -> None:
        self._colors = list(colors)
        self._lut = label_lut(self._colors)
        self._lut32 = packed_lut(self._lut)
        self.refresh(None)

    def set_contour_only(self, on: bool) -> None:
        self._contour_only = bool(on)
        self.refresh(None)

    @property
    def contour_only(self) -> bool:
        return self._contour_only

    def refresh(self, rect: Rect | None) -> None:
        """Recolour the pixels inside `rect` (top, left, bottom, right), or everything for None."""
        if self._mask is None or self._bgra is None:
            self._contours = []
            self.update()
            return
        if self._contour_only:
            self._contours_dirty = True   # traced again at the next paint (moves are coalesced)
            self.update()
            return
        top, left, bottom, right = clip_rect(rect or (0, 0, *self._mask.shape), self._mask.shape)
        if bottom <= top or right <= left:
            return
        labels = self._mask[top:bottom, left:right]
        region = self._bgra[top:bottom, left:right]
        if not labels.any():
            region.view(np.uint32).fill(self._lut.view(np.uint32)[0, 0])   # a fresh 12 MP mask: a 2 ms fill
        else:
            # One OpenCV look-up from the labels straight to whole BGRA pixels (the 32-bit view of the
            # buffer), without holding the interpreter lock: 5 ms for 12 MP, where numpy's take widened
            # the labels to 96 MB of indices and a 4-channel cv2.LUT needed a merged copy (30-100 ms).
            cv2.LUT(labels, self._lut32, dst=region.view(np.int32)[:, :, 0])
        self.update(QRectF(left, top, right - left, bottom - top))

    def _trace_contours(self) -> list[tuple[QColor, QPainterPath]]:
        mask = self._mask
        assert mask is not None
        traced = []
        for label in np.unique(mask):
            if label == 0:
                continue
            b, g, r, _ = self._lut[int(label)]
            traced.append((QColor(int(r), int(g), int(b)), contour_path(mask == label)))
        return traced

    # -- QGraphicsItem -----------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._mask is None:
            return QRectF()
        h, w = self._mask.shape
        return QRectF(-1, -1, w + 2, h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._mask is None or self._qimage is None:
            return
        if self._contour_only:
            if self._contours_dirty:
                self._contours, self._contours_dirty = self._trace_contours(), False
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            for color, path in self._contours:
                pen = QPen(color, 2.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(path)
            return
        h, w = self._mask.shape
        exposed = option.exposedRect.intersected(QRectF(0, 0, w, h)).toAlignedRect()
        if exposed.isEmpty():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(exposed), self._qimage, QRectF(exposed))


@dataclass(frozen=True, eq=False)
class HeatmapOverlay:
    """A coloured heatmap to lay over the image, and the outlines to draw on top of it.

    `rgba` is (H, W, 4) uint8 (colour and opacity per pixel); each outline is an (H, W) bool mask
    whose contour is drawn in its RGB colour with a cosmetic pen, so it stays visible at any zoom.
    """

    rgba: np.ndarray
    outlines: tuple[tuple[np.ndarray, tuple[int, int, int]], ...] = ()

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.rgba.shape[0]), int(self.rgba.shape[1])


class HeatmapOverlayItem(QGraphicsItem):
    """Shows a HeatmapOverlay over the image (the Explain view on the main canvas)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.overlay: HeatmapOverlay | None = None
        self._rgba: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._outlines: list[tuple[QColor, QPainterPath]] = []

    def set_overlay(self, overlay: HeatmapOverlay | None) -> None:
        """Show `overlay` (None: nothing)."""
        self.prepareGeometryChange()
        self.overlay = overlay
        if overlay is None:
            self._rgba, self._qimage, self._outlines = None, None, []
        else:
            self._rgba = np.ascontiguousarray(overlay.rgba, np.uint8)
            h, w = overlay.shape
            self._qimage = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
            self._outlines = [(QColor(*color), contour_path(mask)) for mask, color in overlay.outlines]
        self.update()

    @property
    def outline_count(self) -> int:
        return len(self._outlines)

    def boundingRect(self) -> QRectF:
        if self.overlay is None:
            return QRectF()
        h, w = self.overlay.shape
        return QRectF(-1, -1, w + 2, h + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.overlay is None or self._qimage is None:
            return
        h, w = self.overlay.shape
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(0, 0, w, h), self._qimage)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for color, path in self._outlines:
            pen = QPen(color, 2.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(path)


def contour_path(mask: np.ndarray) -> QPainterPath:
    """The outer and inner contours of a bool mask as one path through pixel centres."""
    contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    path = QPainterPath()
    for contour in contours:
        pts = contour.reshape(-1, 2)
        path.moveTo(QPointF(pts[0, 0] + 0.5, pts[0, 1] + 0.5))
        for x, y in pts[1:]:
            path.lineTo(QPointF(x + 0.5, y + 0.5))
        path.closeSubpath()
    return path
