"""The canvas under real mouse and keys: Space pans from any focus, click-to-place Polygon and the Lasso,
banners that never let a click through, and tool controls that show what applies."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSlider, QSpinBox

from tests.studio.conftest import stroke


def _click(qtbot, canvas, x: int, y: int) -> None:
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(x, y))


def test_space_drag_pans_and_never_paints_when_another_widget_has_focus(window, qtbot) -> None:
    other = window.retrain_panel.budget       # any widget of the window but the canvas
    window._docks["retrainDock"].raise_()
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton, pos=QPoint(10, other.height() // 2))
    other.setFocus(Qt.FocusReason.MouseFocusReason)
    assert window.focusWidget() is other
    before = np.array(window.canvas.view_box.viewRange())
    qtbot.keyPress(other, Qt.Key.Key_Space)
    stroke(qtbot, window.canvas, [(30, 30), (50, 40), (70, 50)])
    qtbot.keyRelease(other, Qt.Key.Key_Space)
    assert not window.current_mask().any()
    assert window.session.status(window.session.current) != "corrected"
    assert not np.allclose(before, np.array(window.canvas.view_box.viewRange()))
    stroke(qtbot, window.canvas, [(30, 30), (40, 30)])   # Space released: the brush paints again
    assert window.current_mask()[30, 35] == 1


def test_space_released_in_another_window_ends_the_panning(window, qtbot) -> None:
    from PySide6.QtWidgets import QLineEdit

    other = QLineEdit()                               # a dialog's field, say
    qtbot.addWidget(other)
    other.show()
    qtbot.keyPress(window.canvas, Qt.Key.Key_Space)    # the canvas has the focus this time
    stroke(qtbot, window.canvas, [(30, 30), (50, 40)])
    assert not window.current_mask().any()
    qtbot.keyRelease(other, Qt.Key.Key_Space)
    stroke(qtbot, window.canvas, [(30, 30), (40, 30)])
    assert window.current_mask()[30, 35] == 1


def test_polygon_places_a_vertex_per_click_and_fills_on_enter(window, qtbot) -> None:
    canvas = window.canvas
    window.findChild(QAction, "actionToolPolygon").trigger()
    for x, y in ((20, 20), (60, 20), (60, 60)):
        _click(qtbot, canvas, x, y)
    qtbot.mouseMove(canvas.viewport(), canvas.image_to_widget(20, 60))
    path = canvas._lasso_item.path()
    assert path.elementCount() == 4                  # three vertices and the rubber band to the mouse
    end = path.elementAt(3)
    assert abs(end.x - 20.5) < 1.0 and abs(end.y - 60.5) < 1.0
    assert not window.current_mask().any()           # nothing is filled while the polygon is open
    _click(qtbot, canvas, 20, 60)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    mask = window.current_mask()
    assert mask[40, 40] == 1 and mask[10, 10] == 0 and mask[58, 22] == 1
    assert canvas._lasso_item.path().isEmpty()
    assert window.session.undo_group.activeStack().count() == 1


def test_polygon_closes_on_double_click_and_escape_cancels_it_before_any_job(window, qtbot) -> None:
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_P)
    assert canvas.tool == "polygon"
    _click(qtbot, canvas, 70, 20)
    _click(qtbot, canvas, 100, 20)
    cancel = window.findChild(QAction, "actionCancel")
    cancel.setEnabled(True)                          # as while a job runs: Esc is its shortcut
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas._lasso_item.path().isEmpty() and not canvas.polygon_open
    assert "Cancelling" not in window.statusBar().currentMessage()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)        # no polygon open: Esc cancels the job
    assert "Cancelling" in window.statusBar().currentMessage()
    cancel.setEnabled(False)
    for x, y in ((70, 20), (100, 20), (100, 50)):
        _click(qtbot, canvas, x, y)
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.image_to_widget(70, 50))
    mask = window.current_mask()
    assert mask[35, 85] == 1 and mask[10, 85] == 0
    assert not canvas.polygon_open


def test_lasso_is_its_own_tool_and_fills_a_dragged_outline(window, qtbot) -> None:
    qtbot.keyClick(window.canvas, Qt.Key.Key_L)
    assert window.canvas.tool == "lasso"
    assert window.findChild(QAction, "actionToolLasso").isChecked()
    stroke(qtbot, window.canvas, [(20, 20), (60, 20), (60, 60), (20, 60)])
    mask = window.current_mask()
    assert mask[40, 40] == 1 and mask[10, 10] == 0


def test_tool_names_agree_in_toolbar_menu_shortcuts_and_welcome_card(window) -> None:
    from ukan_studio.actions import shortcut_table

    table = shortcut_table()
    card = window.first_run_hint.findChild(type(window.empty_label), "firstRunSteps").text()
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    menu_texts = [a.text().replace("&", "") for a in edit_menu.actions()]
    toolbar_texts = [a.text().replace("&", "") for a in window.toolbar.actions()]
    for name in ("Polygon", "Lasso"):
        assert name in menu_texts and name in toolbar_texts and f"{name}</td>" in table
        assert f"{name.lower()} (" in card


def test_brush_size_is_disabled_for_tools_without_a_size_and_opacity_shows_percent(window, qtbot) -> None:
    spin = window.findChild(QSpinBox, "brushSize")
    for key, enabled in ((Qt.Key.Key_P, False), (Qt.Key.Key_L, False), (Qt.Key.Key_F, False),
                         (Qt.Key.Key_E, True), (Qt.Key.Key_B, True)):
        qtbot.keyClick(window.canvas, key)
        assert spin.isEnabled() is enabled, key
    slider = window.findChild(QSlider, "overlayOpacity")
    slider.setFocus()
    slider.setValue(40)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    from PySide6.QtWidgets import QLabel

    assert window.findChild(QLabel, "overlayOpacityValue").text() == f"{slider.value()} %"
    assert slider.value() == 41


def test_history_greys_undone_steps(window, qtbot) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QStyleOptionViewItem

    stroke(qtbot, window.canvas, [(20, 20), (30, 20)])
    stroke(qtbot, window.canvas, [(20, 40), (30, 40)])
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    view = window.history_view
    model, delegate = view.model(), view.itemDelegate()
    assert model.rowCount() == 3                         # Opened, stroke 1, stroke 2 (undone)

    def look(row: int) -> tuple[object, bool]:
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, model.index(row, 0))
        return option.palette.color(QPalette.ColorRole.Text), option.font.italic()

    grey = view.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert look(2) == (grey, True)
    assert look(1)[1] is False and look(1)[0] != grey
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert look(2)[1] is False
