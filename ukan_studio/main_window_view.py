"""The tools-and-view side of MainWindow: tool choice, brush size, overlay look, zoom, classes, theme.

A mixin only to keep main_window.py short; it uses the widgets MainWindow builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from ukan_core.errors import UkanError
from ukan_studio.actions import TOOL_ACTIONS
from ukan_studio.canvas.view import SIZED_TOOLS
from ukan_studio.icons import line_icon
from ukan_studio.theme import apply_theme, canvas_background

if TYPE_CHECKING:
    from ukan_studio.main_window import MainWindow

ACTION_ICONS = {
    "actionOpenFolder": "open", "actionSegment": "segment", "actionSegmentAll": "segment_all",
    "actionRetrain": "retrain", "actionToolBrush": "brush", "actionToolEraser": "eraser",
    "actionToolPolygon": "polygon", "actionToolLasso": "lasso", "actionToolFill": "fill", "actionUndo": "undo", "actionRedo": "redo",
    "actionFit": "fit", "actionToggleOverlay": "overlay", "actionContourOnly": "contour",
    "actionExportMasks": "export", "actionCancel": "cancel",
}


class MainWindowView:
    """Methods of MainWindow that change how the image is edited and shown."""

    # -- tools and view ------------------------------------------------------------------
    @Slot(object)
    def _on_tool_triggered(self: MainWindow, action: Any) -> None:
        tool = next(t for t, n in TOOL_ACTIONS.items() if n == action.objectName())
        self.canvas.set_tool(tool)
        self.brush_spin.setEnabled(tool in SIZED_TOOLS)   # polygon, lasso and fill have no size

    @Slot()
    def _on_brush_smaller_triggered(self: MainWindow) -> None:
        self.brush_spin.setValue(max(1, round(self.brush_spin.value() / 1.25)))

    @Slot()
    def _on_brush_larger_triggered(self: MainWindow) -> None:
        self.brush_spin.setValue(max(self.brush_spin.value() + 1, round(self.brush_spin.value() * 1.25)))

    @Slot(int)
    def _on_brush_spin_value_changed(self: MainWindow, value: int) -> None:
        if self.canvas.brush_size != value:
            self.canvas.set_brush_size(value)
        self.settings.brush_size = value

    @Slot(int)
    def _on_opacity_value_changed(self: MainWindow, value: int) -> None:
        self.canvas.set_overlay_opacity(value / 100.0)
        self.settings.overlay_opacity = value / 100.0

    @Slot(bool)
    def _on_contour_toggled(self: MainWindow, on: bool) -> None:
        self.canvas.overlay.set_contour_only(on)
        self.settings.contour_only = on

    @Slot()
    def _on_zoom_in_triggered(self: MainWindow) -> None:
        self.canvas.zoom(1.25)

    @Slot()
    def _on_zoom_out_triggered(self: MainWindow) -> None:
        self.canvas.zoom(0.8)

    @Slot(int)
    def _on_label_changed(self: MainWindow, label: int) -> None:
        self.canvas.label = label

    @Slot(list)
    def _on_classes_changed(self: MainWindow, names: list) -> None:
        if self.session.store is not None:
            try:
                self.session.store.set_classes(list(names))
            except UkanError as exc:
                self._show_error(str(exc))

    @Slot(object)
    def _on_theme_triggered(self: MainWindow, action: Any) -> None:
        self.settings.theme = {"actionThemeLight": "light", "actionThemeDark": "dark"}.get(
            action.objectName(), "system")
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.settings.theme)
        self._refresh_theme_colors()

    @Slot(object)
    def on_system_color_scheme_changed(self: MainWindow, _scheme: Any) -> None:
        if self.settings.theme == "system":
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, "system")
            self._refresh_theme_colors()

    def _refresh_theme_colors(self: MainWindow) -> None:
        app = QApplication.instance()
        theme = str(app.property("ukanTheme") or "dark") if app is not None else "dark"
        self.canvas.setBackground(canvas_background(theme))
        color = self.palette().color(QPalette.ColorRole.ButtonText)
        for name, icon in ACTION_ICONS.items():
            self.actions[name].setIcon(line_icon(icon, color))
        self.retrain_panel.set_theme(theme)
        self.explain_panel.set_theme(theme)
