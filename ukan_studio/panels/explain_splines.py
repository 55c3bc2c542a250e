"""The learned φ(x) of a layer's strongest KAN edges, as small plots two to a row.

Two columns and three explicit ticks per axis keep the tick labels apart at the Explain dock's
default width (pyqtgraph always draws its top tick level, crowded or not).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ukan_core.explain.analysis import Explanation

COLUMNS = 2
ROW_HEIGHT = 120     # pixels per row of plots


class SplinePlots(QWidget):
    """A title and a grid of φ(x) plots (solid φ, dashed w·SiLU, dotted spline)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Learned functions φ(x) of the layer's strongest edges", self)
        self.title.setWordWrap(True)
        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.setObjectName("explainSplines")
        self.plots.setMinimumHeight(ROW_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plots, 1)

    def set_background(self, color: str) -> None:
        self.plots.setBackground(color)

    def clear(self) -> None:
        self.plots.clear()
        self.title.setText("Learned functions φ(x) of the layer's strongest edges")

    def show_layer(self, explanation: Explanation, layer: str) -> None:
        """Plot the edge functions of `layer` (a block shows its last KAN layer, fc3)."""
        self.plots.clear()
        name, edges = explanation.edge_functions(layer)
        if not edges:
            self.title.setText("This model has no KAN layers here (an MLP model): no spline functions to show.")
            self.plots.setMinimumHeight(0)
            return
        self.title.setText(f"Learned φ(x) of {name}: its {len(edges)} strongest edges "
                           f"(solid φ, dashed w·SiLU, dotted spline)")
        rows = -(-len(edges) // COLUMNS)
        self.plots.setMinimumHeight(rows * ROW_HEIGHT)
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        for index, edge in enumerate(edges):
            plot = self.plots.addPlot(row=index // COLUMNS, col=index % COLUMNS)
            plot.setTitle(f"in {edge.input} → out {edge.output}", size="8pt")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.plot(edge.x, edge.phi, pen=pg.mkPen((70, 170, 255), width=2))
            plot.plot(edge.x, edge.base, pen=pg.mkPen((255, 150, 60), width=1, style=Qt.PenStyle.DashLine))
            plot.plot(edge.x, edge.spline, pen=pg.mkPen((90, 200, 120), width=1, style=Qt.PenStyle.DotLine))
            values = np.concatenate([edge.phi, edge.base, edge.spline])
            x_range, y_range = (float(edge.x.min()), float(edge.x.max())), (float(values.min()), float(values.max()))
            plot.setRange(xRange=x_range, yRange=y_range, padding=0.05)   # now, not at the first paint
            for side, (low, high) in (("bottom", x_range), ("left", y_range)):
                axis = plot.getAxis(side)
                axis.setStyle(tickFont=font)
                axis.setTicks([[(v, f"{v:g}") for v in three_ticks(low, high)]])


def three_ticks(low: float, high: float) -> list[float]:
    """At most three round values inside (low, high): multiples of a 1-2-5 step of about a quarter of the span."""
    span = high - low
    if not span > 0 or not np.isfinite(span):
        return [low] if np.isfinite(low) else []
    raw = span / 4.0
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 5.0, 10.0) if m * magnitude >= raw)
    first = np.ceil((low + 0.02 * span) / step) * step
    ticks = [float(round(v / step) * step) for v in np.arange(first, high - 0.02 * span + 1e-12, step)]
    return ticks if len(ticks) <= 3 else ticks[::2][:3]
