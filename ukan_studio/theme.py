"""Light and dark themes (Fusion + a palette + a little QSS), following the system by default."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor(56, 139, 253)

_DARK = {
    "window": "#1b1e23", "base": "#14161a", "alt": "#22262c", "text": "#e6e8eb", "muted": "#9aa3ad",
    "button": "#262a31", "border": "#2f343c", "canvas": "#0d0f12",
}
_LIGHT = {
    "window": "#f3f4f6", "base": "#ffffff", "alt": "#eceef1", "text": "#1c1f24", "muted": "#5d6670",
    "button": "#ffffff", "border": "#d3d7dd", "canvas": "#24272c",
}

_QSS = """
QMainWindow::separator {{ background: {border}; width: 1px; height: 1px; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{ padding: 6px 8px; background: {window}; border-bottom: 1px solid {border}; }}
QToolBar {{ background: {window}; border: none; border-bottom: 1px solid {border}; spacing: 2px; padding: 3px; }}
QToolBar QToolButton {{ padding: 4px 8px; border-radius: 6px; }}
QToolBar QToolButton:checked {{ background: {accent}; color: white; }}
QToolBar QToolButton:hover:!checked {{ background: {alt}; }}
QStatusBar {{ background: {window}; border-top: 1px solid {border}; color: {muted}; }}
QStatusBar QLabel {{ padding: 0 8px; color: {muted}; }}
QListView, QListWidget {{ background: {base}; border: none; }}
QPushButton {{ padding: 5px 12px; border-radius: 6px; border: 1px solid {border}; background: {button}; }}
QPushButton:hover {{ border-color: {accent}; }}
QPushButton#primaryButton {{ background: {accent}; color: white; border: none; font-weight: 600; }}
QPushButton#primaryButton:disabled {{ background: {alt}; color: {muted}; border: 1px solid {border}; }}
QProgressBar {{ border: 1px solid {border}; border-radius: 5px; background: {base}; text-align: center;
               max-height: 14px; min-width: 160px; }}
QProgressBar::chunk {{ background: {accent}; border-radius: 4px; }}
QComboBox {{ padding: 3px 8px; border-radius: 6px; border: 1px solid {border}; background: {button}; }}
QLabel#reportLabel {{ padding: 8px; border-radius: 6px; background: {alt}; }}
QLabel#emptyState {{ color: {muted}; font-size: 15px; }}
MaskCanvas, #canvas {{ background: {canvas}; }}
"""


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme and scheme() == Qt.ColorScheme.Dark)


def apply_theme(app: QApplication, theme: str = "system") -> str:
    """Apply "light", "dark" or "system" (resolved now); returns the theme applied."""
    resolved = theme if theme in ("light", "dark") else ("dark" if system_prefers_dark() else "light")
    if app.property("ukanTheme") == resolved:
        return resolved   # already applied: restyling every widget again is slow
    colors = _DARK if resolved == "dark" else _LIGHT
    app.setStyle("Fusion")
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, QColor(colors["window"]))
    palette.setColor(role.WindowText, QColor(colors["text"]))
    palette.setColor(role.Base, QColor(colors["base"]))
    palette.setColor(role.AlternateBase, QColor(colors["alt"]))
    palette.setColor(role.Text, QColor(colors["text"]))
    palette.setColor(role.Button, QColor(colors["button"]))
    palette.setColor(role.ButtonText, QColor(colors["text"]))
    palette.setColor(role.ToolTipBase, QColor(colors["alt"]))
    palette.setColor(role.ToolTipText, QColor(colors["text"]))
    palette.setColor(role.PlaceholderText, QColor(colors["muted"]))
    palette.setColor(role.Highlight, ACCENT)
    palette.setColor(role.HighlightedText, QColor("white"))
    palette.setColor(role.Link, ACCENT)
    for group_role in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, group_role, QColor(colors["muted"]))
    app.setPalette(palette)
    app.setStyleSheet(_QSS.format(accent=ACCENT.name(), **colors))
    app.setProperty("ukanTheme", resolved)
    return resolved


def canvas_background(theme: str) -> str:
    return (_DARK if theme == "dark" else _LIGHT)["canvas"]
