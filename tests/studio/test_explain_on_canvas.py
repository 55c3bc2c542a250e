"""Explain in the main window: the heatmap is drawn on the main canvas (toggle off restores the mask),
the panel is readable at the dock's default width, and switching image clears the explanation."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton

from ukan_core.explain.heatmaps import colorize


def _explain(qtbot, win) -> None:
    win._docks["explainDock"].raise_()
    with qtbot.waitSignal(win.job_finished, timeout=60000, check_params_cb=lambda k: k == "explain"):
        qtbot.mouseClick(win.explain_panel.explain_button, Qt.MouseButton.LeftButton)
    assert win.explain_panel.result is not None, win.explain_panel.status.text()


def _click_table_row(qtbot, panel, row: int) -> None:
    panel.table.scrollToItem(panel.table.item(row, 1))
    rect = panel.table.visualItemRect(panel.table.item(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _canvas_pixel(win, x: int, y: int) -> tuple[int, int, int]:
    """The colour the canvas shows over image pixel (x, y), read from a real rendering."""
    picture = win.canvas.viewport().grab().toImage()
    point = win.canvas.image_to_widget(x, y)
    color = picture.pixelColor(point.x(), point.y())
    return color.red(), color.green(), color.blue()


@pytest.fixture
def explained(qtbot, window, tiny_model_path):
    window.models_panel.add_model_file(tiny_model_path)
    _explain(qtbot, window)
    return window


def test_the_heatmap_is_drawn_on_the_main_canvas_and_the_toggle_restores_the_mask(qtbot, explained) -> None:
    win, panel, canvas = explained, explained.explain_panel, explained.canvas
    result = panel.result
    assert panel.on_image_button.text() == "Show heatmap on image" and panel.on_image_button.isChecked()
    assert canvas.heatmap_shown and canvas.heatmap.isVisible() and not canvas.overlay.isVisible()
    shown = canvas.heatmap.overlay
    assert shown.shape == result.image_size == canvas._image_shape
    np.testing.assert_array_equal(shown.rgba[..., :3], colorize(panel.current_map, panel.colormap_combo.currentText()))
    assert canvas.heatmap.outline_count == 2   # the thresholded map's contour and the reference's

    # selecting another channel in the ranking table redraws the canvas with that channel's map
    _click_table_row(qtbot, panel, 3)
    channel = result.scores[panel.layer].scores[3].channel
    assert panel.selected_channel() == channel
    np.testing.assert_array_equal(canvas.heatmap.overlay.rgba[..., :3],
                                  colorize(result.heatmap(panel.layer, channel), panel.colormap_combo.currentText()))

    # the heatmap is what the canvas paints: the rendering changes when it goes off and back on
    h, w = result.image_size
    spots = [(x, y) for x in range(4, w, max(1, w // 6)) for y in range(4, h, max(1, h // 5))]
    with_heatmap = [_canvas_pixel(win, x, y) for x, y in spots]
    qtbot.mouseClick(panel.on_image_button, Qt.MouseButton.LeftButton)
    assert not panel.on_image_button.isChecked()
    assert not canvas.heatmap_shown and not canvas.heatmap.isVisible() and canvas.overlay.isVisible()
    without = [_canvas_pixel(win, x, y) for x, y in spots]
    assert with_heatmap != without
    qtbot.mouseClick(panel.on_image_button, Qt.MouseButton.LeftButton)
    assert canvas.heatmap_shown and not canvas.overlay.isVisible()
    assert [_canvas_pixel(win, x, y) for x, y in spots] == with_heatmap

    # the outlines checkbox takes the contours off the canvas
    qtbot.mouseClick(panel.outlines, Qt.MouseButton.LeftButton)
    assert canvas.heatmap.outline_count == 0


def test_switching_image_clears_the_explanation(qtbot, explained) -> None:
    win, panel = explained, explained.explain_panel
    assert panel.table.rowCount() > 0 and win.canvas.heatmap_shown
    first = win.session.current
    index = win.image_list.model().index(1, 0)
    rect = win.image_list.visualRect(index)
    qtbot.mouseClick(win.image_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.session.current != first
    assert panel.result is None and panel.current_map is None
    assert panel.table.rowCount() == 0 and panel.layer_combo.count() == 0 and len(panel.splines.ci.items) == 0
    assert panel.live_label.text() == ""
    assert not panel.on_image_button.isChecked() and not panel.on_image_button.isEnabled()
    assert not win.canvas.heatmap_shown and win.canvas.overlay.isVisible()
    # the next image explains afresh, with its own name; Page Down to the next one clears it again
    _explain(qtbot, win)
    assert panel.result.image_name == win.session.current and win.canvas.heatmap_shown
    second = win.session.current
    win.canvas.setFocus()
    qtbot.keyClick(win.canvas, Qt.Key.Key_PageDown)
    assert win.session.current not in (first, second)
    assert panel.result is None and panel.table.rowCount() == 0 and not win.canvas.heatmap_shown


def test_the_panel_is_readable_at_the_default_dock_width(qtbot, explained) -> None:
    win, panel = explained, explained.explain_panel
    scroller = win._docks["explainDock"].widget()
    qtbot.waitUntil(lambda: panel.width() > 0)
    assert not scroller.horizontalScrollBar().isVisible(), "the panel is wider than its dock"
    assert panel.width() <= scroller.viewport().width()
    cut = []
    widgets = [w for kind in (QPushButton, QCheckBox, QComboBox, QLabel) for w in panel.findChildren(kind)]
    for widget in widgets:
        if not widget.isVisible() or (isinstance(widget, QLabel) and widget.wordWrap()):
            continue
        if widget.width() < widget.sizeHint().width():
            text = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
            cut.append(f"{type(widget).__name__} {text!r}: {widget.width()} < {widget.sizeHint().width()}")
    assert not cut, cut
    header = panel.table.horizontalHeader()
    assert header.length() <= panel.table.viewport().width(), "the ranking table's columns are cut"


def test_spline_tick_labels_do_not_overlap(qtbot, explained) -> None:
    panel = explained.explain_panel
    panel.layer_combo.setCurrentIndex(panel.layer_combo.findText("block1.0.layer.fc2"))
    plots = list(panel.splines.ci.items)
    assert len(plots) == 8
    qtbot.wait(50)
    canvas = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(canvas)
    try:
        for plot, side in itertools.product(plots, ("bottom", "left")):
            axis = plot.getAxis(side)
            texts = [rect for rect, _flags, _text in axis.generateDrawSpecs(painter)[2]]
            assert texts, f"{side} axis shows no tick labels"
            for a, b in itertools.combinations(texts, 2):
                assert not a.intersects(b), f"{side} tick labels overlap: {a} and {b}"
    finally:
        painter.end()


def test_an_explanation_finishing_after_the_image_changed_is_not_shown(qtbot, window, tiny_model_path) -> None:
    win, panel = window, window.explain_panel
    win.models_panel.add_model_file(tiny_model_path)
    win._docks["explainDock"].raise_()
    first = win.session.current
    with qtbot.waitSignal(win.job_finished, timeout=60000, check_params_cb=lambda k: k == "explain"):
        qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
        index = win.image_list.model().index(2, 0)
        qtbot.mouseClick(win.image_list.viewport(), Qt.MouseButton.LeftButton,
                         pos=win.image_list.visualRect(index).center())
        assert win.session.current != first
    qtbot.waitUntil(lambda: panel.explain_button.isEnabled(), timeout=5000)
    assert panel.result is None and panel.table.rowCount() == 0 and not win.canvas.heatmap_shown


def test_the_wheel_over_the_heatmap_zooms_image_and_heatmap_together(qtbot, explained) -> None:
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    canvas = explained.canvas
    h, w = explained.explain_panel.result.image_size

    def on_screen(item) -> tuple[float, float]:
        corner = canvas.mapFromScene(item.mapToScene(QPointF(w, h)))
        origin = canvas.mapFromScene(item.mapToScene(QPointF(0, 0)))
        return corner.x() - origin.x(), corner.y() - origin.y()

    before = on_screen(canvas.image_item)
    assert on_screen(canvas.heatmap) == before
    centre = canvas.image_to_widget(w / 2, h / 2)
    for _ in range(3):   # three notches of the wheel, up (zoom in)
        event = QWheelEvent(QPointF(centre), QPointF(canvas.viewport().mapToGlobal(centre)), QPoint(0, 0),
                            QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas.viewport(), event)
    qtbot.wait(50)   # the view box applies a new range at its next paint
    after = on_screen(canvas.image_item)
    assert after[0] > before[0] * 1.2 and after[1] > before[1] * 1.2, "the wheel zooms in"
    assert on_screen(canvas.heatmap) == after and canvas.heatmap_shown
    # the panel keeps no heatmap view of its own (only the spline plots)
    views = explained.explain_panel.findChildren(pg.GraphicsView)
    assert [v.objectName() for v in views] == ["explainSplines"]
