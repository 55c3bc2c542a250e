"""Explainability for U-KAN: which tokenized-KAN channels outline the lesion, and what the KANs learned.

- `activations`: one forward pass with hooks on every KAN layer (`<block>.0.layer.fc1..3`) and
  token block (`block1.0`, `block2.0`, `dblock1.0`, `dblock2.0`); maps kept at token resolution.
- `plausibility`: Plausibility IoU of a normalised channel map against a reference mask, the
  threshold-free `best_iou`, per-layer rankings.
- `analysis`: `explain_image` -> `Explanation` (the one result the CLI and the Studio share),
  `rank_channels` (over many images), `compare_kan_mlp` (Fig. 4).
- `upsample`: token-grid maps to the image's size, bilinear in numpy (no torch needed to draw).
- `tables`: the scores / comparison CSV files.
- `splines`: the learned φ(x) of the most influential KANLinear edges, and a PNG plot of them.
- `heatmaps`: colour a map and blend it over its image.

Plain numpy out, progress/cancel in: a Qt worker can call any of it. matplotlib is imported only
when a plot is drawn.
"""

from __future__ import annotations

from ukan_core.explain.activations import (
    ActivationRecorder,
    Activations,
    capture_activations,
    layer_names,
    resolve_layer,
)
from ukan_core.explain.analysis import (
    Explanation,
    ModelComparison,
    compare_kan_mlp,
    explain_image,
    predicted_mask,
    rank_channels,
    read_reference,
    score_activations,
)
from ukan_core.explain.heatmaps import blend, colorize, write_png
from ukan_core.explain.plausibility import (
    REFERENCES,
    THRESHOLDS,
    ChannelScore,
    LayerScores,
    best_iou,
    choose_reference,
    mean_scores,
    normalise_map,
    plausibility_iou,
    score_layer,
)
from ukan_core.explain.splines import (
    EdgeFunction,
    edge_function,
    kan_edge_functions,
    kan_layer_names,
    plot_edge_functions,
)
from ukan_core.explain.tables import (
    COMPARISON_COLUMNS,
    SCORE_COLUMNS,
    scores_csv,
    write_comparison_csv,
    write_scores_csv,
)
from ukan_core.explain.upsample import to_image_size

__all__ = [
    "ActivationRecorder", "Activations", "COMPARISON_COLUMNS", "ChannelScore", "EdgeFunction", "Explanation",
    "LayerScores", "ModelComparison", "REFERENCES", "SCORE_COLUMNS", "THRESHOLDS", "best_iou", "blend",
    "capture_activations", "choose_reference", "colorize", "compare_kan_mlp", "edge_function", "explain_image",
    "kan_edge_functions", "kan_layer_names", "layer_names", "mean_scores", "normalise_map",
    "plausibility_iou", "plot_edge_functions", "predicted_mask", "rank_channels", "read_reference",
    "resolve_layer", "score_activations", "score_layer", "scores_csv", "to_image_size", "write_comparison_csv",
    "write_png", "write_scores_csv",
]
