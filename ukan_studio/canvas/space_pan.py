"""Space held anywhere in the canvas's window turns a left drag on the canvas into panning.

The key is watched at the application level: after a click on a slider or a panel the focus is
no longer on the canvas, and a Space the canvas never saw must still pan, never paint.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget


class SpaceKeyWatcher(QObject):
    """Tracks whether Space is held while a widget of `owner`'s window has the keyboard."""

    changed = Signal(bool)

    def __init__(self, owner: QWidget) -> None:
        super().__init__(owner)
        self._owner = owner
        self.down = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
                if kind == QEvent.Type.KeyRelease:
                    self._set(False)   # wherever it goes (a dialog may have opened meanwhile)
                elif self._in_owner_window(watched):
                    self._set(True)
        elif kind == QEvent.Type.ApplicationDeactivate and self.down:
            self._set(False)   # the release may go to another application
        return False

    def _in_owner_window(self, watched: QObject) -> bool:
        if not isinstance(watched, QWidget):
            return False
        try:
            return QWidget.window(watched) is QWidget.window(self._owner)   # the canvas has its own `window`
        except RuntimeError:   # the owner is being destroyed
            return False

    def _set(self, down: bool) -> None:
        if down != self.down:
            self.down = down
            self.changed.emit(down)
