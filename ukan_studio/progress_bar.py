"""Show a `ukan_core.progress.Progress` report on a QProgressBar."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar

from ukan_core.progress import Progress


def show_progress_on(bar: QProgressBar, progress: Progress) -> None:
    """Set `bar` to `done` of `total`; a report without a total leaves the bar as it is (busy or last value)."""
    if progress.total > 0:
        bar.setRange(0, progress.total)
        bar.setValue(min(progress.done, progress.total))
