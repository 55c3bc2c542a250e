"""Failed saves are tried again by themselves: after 1 s, then 2, 4, ... at most 30 s, while they fail.

A full disk or a share that went away usually comes back without the user doing anything to the
image; waiting for the next edit to retry would leave a finished correction unsaved for ever.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

RETRY_FIRST_MS = 1000
RETRY_MAX_MS = 30_000


class SaveRetry(QObject):
    """A back-off timer: `failed()` after each failure, `succeeded()` once saves go through."""

    due = Signal()   # time to try the failed saves again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.due)
        self.delay_ms = RETRY_FIRST_MS

    def failed(self) -> None:
        """Saves failed (again): schedule a retry, each one waiting twice as long as the last."""
        if not self._timer.isActive():
            self._timer.start(self.delay_ms)
            self.delay_ms = min(self.delay_ms * 2, RETRY_MAX_MS)

    def succeeded(self) -> None:
        """Everything is saved: the next failure is retried after the first, short delay again."""
        self._timer.stop()
        self.delay_ms = RETRY_FIRST_MS

    def stop(self) -> None:
        self._timer.stop()
