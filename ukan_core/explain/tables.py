"""The CSV tables of an explanation: one row per channel (`scores.csv`) and KAN vs MLP side by side.

`ukan explain` and the Studio's "Export scores CSV…" both write through `write_scores_csv`, so the
same explanation gives the same file, byte for byte. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ukan_core.atomic import atomic_write_text

if TYPE_CHECKING:
    from ukan_core.explain.analysis import Explanation, ModelComparison

SCORE_COLUMNS = ("layer", "channel", "plausibility_iou", "best_iou", "threshold", "reference")
COMPARISON_COLUMNS = ("layer", "rank", "kan_channel", "kan_piou", "kan_best_iou", "mlp_channel", "mlp_piou",
                      "mlp_best_iou", "reference")


def scores_csv(explanation: Explanation) -> str:
    """Every layer's ranked channels as CSV text; `threshold` is where the threshold-free best IoU peaked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SCORE_COLUMNS)
    for layer in explanation.layers:
        for s in explanation.scores[layer].scores:
            writer.writerow([s.layer, s.channel, f"{s.plausibility_iou:.6f}", f"{s.best_iou:.6f}",
                             f"{s.threshold:.2f}", s.reference])
    return buffer.getvalue()


def write_scores_csv(explanation: Explanation, path: str | Path) -> Path:
    """Save `scores_csv(explanation)` to `path`, atomically."""
    return atomic_write_text(path, scores_csv(explanation))


def write_comparison_csv(comparisons: Sequence[ModelComparison], reference_kind: str, path: str | Path) -> Path:
    """KAN and MLP rankings rank by rank, one block of rows per layer, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COMPARISON_COLUMNS)
    for comparison in comparisons:
        for row in comparison.rows():
            writer.writerow([comparison.layer, row["rank"]] + [
                "" if row[key] is None else (row[key] if key.endswith("channel") else f"{row[key]:.6f}")
                for key in COMPARISON_COLUMNS[2:-1]] + [reference_kind])
    return atomic_write_text(path, buffer.getvalue())
