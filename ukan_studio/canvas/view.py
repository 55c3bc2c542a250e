"""The image canvas: pyqtgraph view of the image, the mask overlay and the editing tools.

Left button uses the current tool (brush, eraser, lasso, fill; the polygon takes one click per
vertex and closes on double-click or Enter, Esc drops it); the middle button or Space + left drag
pans (Space held anywhere in the window); the wheel zooms; right drag sets window/level on grey
images. The canvas paints
into the live mask (so the stroke shows at once) and, when the button is released, emits one
MaskEdit per stroke for the undo stack; it never talks to files or models. `set_heatmap` lays
an Explain heatmap over the image in place of the mask overlay, until it is set to None.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QWidget

from ukan_studio.canvas import mask_edit
from ukan_studio.canvas.mask_edit import Rect
from ukan_studio.canvas.polygon_tool import PolygonTool
from ukan_studio.canvas.overlay import HeatmapOverlay, HeatmapOverlayItem, MaskOverlayItem
from ukan_studio.canvas.space_pan import SpaceKeyWatcher
from ukan_studio.canvas.stroke_snapshot import StrokeSnapshot
from ukan_studio.canvas.window_level import default_window, levels

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

TOOLS = ("brush", "eraser", "polygon", "lasso", "fill")
SIZED_TOOLS = ("brush", "eraser")   # the others have no brush size
TOOL_TEXT = {"brush": "Brush stroke", "eraser": "Eraser stroke", "polygon": "Polygon fill", "lasso": "Lasso fill",
             "fill": "Flood fill"}


class MaskCanvas(PolygonTool, pg.GraphicsView):
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
        self.heatmap = HeatmapOverlayItem()
        self.heatmap.setZValue(11)
        self.heatmap.setVisible(False)
        self._mask_overlay_visible = True
        self.view_box.addItem(self.image_item)
        self.view_box.addItem(self.overlay)
        self.view_box.addItem(self.heatmap, ignoreBounds=True)
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
        self._space = SpaceKeyWatcher(self)
        self._space.changed.connect(self._on_space_changed)
        self._polygon: list[tuple[float, float]] = []   # vertices of the click-to-place polygon
        self._pointer: tuple[float, float] | None = None
        # One stroke in progress: the mask as it was, the touched rect and the last point.
        self._stroke_before: StrokeSnapshot | None = None
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
        self.set_heatmap(None)   # a heatmap belongs to the image it was computed on
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
            self.image_item.setImage(pixels, levels=levels(self._window), autoLevels=False)
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
        self.image_item.setLevels(levels(self._window))
        self.window_changed.emit(*self._window)

    @property
    def window(self) -> tuple[float, float] | None:
        return self._window

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(max(0.0, min(1.0, opacity)))

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide the mask overlay (while a heatmap is shown, from when it goes away)."""
        self._mask_overlay_visible = bool(visible)
        self.overlay.setVisible(self._mask_overlay_visible and not self.heatmap_shown)

    @Slot(object)
    def set_heatmap(self, overlay: HeatmapOverlay | None) -> None:
        """Lay `overlay` over the image instead of the mask; None restores the mask overlay.

        An overlay of another size than the image shown is not drawn (it belongs to another image).
        """
        if overlay is not None and overlay.shape != self._image_shape:
            overlay = None
        self.heatmap.set_overlay(overlay)
        self.heatmap.setVisible(overlay is not None)
        self.overlay.setVisible(self._mask_overlay_visible and overlay is None)

    @property
    def heatmap_shown(self) -> bool:
        return self.heatmap.overlay is not None

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
        if kind == QEvent.Type.ShortcutOverride and isinstance(ev, QKeyEvent) and self.event_wants_key(ev):
            ev.accept()   # the key press then reaches keyPressEvent instead of the window's shortcut
            return True
        return super().event(ev)

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        button = ev.button()
        if button == Qt.MouseButton.LeftButton and self._mask is not None and not self.editable:
            self.edit_refused.emit()
            ev.accept()
            return
        if button == Qt.MouseButton.LeftButton and self._mask is not None and not self._space.down:
            self.setFocus()
            if self.tool == "polygon":
                self._add_vertex(ev.position())
            else:
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
        if self._polygon:
            self._pointer = point
            self._update_lasso()
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
        if ev.key() == Qt.Key.Key_Escape:
            self._cancel_stroke()
            ev.accept()
            return
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._polygon:
            self.close_polygon()
            ev.accept()
            return
        super().keyPressEvent(ev)

    @Slot(bool)
    def _on_space_changed(self, down: bool) -> None:
        if down:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    # -- one stroke --------------------------------------------------------------------------
    def _begin(self, point: tuple[float, float]) -> None:
        assert self._mask is not None
        self.stroke_active.emit(True)
        self._stroke_before = StrokeSnapshot(self._mask)
        self._stroke_rect = None
        if self.tool in ("brush", "eraser"):
            self._last_point = point
            self._paint(point, point)
        elif self.tool == "lasso":
            self._lasso = [point]
            self._update_lasso()
        elif self.tool == "fill":
            x, y = int(math.floor(point[0])), int(math.floor(point[1]))
            self._stroke_before.keep(None)   # a fill may reach any pixel
            self._stroke_rect = mask_edit.flood_fill(self._mask, (x, y), self.label)
            self.overlay.refresh(self._stroke_rect)
            self._last_point = point

    def _extend(self, point: tuple[float, float]) -> None:
        if self.tool in ("brush", "eraser") and self._last_point is not None:
            if point != self._last_point:
                self._paint(self._last_point, point)
                self._last_point = point
        elif self.tool == "lasso" and self._lasso:
            if point != self._lasso[-1]:
                self._lasso.append(point)
                self._update_lasso()

    def _paint(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        assert self._mask is not None
        value = 0 if self.tool == "eraser" else self.label
        # Pixel (x, y) covers [x, x+1): the brush centre is at the pixel the pointer is over.
        s = (math.floor(start[0]), math.floor(start[1]))
        e = (math.floor(end[0]), math.floor(end[1]))
        assert self._stroke_before is not None
        self._stroke_before.keep(mask_edit.segment_rect(self._mask.shape, s, e, self.brush_size))
        rect = mask_edit.paint_segment(self._mask, s, e, self.brush_size, value)
        if rect is not None:
            self._stroke_rect = mask_edit.union_rect(self._stroke_rect, rect)
            self.overlay.refresh(rect)

    def _finish(self) -> None:
        assert self._mask is not None and self._stroke_before is not None
        if self.tool in ("polygon", "lasso"):
            points = [(x - 0.5, y - 0.5) for x, y in self._lasso]
            if len(points) >= 3:
                self._stroke_before.keep(mask_edit.polygon_rect(self._mask.shape, points))
            self._stroke_rect = mask_edit.fill_polygon(self._mask, points, self.label)
            self._lasso = []
            self._update_lasso()
            self.overlay.refresh(self._stroke_rect)
        edit = None
        if self._stroke_rect is not None:
            edit = self._stroke_before.edit(self._stroke_rect)
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
            self._stroke_before.restore(self._stroke_rect)
            self.overlay.refresh(self._stroke_rect)
        self._stroke_before, self._stroke_rect, self._last_point = None, None, None
        self._lasso = []
        self.cancel_polygon()
        self._update_lasso()
        if active:
            self.stroke_active.emit(False)

    # -- feedback ----------------------------------------------------------------------------
    def _update_lasso(self) -> None:
        """The outline being drawn: the lasso's trail, or the polygon's edges and its rubber band."""
        points = list(self._lasso)
        if self._polygon:
            points = self._polygon + ([self._pointer] if self._pointer is not None else [])
        path = QPainterPath()
        if points:
            path.moveTo(QPointF(*points[0]))
            for point in points[1:]:
                path.lineTo(QPointF(*point))
        self._lasso_item.setPath(path)

    def _update_cursor_item(self, point: tuple[float, float] | None) -> None:
        show = self.tool in SIZED_TOOLS and self._mask is not None
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

