"""Sizes of the current mask in the status bar: per label, regions, total area and largest diameter.

Areas are in mm² when the image carries a pixel spacing (DICOM, calibrated TIFF), else in px².
The figures follow edits, but not every mouse move: a change restarts a short timer, and the
measurement (about 0.4 s on a 12-megapixel mask) runs on a worker thread of its own, quietly, so
it never shows as a user job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QLabel

from ukan_studio.session import Session
from ukan_studio.workers.base import WorkerRunner
from ukan_studio.workers.measure import MeasureWorker

KIND = "measure"
SETTLE_MS = 400   # quiet time after the last edit before measuring again
UNITS = {"mm^2": "mm²", "px^2": "px²", "mm": "mm", "px": "px"}


def sizes_text(measurements: Sequence[Any]) -> str:
    """One line per label: "Label 1: 2 regions, 123.4 mm², max Ø 15.2 mm"; "No regions" when empty."""
    if not measurements:
        return "No regions"
    lines = []
    for label in sorted({m.label for m in measurements}):
        rows = [m for m in measurements if m.label == label]
        area = sum(m.area for m in rows)
        diameter = max(m.max_diameter for m in rows)
        lines.append(f"Label {label}: {len(rows)} region{'s' if len(rows) != 1 else ''}, "
                     f"{area:.1f} {UNITS[rows[0].area_unit]}, max Ø {diameter:.1f} {UNITS[rows[0].diameter_unit]}")
    return " · ".join(lines)


class SizesController(QObject):
    """Keeps the sizes label in step with the current mask, measured off the GUI thread."""

    def __init__(self, session: Session, label: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.label = session, label
        self.runner = WorkerRunner(self)
        self.runner.busy_changed.connect(self._on_runner_busy_changed)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(SETTLE_MS)
        self.timer.timeout.connect(self._measure_now)
        self.measured = 0            # measurements shown so far (lets tests and the log see the throttle)
        self._again = False          # a change came while measuring: measure once more afterwards
        session.current_changed.connect(self._on_session_current_changed)
        session.mask_changed.connect(self._on_session_mask_changed)

    @Slot(object)
    def _on_session_current_changed(self, _name: object) -> None:
        self.label.setText("")
        self.schedule()

    @Slot(object, object)
    def _on_session_mask_changed(self, name: object, _rect: object) -> None:
        if name == self.session.current:
            self.schedule()

    def schedule(self) -> None:
        """Measure once the edits have paused for SETTLE_MS (each call restarts the wait)."""
        self.timer.start()

    @Slot()
    def _measure_now(self) -> None:
        if self.runner.is_busy(KIND):
            self._again = True
            return
        name, mask, image = self.session.current, self.session.current_mask(), self.session.image
        if name is None or mask is None or image is None:
            self.label.setText("")
            return
        worker = MeasureWorker(name, mask.copy(), getattr(image, "pixel_spacing", None))
        worker.succeeded.connect(self._on_worker_succeeded)
        worker.failed.connect(self._on_worker_failed)
        self.runner.start(KIND, worker)

    @Slot(object)
    def _on_worker_succeeded(self, result: tuple[str, list]) -> None:
        name, measurements = result
        if name != self.session.current:
            return
        self.measured += 1
        text = sizes_text(measurements)
        self.label.setText(f"Sizes: {text}")
        self.label.setToolTip("Per label: regions, total area, largest max-Feret diameter"
                              + ("" if any(m.area_unit == "mm^2" for m in measurements)
                                 else " (pixels: this image has no pixel spacing)"))

    @Slot(str)
    def _on_worker_failed(self, message: str) -> None:
        self.label.setText(f"Sizes: {message}")

    @Slot(str, bool)
    def _on_runner_busy_changed(self, _kind: str, busy: bool) -> None:
        if not busy and self._again:
            self._again = False
            self.timer.start()

    def shutdown(self) -> None:
        """Stop the timer and wait for a measurement in progress (the window is closing)."""
        self.timer.stop()
        self.runner.shutdown()
