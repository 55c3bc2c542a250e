"""The click-to-place Polygon of the canvas: a click adds a vertex, double-click or Enter fills it.

A mixin of MaskCanvas (kept apart to keep view.py short). While the polygon is open, a rubber
band runs from the last vertex to the pointer; Esc drops the polygon before it cancels any job.
Nothing is written into the mask until the polygon closes, so a prediction arriving meanwhile
is never overwritten by a stale copy.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent

from ukan_studio.canvas.stroke_snapshot import StrokeSnapshot

SAME_VERTEX_PX = 4   # a click this close (screen pixels) to the last vertex adds no new one


class PolygonTool:
    """Methods of MaskCanvas for the polygon being placed (its vertices live in `_polygon`).

    It does not import the canvas (that would be an import cycle): `self` is the MaskCanvas.
    """

    @property
    def polygon_open(self) -> bool:
        """True while a click-to-place polygon has vertices and is not yet closed."""
        return bool(self._polygon)

    def event_wants_key(self, ev: QKeyEvent) -> bool:
        """Esc and Enter belong to an open polygon before any window shortcut (Esc: Cancel Job)."""
        return bool(self._polygon) and ev.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter)

    def mouseDoubleClickEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if ev.button() == Qt.MouseButton.LeftButton and self.tool == "polygon" and self._polygon:
            self._add_vertex(ev.position())
            self.close_polygon()
            ev.accept()
            return
        super().mouseDoubleClickEvent(ev)

    def _add_vertex(self, pos: QPointF) -> None:
        if self._polygon:
            last = self.image_to_widget(self._polygon[-1][0] - 0.5, self._polygon[-1][1] - 0.5)
            if abs(last.x() - pos.x()) + abs(last.y() - pos.y()) <= SAME_VERTEX_PX:
                return   # the second click of a double-click, or a shaky click
        point = self.widget_to_image(pos)
        self._polygon.append(point)
        self._pointer = point
        self._update_lasso()

    def close_polygon(self) -> None:
        """Fill the open polygon (three vertices or more) as one undo step; fewer are dropped."""
        vertices, self._polygon, self._pointer = self._polygon, [], None
        self._update_lasso()
        if len(vertices) < 3 or self._mask is None:
            return
        self.stroke_active.emit(True)
        self._stroke_before = StrokeSnapshot(self._mask)
        self._lasso = vertices
        self._finish()

    def cancel_polygon(self) -> bool:
        """Drop the polygon being drawn; False when none was open."""
        if not self._polygon:
            return False
        self._polygon, self._pointer = [], None
        self._update_lasso()
        return True
