"""Explain: which KAN channels outline the lesion (Plausibility IoU), and what the KANs learned.

The panel asks for an explanation (`explain_requested`; the explain controller builds the request with
`make_request` and starts an ExplainWorker it `attach`es here) and then works on the core's
`Explanation` alone: layer and channel pickers, a threshold slider whose PIoU is recomputed live
with `ukan_core.explain.plausibility_iou`, aggregates, the ranking table, the learned spline
functions of the layer, and PNG / CSV export. The heatmap itself is drawn on the main canvas:
`heatmap_changed` carries a HeatmapOverlay while "Show heatmap on image" is on, and None when it
goes off or the current image changes (which also clears the results). It never imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ukan_core.annotation.keys import display_item
from ukan_core.explain.analysis import Explanation
from ukan_core.explain.heatmaps import write_png
from ukan_core.explain.plausibility import best_iou, plausibility_iou
from ukan_core.explain.tables import write_scores_csv
from ukan_core.progress import Progress
from ukan_studio.panels.explain_controls import ViewControls
from ukan_studio.panels.explain_heatmap import heatmap_overlay, heatmap_picture
from ukan_studio.panels.explain_splines import SplinePlots
from ukan_studio.panels.explain_table import ChannelTable
from ukan_studio.progress_bar import show_progress_on
from ukan_studio.job_data import ExplainRequest

REFERENCE_TEXT = {"ground_truth": "ground-truth mask", "corrected": "corrected mask",
                  "predicted": "model's own prediction"}
INTRO = ("Explain shows which KAN channels outline the structure, scored by Plausibility IoU against the best "
         "mask available. The heatmap is drawn on the image.")


def choose_save_file(parent: QWidget, title: str, start: str, filter_text: str) -> str:
    """Ask where to save (tests replace this function)."""
    return QFileDialog.getSaveFileName(parent, title, start, filter_text)[0]


def choose_open_file(parent: QWidget, title: str, filter_text: str) -> str:
    """Ask for a file to read (tests replace this function)."""
    return QFileDialog.getOpenFileName(parent, title, "", filter_text)[0]


class ExplainPanel(QWidget):
    """Shows an Explanation; emits explain_requested when the user asks for a new one."""

    explain_requested = Signal()
    heatmap_changed = Signal(object)      # HeatmapOverlay for the main canvas, or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainPanel")
        self.result: Explanation | None = None
        self.current_map: np.ndarray | None = None
        self.live_piou: float | None = None
        self.ground_truth_file: Path | None = None
        self._image: str | None = None     # how the current image is named (display_item), once the window has said
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
        self.on_image_button = QPushButton("Show heatmap on image", self)
        self.on_image_button.setObjectName("explainOnImage")
        self.on_image_button.setCheckable(True)
        self.on_image_button.setStyleSheet("QPushButton:checked { background: palette(highlight); "
                                           "color: palette(highlighted-text); }")
        self.on_image_button.setToolTip("Draw the heatmap and its outlines over the image; off shows the mask again")
        self.on_image_button.toggled.connect(self._on_on_image_toggled)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setVisible(False)
        self.status = QLabel(INTRO, self)
        self.status.setWordWrap(True)
        self.controls = ViewControls(self)
        self.controls.layer_changed.connect(self._on_layer_changed)
        self.controls.map_changed.connect(self._on_view_option_changed)
        self.controls.look_changed.connect(self._on_look_changed)
        c = self.controls   # its widgets, under the names a reader of the panel expects
        self.layer_combo, self.show_combo, self.top_k = c.layer_combo, c.show_combo, c.top_k
        self.colormap_combo, self.opacity_slider, self.outlines = c.colormap_combo, c.opacity_slider, c.outlines
        self.threshold_slider, self.threshold_label = c.threshold_slider, c.threshold_label
        self.live_label = QLabel("", self)
        self.live_label.setObjectName("explainLiveScore")
        self.live_label.setWordWrap(True)
        self.table = ChannelTable(self)
        self.table.currentCellChanged.connect(self._on_table_current_changed)
        self.spline_view = SplinePlots(self)
        self.splines, self.spline_title = self.spline_view.plots, self.spline_view.title
        self.export_png_button = QPushButton("Export PNG…", self)
        self.export_png_button.setToolTip("Export the heatmap over the image as a PNG")
        self.export_png_button.clicked.connect(self._on_export_png_clicked)
        self.export_csv_button = QPushButton("Export CSV…", self)
        self.export_csv_button.setToolTip("Export every layer's channel scores as CSV (the same file as ukan explain)")
        self.export_csv_button.clicked.connect(self._on_export_csv_clicked)
        self._lay_out()

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.explain_button, 1)
        top.addWidget(self.cancel_button)
        exports = QHBoxLayout()
        exports.addWidget(self.export_png_button, 1)
        exports.addWidget(self.export_csv_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.ground_truth_button)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.on_image_button)
        layout.addWidget(self.controls)
        layout.addWidget(self.live_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.spline_view)
        layout.addLayout(exports)

    def set_theme(self, theme: str) -> None:
        """Plot backgrounds that suit the light or dark window."""
        self.spline_view.set_background("#14161a" if theme == "dark" else "#ffffff")

    # -- requests and workers ----------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self.controls.threshold

    def make_request(self, model: str, image: str | Path, reference: np.ndarray | None = None,
                     reference_kind: str | None = None, device: str = "auto", *, frame: int = 0,
                     name: str | None = None) -> ExplainRequest:
        """The request for frame `frame` of `image`; a ground-truth file chosen in the panel wins over `reference`."""
        if self.ground_truth_file is not None:
            reference, reference_kind = self.ground_truth_file, "ground_truth"
        return ExplainRequest(model=model, image=Path(image), reference=reference,
                              reference_kind=reference_kind if reference is not None else None,
                              threshold=self.threshold, device=device, frame=frame, name=name)

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
        """Forget the ground-truth file chosen for the previous image."""
        self.ground_truth_file = None
        self.ground_truth_button.setText("Ground truth…")
        self.ground_truth_button.setToolTip("Score against a ground-truth mask file of the current image "
                                            "instead of its corrected or predicted mask")

    @Slot(str)
    def image_changed(self, name: str) -> None:
        """Another image is current: its explanation is not this one, so clear (and stop) what was shown."""
        self._image = display_item(name) if name else None   # as the request names it (`cine.dcm [frame 2]`)
        self.clear_ground_truth()
        if self._worker is not None:
            self._worker.cancel()
        self.clear_result()

    def clear_result(self) -> None:
        """Show no explanation (and take the heatmap off the image)."""
        had = self.result is not None
        self.result, self.current_map, self.live_piou = None, None, None
        self._maps.clear()
        self.table.clear_scores()
        self.spline_view.clear()
        self.controls.set_layers([], "")
        self.live_label.setText("")
        self.on_image_button.blockSignals(True)
        self.on_image_button.setChecked(False)
        self.on_image_button.blockSignals(False)
        if had and self._worker is None:
            self.status.setText(INTRO)
        self.heatmap_changed.emit(None)
        self._update_enabled()

    @Slot(object)
    def show_progress(self, progress: Progress) -> None:
        show_progress_on(self.progress_bar, progress)
        if progress.message:
            self.status.setText(progress.message)

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.status.setText(message)

    @Slot(object)
    def show_result(self, result: Explanation) -> None:
        """Take a new explanation: fill the layer picker, show its best channel on the image."""
        if self._image is not None and result.image_name != self._image:
            self.status.setText(f"The explanation of {result.image_name} was dropped: {self._image} is shown now")
            return
        self.result = result
        self._maps.clear()
        reference = REFERENCE_TEXT.get(result.reference_kind, result.reference_kind)
        self.status.setText(f"{result.image_name} with {result.model_label}: channels ranked by PIoU at "
                            f"{result.threshold:.2f} against the {reference}")
        self.table.set_piou_threshold(result.threshold)
        self.controls.set_layers(result.layers, "dblock2.0" if "dblock2.0" in result.layers else result.layers[-1])
        self._update_enabled()
        self.on_image_button.blockSignals(True)
        self.on_image_button.setChecked(True)
        self.on_image_button.blockSignals(False)
        self._show_layer()

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
        for widget in (self.export_png_button, self.export_csv_button, self.layer_combo, self.show_combo,
                       self.on_image_button):
            widget.setEnabled(has)

    # -- choices -----------------------------------------------------------------------------
    @property
    def layer(self) -> str:
        return self.controls.layer

    @property
    def show_mode(self) -> str:
        return self.controls.show_mode

    def selected_channel(self) -> int | None:
        return self.table.selected_channel()

    def _show_layer(self) -> None:
        """Fill the channel table of the chosen layer (ranked), select its best channel, draw."""
        assert self.result is not None
        scores = self.result.scores[self.layer].scores
        self.top_k.setMaximum(max(1, len(scores)))
        self.table.show_scores(scores)
        self.spline_view.show_layer(self.result, self.layer)
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
                self._maps[key] = result.heatmap(layer, int(channel or 0))
            else:
                self._maps[key] = result.aggregate(layer, mode, self.top_k.value())
        self.current_map = self._maps[key]
        self._redraw()

    def _redraw(self) -> None:
        """Update the live PIoU and the heatmap on the image (outlining reference and activated pixels)."""
        result, heat = self.result, self.current_map
        if result is None or heat is None:
            return
        threshold = self.threshold
        self.live_piou = plausibility_iou(heat, result.reference, threshold)
        best, at = best_iou(heat, result.reference)
        k = self.top_k.value()
        what = {"channel": f"channel {self.selected_channel()}", "topk": f"mean of the top-{k} channels",
                "mean": "mean of all channels", "max": "max of all channels"}[self.show_mode]
        self.live_label.setText(
            f"{self.layer}, {what}: Plausibility IoU {self.live_piou:.3f} at threshold {threshold:.2f} · "
            f"best IoU {best:.3f} at {at:.2f} (threshold-free) · against the "
            f"{REFERENCE_TEXT.get(result.reference_kind, result.reference_kind)}")
        self._emit_heatmap()

    def _emit_heatmap(self) -> None:
        if self.result is None or self.current_map is None or not self.on_image_button.isChecked():
            self.heatmap_changed.emit(None)
            return
        c = self.controls
        self.heatmap_changed.emit(heatmap_overlay(self.current_map, self.result.reference, c.threshold, c.opacity,
                                                 c.colormap, self.outlines.isChecked()))

    def rendered_image(self) -> np.ndarray:
        """The heatmap blended over the image with its outlines: (H, W, 3) uint8 RGB (exported as PNG)."""
        assert self.result is not None and self.result.image is not None and self.current_map is not None
        c = self.controls
        return heatmap_picture(self.result.image, self.current_map, self.result.reference, c.threshold, c.opacity,
                               c.colormap, self.outlines.isChecked())

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_explain_clicked(self) -> None:
        self.explain_requested.emit()

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
            metrics = self.ground_truth_button.fontMetrics()
            name = metrics.elidedText(Path(path).name, Qt.TextElideMode.ElideMiddle, 180)
            self.ground_truth_button.setText(f"Ground truth: {name}")
            self.ground_truth_button.setToolTip(str(path))

    @Slot(bool)
    def _on_on_image_toggled(self, _checked: bool) -> None:
        self._emit_heatmap()

    @Slot()
    def _on_layer_changed(self) -> None:
        if self.result is not None and self.layer:
            self._show_layer()

    @Slot(int, int, int, int)
    def _on_table_current_changed(self, row: int, _column: int, previous_row: int, _previous_column: int) -> None:
        if row < 0 or row == previous_row:
            return
        if self.show_mode != "channel":
            self.controls.show_selected_channel()
        self._refresh_map()

    @Slot()
    def _on_view_option_changed(self) -> None:
        self._refresh_map()

    @Slot()
    def _on_look_changed(self) -> None:
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
        """Save the heatmap over the image (with its outlines) as a PNG."""
        target = write_png(path, self.rendered_image())
        self.status.setText(f"Saved {target.name}")
        return target

    def export_scores(self, path: str | Path) -> Path:
        """Save every layer's ranked channel scores as CSV: the same file `ukan explain` writes."""
        assert self.result is not None
        target = write_scores_csv(self.result, path)
        self.status.setText(f"Saved {target.name}")
        return target
