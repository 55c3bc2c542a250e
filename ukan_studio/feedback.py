"""Where the window tells the user things: the status bar and the banner above the image.

Controllers report through this one object, so every error reaches both places (never only a
console) and every job reads alike.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QStatusBar

from ukan_studio.notice import NoticeBar


class Feedback(QObject):
    """Shows one-line errors, notices and status-bar messages (GUI thread)."""

    def __init__(self, status_bar: QStatusBar, notice: NoticeBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.status_bar, self.notice = status_bar, notice

    @Slot(str)
    def show_error(self, text: str) -> None:
        """Errors go to the status bar and a non-blocking bar above the image."""
        self.status_bar.showMessage(text, 15000)
        self.notice.show_message(text, "error")

    def show_notice(self, text: str, kind: str = "info", timeout_ms: int = 8000, sticky: bool = False) -> None:
        """The banner above the image (kind "info", "success" or "error")."""
        self.notice.show_message(text, kind, timeout_ms, sticky)

    def hide_error(self) -> None:
        """Hide the banner when it shows an error (it was about another image)."""
        if self.notice.property("kind") == "error":
            self.notice.hide()

    @Slot(str)
    def show_status(self, text: str, timeout_ms: int = 5000) -> None:
        """A passing line in the status bar (0: until the next one)."""
        self.status_bar.showMessage(text, timeout_ms)
