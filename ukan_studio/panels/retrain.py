"""Retrain: a time budget, the live loss / IoU curves and the engine's before/after report.

The curves' key sits above the plot (a legend inside it covered the IoU line) and the report is
a titled box of its own, so neither reads as an axis label.

The plot is redrawn at most every REDRAW_MS and its axes keep fixed ranges that only grow (the
x range doubles when the curve reaches its end): pyqtgraph re-lays out and repaints its axes in
Python whenever a range changes, which auto-ranging on every report turned into the longest
stalls of the window during a retrain.
"""

from __future__ import annotations

import re
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from ukan_core.progress import Progress
from ukan_core.training.recipes import FINETUNE

LOSS_KEYS = ("loss", "train_loss")
IOU_KEYS = ("val_iou", "iou", "held_out_iou")
REDRAW_MS = 250
INITIAL_X_RANGE = 16.0
LOSS_COLOR, IOU_COLOR = (255, 120, 90), (70, 170, 255)


class RetrainPanel(QWidget):
    """Shows the curves of the running fine-tune and, at the end, what changed."""

    retrain_requested = Signal(float)   # budget in seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("retrainPanel")
        self.budget = QDoubleSpinBox(self)
        self.budget.setObjectName("retrainBudget")
        self.budget.setRange(0.05, 600.0)
        self.budget.setValue(FINETUNE.budget_s / 60.0)   # 1 min: what the shipped recipe is measured at on 2 cores
        self.budget.setSuffix(" min")
        self.budget.setDecimals(2)
        self.start_button = QPushButton("Retrain on corrections", self)
        self.start_button.setObjectName("primaryButton")
        self.start_button.clicked.connect(self._on_start_clicked)
        self.plot = pg.PlotWidget(self)
        self.plot.setObjectName("retrainPlot")
        self.plot.setMinimumHeight(150)
        self.plot.setMenuEnabled(False)
        # no grid: pyqtgraph draws it with the axes, so every curve update would repaint them
        self.plot.setLabel("bottom", "progress updates")
        self.plot.disableAutoRange()
        self.plot.setMouseEnabled(x=False, y=False)
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=2), name="loss")
        self.iou_curve = self.plot.plot([], [], pen=pg.mkPen(IOU_COLOR, width=2), name="held-out IoU",
                                        symbol="o", symbolSize=5, symbolBrush=IOU_COLOR)
        self.legend = QLabel(self)   # the key of the curves, outside the plot area
        self.legend.setObjectName("retrainLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setText(f"<span style='color:rgb{LOSS_COLOR}'>━━</span> loss &nbsp;&nbsp; "
                            f"<span style='color:rgb{IOU_COLOR}'>━●━</span> held-out IoU")
        self.report_box = QGroupBox("Report: before → after", self)
        self.report_box.setObjectName("retrainReportBox")
        self.report = QLabel("Correct a few masks, then retrain: the report compares the model before and "
                             "after on held-out corrected images.", self)
        self.report.setObjectName("reportLabel")
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box_layout = QVBoxLayout(self.report_box)
        box_layout.addWidget(self.report)
        form = QFormLayout()
        form.addRow("Time budget", self.budget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addSpacing(4)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot, 1)
        layout.addSpacing(6)
        layout.addWidget(self.report_box)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self._reset_curves()

    def set_theme(self, theme: str) -> None:
        """Plot colours that suit the light or dark window."""
        dark = theme == "dark"
        self.plot.setBackground("#14161a" if dark else "#ffffff")
        axis_pen = pg.mkPen("#9aa3ad" if dark else "#5d6670")
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(axis_pen)
            axis.setTextPen(axis_pen)

    def clear(self) -> None:
        self._reset_curves()
        self.report.setText("Retraining…")

    def _reset_curves(self) -> None:
        self._loss: tuple[list[float], list[float]] = ([], [])
        self._iou: tuple[list[float], list[float]] = ([], [])
        self._x_max, self._y_max = INITIAL_X_RANGE, 1.0
        self._set_ranges()
        self._redraw()

    def curve_data(self) -> dict[str, tuple[list[float], list[float]]]:
        """The points received so far (the plot shows them within REDRAW_MS)."""
        return {"loss": (list(self._loss[0]), list(self._loss[1])), "iou": (list(self._iou[0]), list(self._iou[1]))}

    def show_progress(self, progress: Progress) -> None:
        """Add the loss / IoU carried in `progress.extra` to the curves."""
        extra = progress.extra or {}
        loss = _first_number(extra, LOSS_KEYS)
        iou = _first_number(extra, IOU_KEYS)
        step = float(len(self._loss[0]) + 1)   # one point per report: k-fold runs restart their own steps
        if loss is not None:
            self._loss[0].append(step)
            self._loss[1].append(loss)
        if iou is not None:
            self._iou[0].append(step)
            self._iou[1].append(iou)
        if (loss is not None or iou is not None) and not self._redraw_timer.isActive():
            self._redraw_timer.start()
        text = progress_text(progress)
        if text and text != self.report.text():
            self.report.setText(text)

    def show_report(self, report: Any) -> None:
        self._redraw()
        self.report.setText(describe_report(report))

    @Slot()
    def _redraw(self) -> None:
        self._redraw_timer.stop()
        xs = self._loss[0] + self._iou[0]
        ys = [v for v in self._loss[1] + self._iou[1] if v == v and abs(v) != float("inf")]
        grown = False
        while xs and max(xs) > self._x_max:
            self._x_max *= 2.0
            grown = True
        if ys and max(ys) > self._y_max:
            self._y_max = max(ys) * 1.25
            grown = True
        if grown:
            self._set_ranges()
        self.loss_curve.setData(*self._loss)
        self.iou_curve.setData(*self._iou)

    def _set_ranges(self) -> None:
        self.plot.setXRange(0.0, self._x_max, padding=0.02)
        self.plot.setYRange(0.0, self._y_max, padding=0.02)

    def show_message(self, text: str) -> None:
        self.report.setText(text)

    def add_verdict(self, verdict: str) -> str:
        """Append what became of the new version to the report; returns the whole report."""
        self.report.setText(self.report.text() + "\n" + verdict)
        return self.report.text()

    def budget_s(self) -> float:
        """The time budget the user set, in seconds."""
        return self.budget.value() * 60.0

    @Slot()
    def _on_start_clicked(self) -> None:
        self.retrain_requested.emit(self.budget_s())


def progress_text(progress: Progress) -> str:
    """One line for a training report: "step 63 of at most 200 · loss 0.1234 · held-out IoU 0.71".

    The trainer's own message says epoch and step (equal counts for small sets); the budget may
    stop it early, hence "at most". Other reports (starting, saving) keep their message.
    """
    extra = progress.extra or {}
    loss = _first_number(extra, LOSS_KEYS)
    if loss is None or progress.total <= 0:
        return progress.message
    fold = re.match(r"(fold \d+/\d+)\b", progress.message or "")   # k-fold runs restart their steps
    parts = [fold.group(1)] if fold else []
    parts += [f"step {progress.done} of at most {progress.total}", f"loss {loss:.4f}"]
    iou = _first_number(extra, IOU_KEYS)
    if iou is not None:
        parts.append(f"held-out IoU {iou:.3f}")
    return " · ".join(parts)


def _first_number(extra: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = extra.get(key)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def describe_report(report: Any) -> str:
    """The engine's FinetuneReport in plain words (`report_lines`): n, before/after per image, the
    spread of the change and the verdict, one sentence a line."""
    from ukan_core.training.report import report_lines

    try:
        return "\n".join(report_lines(report))
    except (AttributeError, TypeError, ValueError):   # not a FinetuneReport: say what came back
        return str(report)
