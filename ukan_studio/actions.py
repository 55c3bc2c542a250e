"""The window's actions (object names are a test contract), its menus and its tool bar."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QSlider, QSpinBox, QToolBar, QToolButton

# objectName: (text, shortcuts, status tip)
ACTION_SPECS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "actionOpenFolder": ("&Open Folder…", ("Ctrl+O",), "Open a folder of images"),
    "actionOpenFile": ("Open &File…", ("Ctrl+Shift+O",), "Open one image file: its folder opens with that image shown"),
    "actionLoadMasks": ("&Load Masks from Folder…", (), "Import masks made elsewhere for the open folder's images"),
    "actionOpenSamples": ("Open &Sample Images", (), "Open the bundled sample images"),
    "actionExportMasks": ("&Export Masks…", ("Ctrl+E",), "Write the masks as PNG files named like the images"),
    "actionSaveNow": ("&Save Now", ("Ctrl+S",), "Edits are saved automatically; this saves at once"),
    "actionQuit": ("&Quit", ("Ctrl+Q",), "Close UKAN Studio"),
    "actionUndo": ("&Undo", ("Ctrl+Z",), "Undo the last edit of this image"),
    "actionRedo": ("&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the edit just undone"),
    "actionClearMask": ("&Clear Mask", ("Shift+Del",), "Erase every label of this image (undoable)"),
    "actionAcceptMask": ("&Accept Mask", ("A",), "The predicted mask is right: mark it accepted, unchanged (undoable)"),
    "actionToolBrush": ("&Brush", ("B",), "Paint the selected label"),
    "actionToolEraser": ("&Eraser", ("E",), "Erase labels"),
    "actionToolPolygon": ("&Polygon", ("P",), "Click to place vertices; double-click or Enter fills, Esc cancels"),
    "actionToolLasso": ("&Lasso", ("L",), "Drag an outline by hand; the enclosed area is filled"),
    "actionToolFill": ("&Fill", ("F",), "Fill the clicked region with the selected label"),
    "actionBrushSmaller": ("Smaller Brush", ("[",), "Make the brush smaller"),
    "actionBrushLarger": ("Larger Brush", ("]",), "Make the brush larger"),
    "actionToggleOverlay": ("Show &Mask", ("O",), "Show or hide the mask overlay"),
    "actionContourOnly": ("&Contour Only", ("C",), "Draw only the outlines of the labels"),
    "actionUncertaintyMap": ("Show &Uncertainty Map", ("U",),
                             "Colour where the model is unsure on this image (computed on demand)"),
    "actionFit": ("&Fit to Window", ("Ctrl+0",), "Show the whole image"),
    "actionZoomIn": ("Zoom &In", ("Ctrl++", "Ctrl+="), "Zoom in"),
    "actionZoomOut": ("Zoom &Out", ("Ctrl+-",), "Zoom out"),
    "actionResetWindow": ("Reset &Window/Level", ("W",), "Grey images: back to the full range (right-drag changes it)"),
    "actionNextImage": ("&Next Image", ("PgDown", "D"), "Go to the next image"),
    "actionPrevImage": ("&Previous Image", ("PgUp",), "Go to the previous image"),
    "actionSegment": ("&Segment", ("Ctrl+Return",), "Segment the current image (asks before replacing your own mask)"),
    "actionSegmentAll": ("Segment &All", ("Ctrl+Shift+Return",),
                         "Segment every image not corrected, imported or accepted"),
    "actionRetrain": ("&Retrain", ("Ctrl+T",), "Fine-tune the model on the corrected images"),
    "actionCancel": ("&Cancel Job", ("Esc",), "Stop the running job; finished results stay"),
    "actionThemeSystem": ("Follow &System", (), "Light or dark like the system"),
    "actionThemeLight": ("&Light", (), "Light theme"),
    "actionThemeDark": ("&Dark", (), "Dark theme"),
    "actionShowHint": ("&Getting Started", (), "Show the three steps: Segment, correct, Retrain"),
    "actionShortcuts": ("&Keyboard Shortcuts", ("F1",), "List every shortcut"),
    "actionAbout": ("&About UKAN Studio", (), "About"),
}

TOOL_ACTIONS = {"brush": "actionToolBrush", "eraser": "actionToolEraser",
                "polygon": "actionToolPolygon", "lasso": "actionToolLasso", "fill": "actionToolFill"}


@dataclass
class Actions:
    """All actions by objectName, plus the exclusive groups."""

    by_name: dict[str, QAction] = field(default_factory=dict)
    tools: QActionGroup | None = None
    themes: QActionGroup | None = None

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]


def create_actions(window: QMainWindow) -> Actions:
    """Create every action as a child of `window` (so findChild(QAction, name) finds it)."""
    actions = Actions()
    for name, (text, shortcuts, tip) in ACTION_SPECS.items():
        action = QAction(text, window)
        action.setObjectName(name)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcuts[0]})")
        action.setStatusTip(tip)
        actions.by_name[name] = action
        window.addAction(action)  # shortcuts work wherever the focus is in the window
    actions.tools = QActionGroup(window)
    for name in TOOL_ACTIONS.values():
        actions[name].setCheckable(True)
        actions.tools.addAction(actions[name])
    actions["actionToolBrush"].setChecked(True)
    actions.themes = QActionGroup(window)
    for name in ("actionThemeSystem", "actionThemeLight", "actionThemeDark"):
        actions[name].setCheckable(True)
        actions.themes.addAction(actions[name])
    for name in ("actionToggleOverlay", "actionContourOnly", "actionUncertaintyMap"):
        actions[name].setCheckable(True)
    actions["actionToggleOverlay"].setChecked(True)
    actions["actionCancel"].setEnabled(False)
    return actions


def build_menus(window: QMainWindow, actions: Actions, recent_menu: QMenu) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for name in ("actionOpenFolder", "actionOpenFile", "actionOpenSamples"):
        file_menu.addAction(actions[name])
    file_menu.addMenu(recent_menu)
    file_menu.addSeparator()
    file_menu.addAction(actions["actionLoadMasks"])
    for name in ("actionSaveNow", "actionExportMasks"):
        file_menu.addAction(actions[name])
    file_menu.addSeparator()
    file_menu.addAction(actions["actionQuit"])
    edit_menu = bar.addMenu("&Edit")
    for name in ("actionUndo", "actionRedo", None, "actionAcceptMask", "actionClearMask", None, "actionToolBrush",
                 "actionToolEraser", "actionToolPolygon", "actionToolLasso", "actionToolFill", None,
                 "actionBrushSmaller", "actionBrushLarger"):
        edit_menu.addSeparator() if name is None else edit_menu.addAction(actions[name])
    view_menu = bar.addMenu("&View")
    for name in ("actionToggleOverlay", "actionContourOnly", "actionUncertaintyMap", None, "actionFit", "actionZoomIn", "actionZoomOut",
                 "actionResetWindow", None, "actionNextImage", "actionPrevImage"):
        view_menu.addSeparator() if name is None else view_menu.addAction(actions[name])
    theme_menu = view_menu.addMenu("&Theme")
    for name in ("actionThemeSystem", "actionThemeLight", "actionThemeDark"):
        theme_menu.addAction(actions[name])
    model_menu = bar.addMenu("&Model")
    for name in ("actionSegment", "actionSegmentAll", "actionRetrain", None, "actionCancel"):
        model_menu.addSeparator() if name is None else model_menu.addAction(actions[name])
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions["actionShowHint"])
    help_menu.addAction(actions["actionShortcuts"])
    help_menu.addAction(actions["actionAbout"])


def shortcut_table() -> str:
    """An HTML table of every action that has a shortcut, for the Help dialog."""
    rows = "".join(
        f"<tr><td style='padding:2px 18px 2px 0'><b>{' / '.join(keys)}</b></td><td>{text.replace('&', '').rstrip('…')}"
        f"</td></tr>" for text, keys, _ in ACTION_SPECS.values() if keys)
    extra = ("<tr><td style='padding:2px 18px 2px 0'><b>Double-click, Enter</b></td><td>Close and fill the polygon"
             "</td></tr>"
             "<tr><td style='padding:2px 18px 2px 0'><b>Esc</b></td><td>Drop the polygon being drawn (else: Cancel Job)"
             "</td></tr>"
             "<tr><td style='padding:2px 18px 2px 0'><b>Space + drag, middle drag</b></td><td>Pan</td></tr>"
             "<tr><td style='padding:2px 18px 2px 0'><b>Wheel</b></td><td>Zoom</td></tr>"
             "<tr><td style='padding:2px 18px 2px 0'><b>Right drag</b></td><td>Window/level (grey images)</td></tr>")
    return f"<table>{rows}{extra}</table>"


class PercentLabel(QLabel):
    """Shows a slider's 0-100 value as "45 %"."""

    @Slot(int)
    def set_percent(self, value: int) -> None:
        self.setText(f"{value} %")


def build_toolbar(window: QMainWindow, actions: Actions) -> tuple[QToolBar, QSpinBox, QSlider]:
    """The main tool bar: jobs, tools, brush size, overlay opacity and view toggles."""
    bar = QToolBar("Tools", window)
    bar.setObjectName("mainToolBar")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.setIconSize(QSize(18, 18))
    for name in ("actionOpenFolder", None, "actionSegment", "actionSegmentAll", "actionAcceptMask", "actionRetrain",
                 None, *TOOL_ACTIONS.values(), None):
        bar.addSeparator() if name is None else bar.addAction(actions[name])
    bar.addWidget(QLabel(" Size ", bar))
    brush_spin = QSpinBox(bar)
    brush_spin.setObjectName("brushSize")
    brush_spin.setRange(1, 500)
    brush_spin.setSuffix(" px")
    brush_spin.setToolTip("Brush size ([ and ])")
    bar.addWidget(brush_spin)
    bar.addSeparator()
    bar.addWidget(QLabel(" Opacity ", bar))
    opacity = QSlider(Qt.Orientation.Horizontal, bar)
    opacity.setObjectName("overlayOpacity")
    opacity.setRange(0, 100)
    opacity.setFixedWidth(110)
    opacity.setToolTip("Opacity of the mask overlay")
    bar.addWidget(opacity)
    percent = PercentLabel(" 100 % ", bar)
    percent.setObjectName("overlayOpacityValue")
    percent.setMinimumWidth(percent.sizeHint().width())   # the tool bar does not jump as the value changes
    percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    opacity.valueChanged.connect(percent.set_percent)
    percent.set_percent(opacity.value())
    bar.addWidget(percent)
    icon_only = ("actionToggleOverlay", "actionContourOnly", "actionUndo", "actionRedo", "actionFit")
    for name in ("actionToggleOverlay", "actionContourOnly", None, "actionUndo", "actionRedo", "actionFit"):
        bar.addSeparator() if name is None else bar.addAction(actions[name])
    for name in icon_only:
        button = bar.widgetForAction(actions[name])
        if isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    return bar, brush_spin, opacity
