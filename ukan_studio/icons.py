"""Small line icons drawn with QPainter, in the theme's text colour (no image files to ship)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 40   # drawn at 2× for crisp scaling; paths use a 20×20 grid

Draw = Callable[[QPainter], None]


def _folder(p: QPainter) -> None:
    path = QPainterPath(QPointF(2.5, 5.5))
    for x, y in ((7.5, 5.5), (9, 7), (17.5, 7), (17.5, 16), (2.5, 16)):
        path.lineTo(x, y)
    path.closeSubpath()
    p.drawPath(path)


def _sparkle(p: QPainter) -> None:
    for cx, cy, r in ((9, 10, 6.5), (16, 4.5, 2.5)):
        star = QPolygonF([QPointF(cx, cy - r), QPointF(cx + r * 0.25, cy - r * 0.25), QPointF(cx + r, cy),
                          QPointF(cx + r * 0.25, cy + r * 0.25), QPointF(cx, cy + r),
                          QPointF(cx - r * 0.25, cy + r * 0.25), QPointF(cx - r, cy),
                          QPointF(cx - r * 0.25, cy - r * 0.25)])
        p.drawPolygon(star)


def _stack(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(3, 8, 10, 9), 1.5, 1.5)
    p.drawPolyline([QPointF(6, 8), QPointF(6, 5), QPointF(16, 5), QPointF(16, 14), QPointF(13, 14)])
    p.drawPolyline([QPointF(9, 5), QPointF(9, 2.5), QPointF(18.5, 2.5), QPointF(18.5, 11), QPointF(16, 11)])


def _cycle(p: QPainter) -> None:
    p.drawArc(QRectF(3.5, 3.5, 13, 13), 30 * 16, 250 * 16)
    p.drawPolyline([QPointF(16.5, 2.5), QPointF(16.2, 7), QPointF(11.8, 6.6)])
    p.drawEllipse(QPointF(10, 10), 1.2, 1.2)


def _brush(p: QPainter) -> None:
    p.drawLine(QPointF(17, 3), QPointF(9, 11))
    path = QPainterPath(QPointF(9, 11))
    path.cubicTo(QPointF(4, 10), QPointF(5, 16), QPointF(2.5, 17.5))
    path.cubicTo(QPointF(7, 18), QPointF(11, 16), QPointF(9, 11))
    p.drawPath(path)


def _eraser(p: QPainter) -> None:
    p.drawPolygon(QPolygonF([QPointF(11, 3), QPointF(18, 10), QPointF(11, 17), QPointF(4, 10)]))
    p.drawLine(QPointF(7.5, 6.5), QPointF(14.5, 13.5))
    p.drawLine(QPointF(11, 17.5), QPointF(18, 17.5))


def _polygon(p: QPainter) -> None:
    points = [QPointF(3, 7), QPointF(10, 3), QPointF(17, 8), QPointF(14, 17), QPointF(5, 15)]
    p.drawPolygon(QPolygonF(points))
    for point in points:
        p.drawEllipse(point, 1.3, 1.3)


def _lasso(p: QPainter) -> None:
    path = QPainterPath(QPointF(6, 15))
    path.cubicTo(QPointF(0, 11), QPointF(3, 3), QPointF(11, 3))
    path.cubicTo(QPointF(19, 3), QPointF(19, 12), QPointF(11, 13))
    path.cubicTo(QPointF(8, 13.5), QPointF(6, 14), QPointF(6, 15))
    path.lineTo(QPointF(7, 18))
    p.drawPath(path)


def _bucket(p: QPainter) -> None:
    p.drawPolygon(QPolygonF([QPointF(8, 3), QPointF(15, 10), QPointF(9.5, 15.5), QPointF(2.5, 8.5)]))
    p.drawLine(QPointF(2.5, 8.5), QPointF(15, 10))
    path = QPainterPath(QPointF(17, 11))
    path.cubicTo(QPointF(19, 14), QPointF(18.5, 16.5), QPointF(17, 16.5))
    path.cubicTo(QPointF(15.5, 16.5), QPointF(15, 14), QPointF(17, 11))
    p.drawPath(path)


def _undo(p: QPainter, mirror: bool = False) -> None:
    if mirror:
        p.translate(20, 0)
        p.scale(-1, 1)
    path = QPainterPath(QPointF(4, 8))
    path.lineTo(12, 8)
    path.cubicTo(QPointF(18, 8), QPointF(18, 16), QPointF(12, 16))
    path.lineTo(8, 16)
    p.drawPath(path)
    p.drawPolyline([QPointF(7.5, 4.5), QPointF(4, 8), QPointF(7.5, 11.5)])


def _fit(p: QPainter) -> None:
    for x, y, dx, dy in ((3, 3, 1, 1), (17, 3, -1, 1), (3, 17, 1, -1), (17, 17, -1, -1)):
        p.drawPolyline([QPointF(x, y + 4 * dy), QPointF(x, y), QPointF(x + 4 * dx, y)])
    p.drawRect(QRectF(7, 7, 6, 6))


def _eye(p: QPainter) -> None:
    path = QPainterPath(QPointF(2, 10))
    path.quadTo(QPointF(10, 1), QPointF(18, 10))
    path.quadTo(QPointF(10, 19), QPointF(2, 10))
    p.drawPath(path)
    p.drawEllipse(QPointF(10, 10), 2.8, 2.8)


def _contour(p: QPainter) -> None:
    pen = p.pen()
    pen.setStyle(Qt.PenStyle.DashLine)
    p.setPen(pen)
    p.drawEllipse(QPointF(10, 10), 7, 6)


def _export(p: QPainter) -> None:
    p.drawPolyline([QPointF(3, 12), QPointF(3, 17), QPointF(17, 17), QPointF(17, 12)])
    p.drawLine(QPointF(10, 3), QPointF(10, 13))
    p.drawPolyline([QPointF(6, 7), QPointF(10, 3), QPointF(14, 7)])


def _stop(p: QPainter) -> None:
    p.drawEllipse(QPointF(10, 10), 7, 7)
    p.drawLine(QPointF(7, 7), QPointF(13, 13))
    p.drawLine(QPointF(13, 7), QPointF(7, 13))


DRAWINGS: dict[str, Draw] = {
    "open": _folder, "segment": _sparkle, "segment_all": _stack, "retrain": _cycle, "brush": _brush,
    "eraser": _eraser, "polygon": _polygon, "lasso": _lasso, "fill": _bucket, "undo": _undo, "redo": lambda p: _undo(p, True),
    "fit": _fit, "overlay": _eye, "contour": _contour, "export": _export, "cancel": _stop,
}


def line_icon(name: str, color: QColor) -> QIcon:
    """The icon `name` drawn in `color` (and a white variant for checked/selected buttons)."""
    icon = QIcon()
    for mode, tint in ((QIcon.Mode.Normal, color), (QIcon.Mode.Selected, QColor("white")),
                       (QIcon.Mode.Disabled, QColor(color.red(), color.green(), color.blue(), 90))):
        icon.addPixmap(_render(DRAWINGS[name], tint), mode, QIcon.State.Off)
        icon.addPixmap(_render(DRAWINGS[name], QColor("white") if mode != QIcon.Mode.Disabled else tint),
                       mode, QIcon.State.On)
    return icon


def _render(draw: Draw, color: QColor) -> QPixmap:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.scale(SIZE / 20.0, SIZE / 20.0)
    pen = QPen(color, 1.5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    draw(painter)
    painter.end()
    return pixmap
