""""Loading …" over the canvas while a large image is decoded in the background."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget


class LoadingNote(QLabel):
    """A centred, rounded note on top of `host` (objectName "loadingNote"); hidden until `show_for`."""

    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self.setObjectName("loadingNote")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel#loadingNote { background: rgba(30, 32, 36, 200); color: white;"
                           " border-radius: 8px; padding: 10px 18px; }")
        host.installEventFilter(self)
        self.hide()

    def show_for(self, name: str) -> None:
        """Say that image `name` is being loaded."""
        self.setText(f"Loading {name} …")
        self.adjustSize()
        self._centre()
        self.show()
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._centre()
        return False

    def _centre(self) -> None:
        host = self.parentWidget()
        if host is not None:
            self.move((host.width() - self.width()) // 2, (host.height() - self.height()) // 2)
