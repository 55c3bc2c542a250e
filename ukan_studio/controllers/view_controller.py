"""How the image is edited and shown: tool, brush size, overlay look, zoom, label classes, theme.

The settings remember each choice; the cursor line in the status bar reads the pixel under the
pointer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QSlider, QSpinBox

from ukan_core.errors import UkanError
from ukan_studio.actions import TOOL_ACTIONS, Actions
from ukan_studio.canvas.view import SIZED_TOOLS, MaskCanvas
from ukan_studio.feedback import Feedback
from ukan_studio.icons import line_icon
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.panels.labels import LabelsPanel
from ukan_studio.panels.retrain import RetrainPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings
from ukan_studio.theme import apply_theme, canvas_background

CANVAS_HINT = "Left drag: draw · Space or middle drag: pan · wheel: zoom · right drag: window/level"

ACTION_ICONS = {
    "actionOpenFolder": "open", "actionSegment": "segment", "actionSegmentAll": "segment_all",
    "actionRetrain": "retrain", "actionToolBrush": "brush", "actionToolEraser": "eraser",
    "actionToolPolygon": "polygon", "actionToolLasso": "lasso", "actionToolFill": "fill", "actionUndo": "undo",
    "actionRedo": "redo", "actionFit": "fit", "actionToggleOverlay": "overlay", "actionContourOnly": "contour",
    "actionExportMasks": "export", "actionCancel": "cancel",
}


class ViewController(QObject):
    """The tool and view choices of the toolbar and the View menu."""

    def __init__(self, window: QMainWindow, session: Session, canvas: MaskCanvas, actions: Actions,
                 brush_spin: QSpinBox, opacity_slider: QSlider, cursor_label: QLabel, labels_panel: LabelsPanel,
                 themed_panels: tuple[RetrainPanel, ExplainPanel], settings: StudioSettings, feedback: Feedback,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.session, self.canvas, self.actions = window, session, canvas, actions
        self.brush_spin, self.opacity_slider, self.cursor_label = brush_spin, opacity_slider, cursor_label
        self.labels_panel, self.themed_panels = labels_panel, themed_panels
        self.settings, self.feedback = settings, feedback

    def apply_settings(self) -> None:
        """Brush, opacity, contour and theme as the settings say."""
        st = self.settings
        self.brush_spin.setValue(st.brush_size)
        self.canvas.set_brush_size(st.brush_size)
        self.opacity_slider.setValue(round(st.overlay_opacity * 100))
        self.canvas.set_overlay_opacity(st.overlay_opacity)
        self.actions["actionContourOnly"].setChecked(st.contour_only)
        theme_action = {"light": "actionThemeLight", "dark": "actionThemeDark"}.get(st.theme, "actionThemeSystem")
        self.actions[theme_action].setChecked(True)
        self.refresh_theme_colors()

    @Slot(object)
    def on_tool_triggered(self, action: Any) -> None:
        tool = next(t for t, n in TOOL_ACTIONS.items() if n == action.objectName())
        self.canvas.set_tool(tool)
        self.brush_spin.setEnabled(tool in SIZED_TOOLS)   # polygon, lasso and fill have no size

    @Slot()
    def brush_smaller(self) -> None:
        self.brush_spin.setValue(max(1, round(self.brush_spin.value() / 1.25)))

    @Slot()
    def brush_larger(self) -> None:
        self.brush_spin.setValue(max(self.brush_spin.value() + 1, round(self.brush_spin.value() * 1.25)))

    @Slot(int)
    def on_brush_size_changed(self, value: int) -> None:
        if self.canvas.brush_size != value:
            self.canvas.set_brush_size(value)
        self.settings.brush_size = value

    @Slot(int)
    def on_opacity_changed(self, value: int) -> None:
        self.canvas.set_overlay_opacity(value / 100.0)
        self.settings.overlay_opacity = value / 100.0

    @Slot(bool)
    def on_contour_toggled(self, on: bool) -> None:
        self.canvas.overlay.set_contour_only(on)
        self.settings.contour_only = on

    @Slot()
    def zoom_in(self) -> None:
        self.canvas.zoom(1.25)

    @Slot()
    def zoom_out(self) -> None:
        self.canvas.zoom(0.8)

    @Slot(int)
    def on_label_changed(self, label: int) -> None:
        self.canvas.label = label

    @Slot(list)
    def on_classes_changed(self, names: list) -> None:
        if self.session.store is not None:
            try:
                self.session.store.set_classes(list(names))
            except UkanError as exc:
                self.feedback.show_error(str(exc))

    @Slot(object)
    def on_theme_triggered(self, action: Any) -> None:
        self.settings.theme = {"actionThemeLight": "light", "actionThemeDark": "dark"}.get(
            action.objectName(), "system")
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.settings.theme)
        self.refresh_theme_colors()

    @Slot(object)
    def on_system_color_scheme_changed(self, _scheme: Any) -> None:
        if self.settings.theme == "system":
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, "system")
            self.refresh_theme_colors()

    def refresh_theme_colors(self) -> None:
        """Canvas background, toolbar icons and the panels' plots in the theme's colours."""
        app = QApplication.instance()
        theme = str(app.property("ukanTheme") or "dark") if app is not None else "dark"
        self.canvas.setBackground(canvas_background(theme))
        color = self.window.palette().color(QPalette.ColorRole.ButtonText)
        for name, icon in ACTION_ICONS.items():
            self.actions[name].setIcon(line_icon(icon, color))
        for panel in self.themed_panels:
            panel.set_theme(theme)

    @Slot(int, int)
    def on_cursor_moved(self, x: int, y: int) -> None:
        """The status bar's cursor line: position, pixel value, label, window/level."""
        mask = self.session.current_mask()
        if x < 0 or mask is None:
            self.cursor_label.setText(CANVAS_HINT if mask is not None else "")
            return
        label = int(mask[y, x])
        names = self.labels_panel.names
        value = self.session.image.pixels[y, x]
        shown = "/".join(f"{v:g}" for v in np.atleast_1d(value).tolist())
        window = self.canvas.window
        wl = f"   W/L {window[1]:.0f}/{window[0]:.0f}" if window else ""
        self.cursor_label.setText(
            f"x {x}  y {y}   value {shown}   label {names[label] if label < len(names) else label}{wl}")
