"""The view controls of the Explain panel: layer, what map to show, colours, opacity, threshold, outlines.

A small form that fits the Explain dock's default width (short combo texts, a wrapped legend);
it only reports changes, the panel decides what to recompute.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from ukan_core.explain.heatmaps import COLORMAPS

SHOW_MODES = (("Selected channel", "channel"), ("Top-k mean", "topk"), ("Mean of all", "mean"),
              ("Max of all", "max"))


class ViewControls(QWidget):
    """Emits layer_changed (another layer), map_changed (another map of it) or look_changed (same map, drawn anew)."""

    layer_changed = Signal()
    map_changed = Signal()
    look_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer_combo = QComboBox(self)
        self.layer_combo.setObjectName("explainLayer")
        self.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        self.show_combo = QComboBox(self)
        self.show_combo.setObjectName("explainShow")
        for text, mode in SHOW_MODES:
            self.show_combo.addItem(text, mode)
        self.show_combo.currentIndexChanged.connect(self._on_map_changed)
        self.top_k = QSpinBox(self)
        self.top_k.setObjectName("explainTopK")
        self.top_k.setRange(1, 512)
        self.top_k.setValue(5)
        self.top_k.setToolTip("k: how many of the best channels the top-k mean averages")
        self.top_k.valueChanged.connect(self._on_map_changed)
        self.colormap_combo = QComboBox(self)
        self.colormap_combo.setObjectName("explainColormap")
        self.colormap_combo.addItems(list(COLORMAPS))
        self.colormap_combo.currentIndexChanged.connect(self._on_look_changed)
        self.opacity_slider = self._slider("explainOpacity", 0, 100, 55)
        self.threshold_slider = self._slider("explainThreshold", 1, 100, 50)
        self.threshold_label = QLabel("0.50", self)
        self.outlines = QCheckBox("Outlines", self)
        self.outlines.setToolTip("Reference mask in green, pixels activated at the threshold in white")
        self.outlines.setChecked(True)
        self.outlines.toggled.connect(self._on_look_changed)
        legend = QLabel("green: reference mask · white: activated pixels", self)
        legend.setWordWrap(True)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Layer", self.layer_combo)
        show_row = QHBoxLayout()
        show_row.addWidget(self.show_combo, 1)
        show_row.addWidget(QLabel("k", self))
        show_row.addWidget(self.top_k)
        form.addRow("Show", show_row)
        form.addRow("Colours", self.colormap_combo)
        form.addRow("Opacity", self.opacity_slider)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold_slider, 1)
        threshold_row.addWidget(self.threshold_label)
        form.addRow("Threshold", threshold_row)
        form.addRow(self.outlines, legend)

    def _slider(self, name: str, low: int, high: int, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setObjectName(name)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.valueChanged.connect(self._on_look_changed)
        return slider

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100.0

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    @property
    def colormap(self) -> str:
        return self.colormap_combo.currentText()

    @property
    def layer(self) -> str:
        return self.layer_combo.currentText()

    @property
    def show_mode(self) -> str:
        return str(self.show_combo.currentData())

    def set_layers(self, layers: list[str], current: str) -> None:
        """Offer `layers` with `current` chosen, without emitting layer_changed."""
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(layers)
        if current in layers:
            self.layer_combo.setCurrentIndex(layers.index(current))
        self.layer_combo.blockSignals(False)

    def show_selected_channel(self) -> None:
        """Switch "Show" back to the selected channel, without emitting map_changed."""
        self.show_combo.blockSignals(True)
        self.show_combo.setCurrentIndex(0)
        self.show_combo.blockSignals(False)

    @Slot(int)
    def _on_layer_changed(self, _index: int) -> None:
        self.layer_changed.emit()

    @Slot()
    def _on_map_changed(self) -> None:
        self.map_changed.emit()

    @Slot()
    def _on_look_changed(self) -> None:
        self.threshold_label.setText(f"{self.threshold:.2f}")
        self.look_changed.emit()
