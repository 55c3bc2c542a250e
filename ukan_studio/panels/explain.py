"""Explain: which KAN channels outline the lesion (Plausibility IoU), and what the KANs learned.

The panel asks for an explanation (`explainRequested`; the window builds the request with
`make_request` and starts an ExplainWorker it `attach`es here) and then works on the numpy
result alone: layer and channel pickers, the heatmap over the image, a threshold slider whose
PIoU is recomputed live with `ukan_core.explain.plausibility_iou`, aggregates, the learned
spline functions of the layer, and PNG / CSV export. It never imports torch.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
    QProgressBar, QPushButton, QSlider, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from ukan_core.atomic import atomic_write_text
from ukan_core.explain.heatmaps import COLORMAPS, blend, write_png
from ukan_core.explain.plausibility import best_iou, plausibility_iou
from ukan_core.progress import Progress
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.workers.explain import ExplainRequest, ExplainResult

CSV_COLUMNS = ("layer", "channel", "plausibility_iou", "best_iou", "threshold", "reference")
SHOW_MODES = (("Selected channel", "channel"), ("Mean of the top-k channels", "topk"),
              ("Mean of all channels", "mean"), ("Max of all channels", "max"))
REFERENCE_TEXT = {"ground_truth": "ground-truth mask", "corrected": "corrected mask",
                  "predicted": "model's own prediction"}
SPLINE_COLUMNS = 4


def choose_save_file(parent: QWidget, title: str, start: str, filter_text: str) -> str:
    """Ask where to save (tests replace this function)."""
    return QFileDialog.getSaveFileName(parent, title, start, filter_text)[0]


def choose_open_file(parent: QWidget, title: str, filter_text: str) -> str:
    """Ask for a file to read (tests replace this function)."""
    return QFileDialog.getOpenFileName(parent, title, "", filter_text)[0]


class ExplainPanel(QWidget):
    """Shows an ExplainResult; emits explainRequested when the user asks for a new one."""

    explainRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainPanel")
        self.result: ExplainResult | None = None
        self.current_map: np.ndarray | None = None
        self.live_piou: float | None = None
        self.ground_truth_file: Path | None = None
        self._worker: Any = None
        self._maps: dict[tuple[str, str, int], np.ndarray] = {}
        self._build()
        self._set_busy(False)

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.explain_button = QPushButton("Explain current image", self)
        self.explain_button.setObjectName("primaryButton")
        self.explain_button.clicked.connect(self._on_explain_clicked)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.ground_truth_button = QPushButton("Ground truth…", self)
        self.ground_truth_button.setToolTip("Score against a ground-truth mask file of the current image "
                                            "instead of its corrected or predicted mask")
        self.ground_truth_button.clicked.connect(self._on_ground_truth_clicked)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self.status = QLabel("Explain shows which KAN channels outline the structure, scored by "
                             "Plausibility IoU against the best mask available.", self)
        self.status.setWordWrap(True)
        self.layer_combo = QComboBox(self)
        self.layer_combo.setObjectName("explainLayer")
        self.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        self.show_combo = QComboBox(self)
        self.show_combo.setObjectName("explainShow")
        for text, mode in SHOW_MODES:
            self.show_combo.addItem(text, mode)
        self.show_combo.currentIndexChanged.connect(self._on_view_option_changed)
        self.top_k = QSpinBox(self)
        self.top_k.setObjectName("explainTopK")
        self.top_k.setRange(1, 512)
        self.top_k.setValue(5)
        self.top_k.valueChanged.connect(self._on_view_option_changed)
        self.colormap_combo = QComboBox(self)
        self.colormap_combo.setObjectName("explainColormap")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.currentIndexChanged.connect(self._on_look_changed)
        self.opacity_slider = self._slider("explainOpacity", 0, 100, 55)
        self.opacity_slider.valueChanged.connect(self._on_look_changed)
        self.threshold_slider = self._slider("explainThreshold", 1, 100, 50)
        self.threshold_slider.valueChanged.connect(self._on_threshold_changed)
        self.threshold_label = QLabel("0.50", self)
        self.outlines = QCheckBox("Outlines (reference green, activated white)", self)
        self.outlines.setChecked(True)
        self.outlines.toggled.connect(self._on_look_changed)
        self.live_label = QLabel("", self)
        self.live_label.setObjectName("explainLiveScore")
        self.live_label.setWordWrap(True)

        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setObjectName("explainView")
        self.view.setMinimumHeight(180)
        self.view_box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)

        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("explainChannels")
        self.table.setHorizontalHeaderLabels(["Rank", "Channel", "PIoU", "Best IoU (any threshold)", "at"])
        self.table.horizontalHeaderItem(3).setToolTip("Threshold-free: the best IoU over thresholds 0.05 … 0.95")
        self.table.horizontalHeaderItem(4).setToolTip("The threshold at which the best IoU was reached")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(self._on_table_current_changed)

        self.spline_title = QLabel("Learned functions φ(x) of the layer's strongest edges", self)
        self.spline_title.setWordWrap(True)
        self.splines = pg.GraphicsLayoutWidget(self)
        self.splines.setObjectName("explainSplines")
        self.splines.setMinimumHeight(160)
        spline_box = QWidget(self)
        spline_layout = QVBoxLayout(spline_box)
        spline_layout.setContentsMargins(0, 0, 0, 0)
        spline_layout.addWidget(self.spline_title)
        spline_layout.addWidget(self.splines, 1)

        self.export_png_button = QPushButton("Export heatmap PNG…", self)
        self.export_png_button.clicked.connect(self._on_export_png_clicked)
        self.export_csv_button = QPushButton("Export scores CSV…", self)
        self.export_csv_button.clicked.connect(self._on_export_csv_clicked)

        top = QHBoxLayout()
        for button in (self.explain_button, self.cancel_button, self.ground_truth_button):
            top.addWidget(button)
        form = QFormLayout()
        form.addRow("Layer", self.layer_combo)
        show_row = QHBoxLayout()
        show_row.addWidget(self.show_combo, 1)
        show_row.addWidget(QLabel("k", self))
        show_row.addWidget(self.top_k)
        form.addRow("Show", show_row)
        form.addRow("Colour map", self.colormap_combo)
        form.addRow("Opacity", self.opacity_slider)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold_slider, 1)
        threshold_row.addWidget(self.threshold_label)
        form.addRow("Threshold", threshold_row)
        exports = QHBoxLayout()
        exports.addWidget(self.export_png_button)
        exports.addWidget(self.export_csv_button)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.view)
        splitter.addWidget(self.table)
        splitter.addWidget(spline_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.outlines)
        layout.addWidget(self.live_label)
        layout.addWidget(splitter, 1)
        layout.addLayout(exports)

    def _slider(self, name: str, low: int, high: int, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setObjectName(name)
        slider.setRange(low, high)
        slider.setValue(value)
        return slider

    def set_theme(self, theme: str) -> None:
        """Plot backgrounds that suit the light or dark window."""
        background = "#14161a" if theme == "dark" else "#ffffff"
        self.view.setBackground(background)
        self.splines.setBackground(background)

    # -- requests and workers ----------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100.0

    def make_request(self, model: str, image: str | Path, reference: np.ndarray | None = None,
                     reference_kind: str | None = None, device: str = "auto") -> ExplainRequest:
        """The request for `image`; a ground-truth file chosen in the panel wins over `reference`."""
        if self.ground_truth_file is not None:
            reference, reference_kind = self.ground_truth_file, "ground_truth"
        return ExplainRequest(model=model, image=Path(image), reference=reference,
                              reference_kind=reference_kind if reference is not None else None,
                              threshold=self.threshold, device=device)

    def attach(self, worker: Any) -> None:
        """Show `worker`'s progress and result here (call before the runner starts it)."""
        self._worker = worker
        worker.progress.connect(self.show_progress)
        worker.succeeded.connect(self.show_result)
        worker.failed.connect(self.show_error)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.finished.connect(self._on_worker_finished)
        self._set_busy(True)
        self.status.setText("Explaining…")

    @Slot()
    def clear_ground_truth(self) -> None:
        """Forget the ground-truth file (the window calls this when another image becomes current)."""
        self.ground_truth_file = None
        self.ground_truth_button.setText("Ground truth…")

    @Slot(object)
    def show_progress(self, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        if progress.message:
            self.status.setText(progress.message)

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.status.setText(message)

    @Slot(object)
    def show_result(self, result: ExplainResult) -> None:
        """Take a new explanation: fill the layer picker and show its best channel."""
        self.result = result
        self._maps.clear()
        reference = REFERENCE_TEXT.get(result.reference_kind, result.reference_kind)
        self.status.setText(f"{result.image_name} with {result.model_label}: channels ranked by PIoU at "
                            f"{result.threshold:.2f} against the {reference}")
        self.table.horizontalHeaderItem(2).setText(f"PIoU @ {result.threshold:.2f}")
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(result.layers)
        default = "dblock2.0" if "dblock2.0" in result.layers else result.layers[-1]
        self.layer_combo.setCurrentIndex(result.layers.index(default))
        self.layer_combo.blockSignals(False)
        self._show_layer()
        self._update_enabled()

    @Slot()
    def _on_worker_cancelled(self) -> None:
        self.status.setText("Explain cancelled")

    @Slot()
    def _on_worker_finished(self) -> None:
        self._worker = None
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        self.explain_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setVisible(busy)
        if busy:
            self.progress_bar.setRange(0, 0)
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.result is not None
        for widget in (self.export_png_button, self.export_csv_button, self.layer_combo, self.show_combo):
            widget.setEnabled(has)

    # -- choices -----------------------------------------------------------------------------
    @property
    def layer(self) -> str:
        return self.layer_combo.currentText()

    @property
    def show_mode(self) -> str:
        return str(self.show_combo.currentData())

    def selected_channel(self) -> int | None:
        row = self.table.currentRow()
        item = self.table.item(row, 1) if row >= 0 else None
        return int(item.text()) if item is not None else None

    def _show_layer(self) -> None:
        """Fill the channel table of the chosen layer (ranked), select its best channel, draw."""
        assert self.result is not None
        scores = self.result.scores[self.layer].scores
        self.top_k.setMaximum(max(1, len(scores)))
        self.table.blockSignals(True)
        self.table.setRowCount(len(scores))
        for row, score in enumerate(scores):
            values = (str(row + 1), str(score.channel), f"{score.plausibility_iou:.3f}", f"{score.best_iou:.3f}",
                      f"{score.threshold:.2f}")
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.setCurrentCell(0, 0)
        self.table.blockSignals(False)
        self._draw_splines()
        self._refresh_map()

    def _refresh_map(self) -> None:
        """Compute the map that is shown (cached), then redraw."""
        result = self.result
        if result is None:
            return
        mode, layer = self.show_mode, self.layer
        channel = self.selected_channel() if mode == "channel" else None
        key = (layer, mode, channel if mode == "channel" else self.top_k.value() if mode == "topk" else 0)
        if key not in self._maps:
            if mode == "channel":
                self._maps[key] = result.channel_map(layer, int(channel or 0))
            elif mode == "topk":
                self._maps[key] = result.aggregate(layer, "mean", result.scores[layer].top_channels(self.top_k.value()))
            else:
                self._maps[key] = result.aggregate(layer, mode)
        self.current_map = self._maps[key]
        self._redraw()

    def _redraw(self) -> None:
        """Blend the map over the image, outline reference and activated pixels, update the live PIoU."""
        result, heat = self.result, self.current_map
        if result is None or heat is None:
            return
        threshold = self.threshold
        self.threshold_label.setText(f"{threshold:.2f}")
        self.live_piou = plausibility_iou(heat, result.reference, threshold)
        best, at = best_iou(heat, result.reference)
        what = (f"channel {self.selected_channel()}" if self.show_mode == "channel"
                else self.show_combo.currentText().lower().replace("top-k", f"top-{self.top_k.value()}"))
        self.live_label.setText(
            f"{self.layer}, {what}: Plausibility IoU {self.live_piou:.3f} at threshold {threshold:.2f} · "
            f"best IoU {best:.3f} at {at:.2f} (threshold-free) · against the "
            f"{REFERENCE_TEXT.get(result.reference_kind, result.reference_kind)}")
        self.image_item.setImage(self.rendered_image(), autoLevels=False, levels=(0, 255))
        self.view_box.autoRange(padding=0.0)

    def rendered_image(self) -> np.ndarray:
        """What the view shows: (H, W, 3) uint8 RGB (exported as the heatmap PNG)."""
        assert self.result is not None and self.current_map is not None
        picture = blend(self.result.rgb8, self.current_map, self.opacity_slider.value() / 100.0,
                        self.colormap_combo.currentText())
        if self.outlines.isChecked():
            picture[_outline(self.current_map >= np.float32(self.threshold))] = (255, 255, 255)
            picture[_outline(self.result.reference)] = (60, 220, 90)
        return picture

    def _draw_splines(self) -> None:
        """φ(x) of the strongest edges of the layer's KAN (a block shows its last KAN layer, fc3)."""
        self.splines.clear()
        result = self.result
        if result is None:
            return
        name = self.layer if self.layer in result.splines else f"{self.layer}.layer.fc3"
        edges = result.splines.get(name)
        if not edges:
            self.spline_title.setText("This model has no KAN layers here (an MLP model): no spline functions to show.")
            return
        self.spline_title.setText(f"Learned φ(x) of {name}: its {len(edges)} strongest edges "
                                  f"(solid φ, dashed w·SiLU, dotted spline)")
        for index, edge in enumerate(edges):
            plot = self.splines.addPlot(row=index // SPLINE_COLUMNS, col=index % SPLINE_COLUMNS)
            plot.setTitle(f"in {edge.input} → out {edge.output}", size="8pt")
            plot.setMenuEnabled(False)
            plot.plot(edge.x, edge.phi, pen=pg.mkPen((70, 170, 255), width=2))
            plot.plot(edge.x, edge.base, pen=pg.mkPen((255, 150, 60), width=1, style=Qt.PenStyle.DashLine))
            plot.plot(edge.x, edge.spline, pen=pg.mkPen((90, 200, 120), width=1, style=Qt.PenStyle.DotLine))

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_explain_clicked(self) -> None:
        self.explainRequested.emit()

    @Slot()
    def _on_cancel_clicked(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.status.setText("Cancelling…")

    @Slot()
    def _on_ground_truth_clicked(self) -> None:
        path = choose_open_file(self, "Ground-truth mask of the current image", "Masks (*.png *.tif *.tiff *.bmp)")
        if path:
            self.ground_truth_file = Path(path)
            self.ground_truth_button.setText(f"Ground truth: {Path(path).name}")

    @Slot(int)
    def _on_layer_changed(self, _index: int) -> None:
        if self.result is not None and self.layer:
            self._show_layer()

    @Slot(int, int, int, int)
    def _on_table_current_changed(self, row: int, _column: int, previous_row: int, _previous_column: int) -> None:
        if row < 0 or row == previous_row:
            return
        if self.show_mode != "channel":
            self.show_combo.blockSignals(True)
            self.show_combo.setCurrentIndex(0)
            self.show_combo.blockSignals(False)
        self._refresh_map()

    @Slot()
    def _on_view_option_changed(self) -> None:
        self._refresh_map()

    @Slot()
    def _on_look_changed(self) -> None:
        self._redraw()

    @Slot(int)
    def _on_threshold_changed(self, _value: int) -> None:
        self._redraw()

    @Slot()
    def _on_export_png_clicked(self) -> None:
        if self.result is None:
            return
        start = f"{Path(self.result.image_name).stem}-{self.layer}-heatmap.png"
        path = choose_save_file(self, "Export heatmap", start, "PNG image (*.png)")
        if path:
            self.export_heatmap(path)

    @Slot()
    def _on_export_csv_clicked(self) -> None:
        if self.result is None:
            return
        path = choose_save_file(self, "Export channel scores", f"{Path(self.result.image_name).stem}-piou.csv",
                                "CSV (*.csv)")
        if path:
            self.export_scores(path)

    # -- export ------------------------------------------------------------------------------
    def export_heatmap(self, path: str | Path) -> Path:
        """Save the picture shown (heatmap over the image) as a PNG."""
        target = write_png(path, self.rendered_image())
        self.status.setText(f"Saved {target.name}")
        return target

    def export_scores(self, path: str | Path) -> Path:
        """Save every layer's ranked channel scores as CSV (threshold = where best_iou was reached)."""
        assert self.result is not None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for layer_scores in self.result.scores.values():
            for s in layer_scores.scores:
                writer.writerow([s.layer, s.channel, f"{s.plausibility_iou:.6f}", f"{s.best_iou:.6f}",
                                 f"{s.threshold:g}", s.reference])
        target = atomic_write_text(path, out.getvalue())
        self.status.setText(f"Saved {target.name}")
        return target


def _outline(mask: np.ndarray) -> np.ndarray:
    """The one-pixel inner boundary of a bool mask."""
    import cv2

    m = np.asarray(mask, np.uint8)
    return (m > 0) & (cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE) == 0)
