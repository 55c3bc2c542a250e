"""A slim, non-blocking message bar above the canvas for errors and results (never a modal box)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {   # background, text, border
    "error": ("#5a1f24", "#ffdede", "#8a2f36"),
    "info": ("#18324f", "#dcecff", "#2b5a8a"),
    "success": ("#17402c", "#d8f5e4", "#2a7650"),
}


class NoticeBar(QFrame):
    """Shows one message with a close button; info and success messages hide after a while."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.hide()

    def show_message(self, text: str, kind: str = "info", timeout_ms: int = 8000) -> None:
        background, foreground, border = _STYLES.get(kind, _STYLES["info"])
        self.setStyleSheet(
            f"QFrame#noticeBar {{ background: {background}; border-bottom: 1px solid {border}; }}"
            f"QFrame#noticeBar QLabel, QFrame#noticeBar QToolButton {{ color: {foreground}; background: transparent; }}")
        self.label.setText(text)
        self.setProperty("kind", kind)
        self.show()
        if kind == "error":
            self._timer.stop()   # errors stay until closed
        else:
            self._timer.start(timeout_ms)

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.hide()
