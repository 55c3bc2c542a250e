"""The image canvas: pyqtgraph view of the image, the mask overlay and the editing tools.

Left button uses the current tool (brush, eraser, polygon, fill); the middle button or Space +
left drag pans; the wheel zooms; right drag sets window/level on grey images. The canvas paints
into the live mask (so the stroke shows at once) and, when the button is released, emits one
MaskEdit per stroke for the undo stack; it never talks to files or models.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QWidget

from ukan_studio.canvas import mask_edit
from ukan_studio.canvas.mask_edit import Rect
from ukan_studio.canvas.overlay import MaskOverlayItem

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

TOOLS = ("brush", "eraser", "polygon", "fill")
TOOL_TEXT = {"brush": "Brush stroke", "eraser": "Eraser stroke", "polygon": "Polygon fill", "fill": "Flood fill"}


class MaskCanvas(pg.GraphicsView):
    """Shows one image and its label mask; tools edit the mask and report each edit once."""

    edit_made = Signal(object, str)          # MaskEdit, undo text
    cursor_moved = Signal(int, int)          # image x, y (-1, -1 outside)
    window_changed = Signal(float, float)    # center, width
    brush_size_changed = Signal(int)
    stroke_active = Signal(bool)             # True while the left button is drawing
    edit_refused = Signal()                  # the left button was pressed on a mask that may not be edited

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=None)
        self.setObjectName("canvas")
        self.setFrameShape(self.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.view_box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setMouseMode(pg.ViewBox.PanMode)
        self.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem(autoDownsample=False)
        self.overlay = MaskOverlayItem()
        self.overlay.setZValue(10)
        self.view_box.addItem(self.image_item)
        self.view_box.addItem(self.overlay)
        self._cursor_item = QGraphicsEllipseItem()
        self._cursor_item.setZValue(30)
        pen = QPen(QColor(255, 255, 255, 220), 1.5)
        pen.setCosmetic(True)
        self._cursor_item.setPen(pen)
        self._cursor_item.setVisible(False)
        self.view_box.addItem(self._cursor_item, ignoreBounds=True)
        self._lasso_item = QGraphicsPathItem()
        self._lasso_item.setZValue(30)
        lasso_pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        lasso_pen.setCosmetic(True)
        self._lasso_item.setPen(lasso_pen)
        self.view_box.addItem(self._lasso_item, ignoreBounds=True)

        self.tool = "brush"
        self.brush_size = 15
        self.label = 1
        self._mask: np.ndarray | None = None
        self.editable = True   # False: the mask is shown but no tool changes it (a read-only folder)
        self._image_shape: tuple[int, int] | None = None
        self._grey = False
        self._window: tuple[float, float] | None = None
        self._initial_window: tuple[float, float] | None = None
        self._space_down = False
        # One stroke in progress: the mask as it was, the touched rect and the last point.
        self._stroke_before: np.ndarray | None = None
        self._stroke_rect: Rect | None = None
        self._last_point: tuple[float, float] | None = None
        self._lasso: list[tuple[float, float]] = []
        self._window_drag: tuple[QPointF, tuple[float, float]] | None = None

    # -- content -----------------------------------------------------------------------------
    def set_image(self, pixels: np.ndarray | None, window: tuple[float, float] | None = None,
                  inverted: bool = False) -> None:
        """Show `pixels` ((H, W) grey of any depth or (H, W, 3) RGB uint8) and fit it in view.

        Grey images are shown through a window (center, width) that right-drag changes; the
        default is the file's own window, else the full range of the pixels.
        """
        self._cancel_stroke()
        if pixels is None:
            self.image_item.clear()
            self._image_shape, self._grey, self._window = None, False, None
            self.set_mask(None)
            return
        self._grey = pixels.ndim == 2
        self._image_shape = (int(pixels.shape[0]), int(pixels.shape[1]))
        if self._grey:
            self._window = window or default_window(pixels)
            self._initial_window = self._window
            lut = np.arange(255, -1, -1, dtype=np.uint8) if inverted else None
            self.image_item.setLookupTable(lut)
            self.image_item.setImage(pixels, levels=_levels(self._window), autoLevels=False)
        else:
            self._window = None
            self.image_item.setLookupTable(None)
            self.image_item.setImage(pixels, levels=(0, 255), autoLevels=False)
        self.fit()

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Show (and edit in place) `mask`, an (H, W) uint8 label array."""
        self._cancel_stroke()
        self._mask = mask
        self.overlay.set_mask(mask)

    def refresh_mask(self, rect: Rect | None = None) -> None:
        """Redraw the overlay inside `rect` after the mask changed outside the canvas (undo, segment)."""
        self.overlay.refresh(rect)

    def reset_window(self) -> None:
        """Back to the window the image opened with."""
        if self._grey and self._initial_window is not None:
            self.set_window(*self._initial_window)

    def set_window(self, center: float, width: float) -> None:
        """Window/level for grey images: show [center - width/2, center + width/2]."""
        if not self._grey:
            return
        self._window = (float(center), max(1e-6, float(width)))
        self.image_item.setLevels(_levels(self._window))
        self.window_changed.emit(*self._window)

    @property
    def window(self) -> tuple[float, float] | None:
        return self._window

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(max(0.0, min(1.0, opacity)))

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay.setVisible(visible)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self._cancel_stroke()
        self.tool = tool
        self._update_cursor_item(None)

    def set_brush_size(self, size: int) -> None:
        self.brush_size = max(1, min(500, int(size)))
        self._update_cursor_item(None)
        self.brush_size_changed.emit(self.brush_size)

    # -- coordinates -------------------------------------------------------------------------
    def fit(self) -> None:
        if self._image_shape is not None:
            h, w = self._image_shape
            self.view_box.setRange(QRectF(0, 0, w, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        self.view_box.scaleBy((1 / factor, 1 / factor))

    def image_to_widget(self, x: float, y: float) -> QPoint:
        """The widget (= viewport) point over the centre of image pixel (x, y)."""
        scene = self.view_box.mapViewToScene(QPointF(x + 0.5, y + 0.5))
        return self.mapFromScene(scene)

    def widget_to_image(self, pos: QPointF | QPoint) -> tuple[float, float]:
        """Image coordinates (x, y), continuous, of a viewport point."""
        view = self.view_box.mapSceneToView(self.mapToScene(QPoint(int(pos.x()), int(pos.y()))))
        return float(view.x()), float(view.y())

    # -- mouse -------------------------------------------------------------------------------
    def event(self, ev: QEvent) -> bool:
        # Mouse events sent to the view itself (not its viewport) would be dropped by
        # QAbstractScrollArea; route them like viewport events so scripted clicks work too.
        kind = ev.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            assert isinstance(ev, QMouseEvent)
            handler = {QEvent.Type.MouseButtonPress: self.mousePressEvent,
                       QEvent.Type.MouseMove: self.mouseMoveEvent,
                       QEvent.Type.MouseButtonRelease: self.mouseReleaseEvent}[kind]
            handler(ev)
            return True
        return super().event(ev)

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        button = ev.button()
        if button == Qt.MouseButton.LeftButton and self._mask is not None and not self.editable:
            self.edit_refused.emit()
            ev.accept()
            return
        if button == Qt.MouseButton.LeftButton and self._mask is not None and not self._space_down:
            self.setFocus()
            self._begin(self.widget_to_image(ev.position()))
            ev.accept()
            return
        if button == Qt.MouseButton.RightButton:
            if self._grey and self._window is not None:
                self._window_drag = (ev.position(), self._window)
            ev.accept()
            return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:
        point = self.widget_to_image(ev.position())
        self._update_cursor_item(point)
        self._report_cursor(point)
        if self._window_drag is not None:
            start, (center, width) = self._window_drag
            delta = ev.position() - start
            scale = max(width, 1.0) / 200.0
            self.set_window(center + delta.y() * scale, max(1.0, width + delta.x() * scale))
            ev.accept()
            return
        if self._last_point is not None or self._lasso:
            self._extend(point)
            ev.accept()
            return
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            self._window_drag = None
            ev.accept()
            return
        if ev.button() == Qt.MouseButton.LeftButton and (self._stroke_before is not None):
            self._extend(self.widget_to_image(ev.position()))
            self._finish()
            ev.accept()
            return
        super().mouseReleaseEvent(ev)

    def leaveEvent(self, ev: QEvent) -> None:
        self._cursor_item.setVisible(False)
        self.cursor_moved.emit(-1, -1)
        super().leaveEvent(ev)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif ev.key() == Qt.Key.Key_Escape:
            self._cancel_stroke()
        super().keyPressEvent(ev)

    def keyReleaseEvent(self, ev: QKeyEvent) -> None:
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self._space_down = False
            self.viewport().unsetCursor()
        super().keyReleaseEvent(ev)

    # -- one stroke --------------------------------------------------------------------------
    def _begin(self, point: tuple[float, float]) -> None:
        assert self._mask is not None
        self.stroke_active.emit(True)
        self._stroke_before = self._mask.copy()
        self._stroke_rect = None
        if self.tool in ("brush", "eraser"):
            self._last_point = point
            self._paint(point, point)
        elif self.tool == "polygon":
            self._lasso = [point]
            self._update_lasso()
        elif self.tool == "fill":
            x, y = int(math.floor(point[0])), int(math.floor(point[1]))
            self._stroke_rect = mask_edit.flood_fill(self._mask, (x, y), self.label)
            self.overlay.refresh(self._stroke_rect)
            self._last_point = point

    def _extend(self, point: tuple[float, float]) -> None:
        if self.tool in ("brush", "eraser") and self._last_point is not None:
            if point != self._last_point:
                self._paint(self._last_point, point)
                self._last_point = point
        elif self.tool == "polygon" and self._lasso:
            if point != self._lasso[-1]:
                self._lasso.append(point)
                self._update_lasso()

    def _paint(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        assert self._mask is not None
        value = 0 if self.tool == "eraser" else self.label
        # Pixel (x, y) covers [x, x+1): the brush centre is at the pixel the pointer is over.
        s = (math.floor(start[0]), math.floor(start[1]))
        e = (math.floor(end[0]), math.floor(end[1]))
        rect = mask_edit.paint_segment(self._mask, s, e, self.brush_size, value)
        if rect is not None:
            self._stroke_rect = mask_edit.union_rect(self._stroke_rect, rect)
            self.overlay.refresh(rect)

    def _finish(self) -> None:
        assert self._mask is not None and self._stroke_before is not None
        if self.tool == "polygon":
            points = [(x - 0.5, y - 0.5) for x, y in self._lasso]
            self._stroke_rect = mask_edit.fill_polygon(self._mask, points, self.label)
            self._lasso = []
            self._update_lasso()
            self.overlay.refresh(self._stroke_rect)
        edit = None
        if self._stroke_rect is not None:
            edit = mask_edit.diff_edit(self._stroke_before, self._mask, self._stroke_rect)
        text = TOOL_TEXT[self.tool]
        self._stroke_before, self._stroke_rect, self._last_point = None, None, None
        if edit is not None:
            if self.overlay.contour_only:
                self.overlay.refresh(None)
            self.edit_made.emit(edit, text)
        self.stroke_active.emit(False)

    def _cancel_stroke(self) -> None:
        """Drop a stroke in progress, restoring the pixels it changed."""
        active = self._stroke_before is not None
        if active and self._mask is not None and self._stroke_rect is not None:
            t, l, b, r = self._stroke_rect
            self._mask[t:b, l:r] = self._stroke_before[t:b, l:r]
            self.overlay.refresh(self._stroke_rect)
        self._stroke_before, self._stroke_rect, self._last_point = None, None, None
        self._lasso = []
        self._update_lasso()
        if active:
            self.stroke_active.emit(False)

    # -- feedback ----------------------------------------------------------------------------
    def _update_lasso(self) -> None:
        path = QPainterPath()
        if self._lasso:
            path.moveTo(QPointF(*self._lasso[0]))
            for point in self._lasso[1:]:
                path.lineTo(QPointF(*point))
        self._lasso_item.setPath(path)

    def _update_cursor_item(self, point: tuple[float, float] | None) -> None:
        show = self.tool in ("brush", "eraser") and self._mask is not None
        if point is not None and show:
            r = self.brush_size / 2.0
            cx, cy = math.floor(point[0]) + 0.5, math.floor(point[1]) + 0.5
            self._cursor_item.setRect(QRectF(cx - r, cy - r, 2 * r, 2 * r))
        self._cursor_item.setVisible(show and point is not None)

    def _report_cursor(self, point: tuple[float, float]) -> None:
        if self._image_shape is None:
            return
        x, y = int(math.floor(point[0])), int(math.floor(point[1]))
        h, w = self._image_shape
        self.cursor_moved.emit(x, y) if (0 <= x < w and 0 <= y < h) else self.cursor_moved.emit(-1, -1)


def default_window(pixels: np.ndarray) -> tuple[float, float]:
    """The full range: 0-255 for 8-bit, else min-max of the finite values (as to_rgb8 maps them)."""
    if pixels.dtype == np.uint8:
        return 127.5, 255.0
    finite = pixels[np.isfinite(pixels)] if pixels.dtype.kind == "f" else pixels
    if finite.size == 0:
        return 0.5, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return (lo + hi) / 2.0, hi - lo


def _levels(window: tuple[float, float]) -> tuple[float, float]:
    center, width = window
    return center - width / 2.0, center + width / 2.0
