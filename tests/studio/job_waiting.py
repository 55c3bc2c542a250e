"""Wait for one of the main window's jobs in a script run by hand (benchmarks, the screenshot maker)."""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot


def wait_job(window, kind: str, timeout_s: float) -> None:
    """Run the event loop until `window.job_finished` reports `kind`; SystemExit after `timeout_s`."""
    loop = QEventLoop()
    done: list[str] = []

    class Catcher(QObject):
        @Slot(str)
        def on_finished(self, finished: str) -> None:
            if finished == kind:
                done.append(finished)
                loop.quit()

    catcher = Catcher()
    window.job_finished.connect(catcher.on_finished)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    window.job_finished.disconnect(catcher.on_finished)
    if not done:
        raise SystemExit(f"{kind} did not finish within {timeout_s:.0f} s")
