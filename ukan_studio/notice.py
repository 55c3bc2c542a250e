"""A slim, non-blocking message bar above the canvas for errors and results (never a modal box).

The bar floats over the top of the image. Two rules keep it from costing an edit: a click that
lands where the bar just vanished (within CLICK_GUARD_MS) is swallowed instead of reaching the
canvas, and the timer of a passing message waits while the mouse is over the bar. Errors and
sticky messages (a Retrain report, an export result) stay until the user closes them.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {   # background, text, border
    "error": ("#5a1f24", "#ffdede", "#8a2f36"),
    "info": ("#18324f", "#dcecff", "#2b5a8a"),
    "success": ("#17402c", "#d8f5e4", "#2a7650"),
}
CLICK_GUARD_MS = 400   # a click this soon after the bar vanished under the pointer was meant for the bar


class NoticeBar(QFrame):
    """Shows one message with a close button; info and success messages hide after a while."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("noticeClose")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Close this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timeout_ms = 0
        self.sticky = False
        self._guard = _ClickGuard(self)
        self.hide()

    def show_message(self, text: str, kind: str = "info", timeout_ms: int = 8000, sticky: bool = False) -> None:
        """Show `text`; errors and `sticky` messages stay until closed, others hide after `timeout_ms`."""
        background, foreground, border = _STYLES.get(kind, _STYLES["info"])
        self.setStyleSheet(
            f"QFrame#noticeBar {{ background: {background}; border-bottom: 1px solid {border}; }}"
            f"QFrame#noticeBar QLabel, QFrame#noticeBar QToolButton {{ color: {foreground}; background: transparent; }}")
        self.label.setText(text)
        self.setProperty("kind", kind)
        self.sticky = bool(sticky) or kind == "error" or timeout_ms <= 0
        self._timeout_ms = timeout_ms
        self.show()
        if self.sticky:
            self._timer.stop()
        elif not self.underMouse():
            self._timer.start(timeout_ms)

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def enterEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        self._timer.stop()   # the user is reaching for the message (or its ✕): let it stay
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        if self.isVisible() and not self.sticky:
            self._timer.start(max(1500, self._timeout_ms // 2))
        super().leaveEvent(event)

    def hideEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        if self.width() > 0 and self.height() > 0:
            self._guard.arm(QRect(self.mapToGlobal(QPoint(0, 0)), self.size()))
        super().hideEvent(event)

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.hide()


class _ClickGuard(QObject):
    """Swallows a mouse press (and its moves and release) inside a just-vanished bar's area."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._rect = QRect()
        self._until = 0.0
        self._swallowing = False
        self._installed = False

    def arm(self, rect: QRect) -> None:
        self._rect, self._until = rect, time.monotonic() + CLICK_GUARD_MS / 1000.0
        app = QApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            assert isinstance(event, QMouseEvent)
            inside = self._rect.contains(event.globalPosition().toPoint())
            if inside and time.monotonic() < self._until:
                self._swallowing = True
                return True
            self._swallowing = False
            if time.monotonic() >= self._until:
                self._disarm()
        elif self._swallowing and kind in (QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            if kind == QEvent.Type.MouseButtonRelease:
                self._swallowing = False
            return True
        return False

    def _disarm(self) -> None:
        app = QApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
        self._installed = False
