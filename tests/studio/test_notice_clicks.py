"""Notice banners over the image: a click meant for a vanishing banner never paints, results stay."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QPoint, Qt

from ukan_studio.notice import CLICK_GUARD_MS


def _canvas_point_under(window, widget) -> QPoint:
    """The canvas viewport point under the centre of `widget` (which floats over the canvas)."""
    centre = widget.mapToGlobal(QPoint(widget.width() // 2, widget.height() // 2))
    return window.canvas.viewport().mapFromGlobal(centre)


def test_a_click_where_a_banner_just_vanished_does_not_paint(window, qtbot) -> None:
    canvas = window.canvas
    canvas.zoom(4.0)   # the image fills the canvas, also under the banner
    window.notice.show_message("Segmented 1 image", "info", timeout_ms=150)
    qtbot.waitUntil(window.notice.isVisible)
    where = _canvas_point_under(window, window.notice.close_button)
    x, y = canvas.widget_to_image(where)
    assert 0 <= x < 128 and 0 <= y < 96, "the banner's ✕ must lie over the image for this test"
    qtbot.waitUntil(lambda: not window.notice.isVisible(), timeout=3000)
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseMove(canvas.viewport(), where + QPoint(6, 3))
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where + QPoint(6, 3))
    assert not window.current_mask().any()
    assert window.session.undo_group.activeStack().count() == 0
    qtbot.wait(CLICK_GUARD_MS + 100)                # later clicks there paint as usual
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.current_mask().any()


def test_the_banner_waits_while_the_mouse_is_over_it(window, qtbot) -> None:
    window.notice.show_message("Exported", "info", timeout_ms=100)
    qtbot.mouseMove(window.notice.close_button)     # a real hover: the pointer reaches the ✕
    qtbot.wait(300)
    assert window.notice.isVisible()
    qtbot.mouseClick(window.notice.close_button, Qt.MouseButton.LeftButton)
    assert not window.notice.isVisible()


def test_retrain_report_stays_until_dismissed(window, qtbot) -> None:
    report = SimpleNamespace(base_metrics={"iou": 0.5}, new_metrics={"iou": 0.6}, n_train=3, n_val=1, folds=1,
                             steps=10, seconds=2.0, stopped="completed", improved=False, version=None,
                             selected=False, path=None, gains=None)
    qtbot.mouseMove(window.canvas.viewport())      # the pointer away from where the banner shows
    window.retrain_controller.show_report(report)
    assert window.notice.isVisible() and "IoU 0.50 before, 0.60 after" in window.notice.text
    assert window.notice.sticky
    window.notice.show_message("passing", "info", timeout_ms=50, sticky=True)
    qtbot.wait(250)
    assert window.notice.isVisible()
    window.notice.show_message("passing", "info", timeout_ms=50)   # the old call still hides on its own
    qtbot.waitUntil(lambda: not window.notice.isVisible(), timeout=2000)
