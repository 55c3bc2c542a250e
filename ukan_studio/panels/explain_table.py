"""The ranking table of the Explain panel: one row per channel of a layer, best Plausibility IoU first."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from ukan_core.explain.plausibility import ChannelScore

HEADERS = ("#", "Channel", "PIoU", "Best IoU\n(any threshold)")


class ChannelTable(QTableWidget):
    """Ranked channel scores; short multi-line headers so all columns fit the dock's default width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setObjectName("explainChannels")
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.horizontalHeaderItem(0).setToolTip("Rank by Plausibility IoU")
        self.horizontalHeaderItem(3).setToolTip("Threshold-free: the best IoU over thresholds 0.05 … 0.95, "
                                                "and the threshold at which it was reached")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(20)
        header.setStretchLastSection(True)
        self.setMinimumHeight(160)

    def set_piou_threshold(self, threshold: float) -> None:
        """Name the PIoU column after the threshold the rankings were scored at."""
        self.horizontalHeaderItem(2).setText(f"PIoU\n@ {threshold:.2f}")

    def show_scores(self, scores: list[ChannelScore]) -> None:
        """Fill the rows (ranked) and select the best channel, without emitting selection signals."""
        self.blockSignals(True)
        self.setRowCount(len(scores))
        for row, score in enumerate(scores):
            values = (str(row + 1), str(score.channel), f"{score.plausibility_iou:.3f}",
                      f"{score.best_iou:.3f} at {score.threshold:.2f}")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, column, item)
        if scores:
            self.setCurrentCell(0, 0)
        self.blockSignals(False)

    def clear_scores(self) -> None:
        self.blockSignals(True)
        self.setRowCount(0)
        self.blockSignals(False)

    def selected_channel(self) -> int | None:
        """The channel number of the selected row, or None."""
        row = self.currentRow()
        item = self.item(row, 1) if row >= 0 else None
        return int(item.text()) if item is not None else None
