"""Explain a segmentation: capture, score every channel against a reference mask, rank, compare.

`explain_image` is the one-image story the Studio panel and `ukan explain` tell: one forward
pass, per-layer channel rankings by Plausibility IoU against the best available reference
(ground truth > corrected > the model's own prediction), heatmaps on demand. `rank_channels`
averages rankings over several images; `compare_kan_mlp` runs the same analysis on a KAN model
and its `no_kan=True` twin and puts both rankings side by side (the paper's Fig. 4).
Everything returned is plain numpy / dataclasses (no torch tensors), safe to hand from a worker
thread to a view: an `Explanation` is the one result that `ukan explain` writes to files and the
Studio's Explain panel shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ukan_core.errors import UkanError
from ukan_core.explain.activations import Activations, ImageLike, capture_activations
from ukan_core.explain.plausibility import (
    DEFAULT_THRESHOLD,
    ChannelScore,
    LayerScores,
    channel_ious,
    check_reference,
    choose_reference,
    mean_scores,
    scores_from_ious,
    threshold_ladder,
)
from ukan_core.explain.splines import EdgeFunction, kan_edge_functions, kan_layer_names
from ukan_core.io.images import to_rgb8
from ukan_core.preprocess import Preprocessing
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

if TYPE_CHECKING:
    from torch import nn

AGGREGATES = ("topk", "mean", "max")


@dataclass
class Explanation:
    """One image explained: the image, its activations, the reference mask used, per-layer rankings.

    `splines[kan_layer]` holds the strongest learned edge functions of each KANLinear inside the
    explained layers (empty unless asked for); `image_name` and `model_label` are for display.
    """

    activations: Activations
    reference: np.ndarray          # (H, W) bool
    reference_kind: str            # "ground_truth" | "corrected" | "predicted"
    scores: dict[str, LayerScores]
    image: np.ndarray | None = None     # (H, W, 3) uint8 RGB, what the model saw before preprocessing
    threshold: float = DEFAULT_THRESHOLD   # the PIoU threshold of the rankings
    splines: dict[str, list[EdgeFunction]] = field(default_factory=dict)
    image_name: str = ""
    model_label: str = ""

    @property
    def layers(self) -> list[str]:
        return list(self.scores)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.activations.image_size

    def heatmap(self, layer: str, channel: int) -> np.ndarray:
        """(H, W) float32 in [0, 1]: one channel at the image's size."""
        return self.activations.channel_map(layer, channel)

    def top_heatmaps(self, layer: str, k: int = 5) -> list[tuple[ChannelScore, np.ndarray]]:
        """The k best channels of `layer` by PIoU with their heatmaps, best first."""
        return [(s, self.heatmap(layer, s.channel)) for s in self.scores[layer].top(k)]

    def aggregate(self, layer: str, how: str = "topk", k: int = 5) -> np.ndarray:
        """(H, W) in [0, 1]: "topk" = mean of the k best channels by PIoU; "mean"/"max" over all."""
        if how not in AGGREGATES:
            raise ValueError(f"aggregate {how!r}: use one of {', '.join(AGGREGATES)}")
        if how == "topk":
            return self.activations.aggregate(layer, "mean", self.scores[layer].top_channels(max(1, k)))
        return self.activations.aggregate(layer, how)

    def edge_functions(self, layer: str) -> tuple[str, list[EdgeFunction]]:
        """(KAN layer name, its edge functions) for `layer`; a block shows its last KAN layer, fc3."""
        name = layer if layer in self.splines else f"{layer}.layer.fc3"
        return name, list(self.splines.get(name, []))


def explain_image(
    model: nn.Module,
    image: ImageLike,
    *,
    preprocessing: Preprocessing | dict[str, Any] | None = None,
    layers: Sequence[str] | None = None,
    ground_truth: np.ndarray | None = None,
    corrected: np.ndarray | None = None,
    predicted: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    mask_threshold: float = 0.5,
    spline_edges: int = 0,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
) -> Explanation:
    """Capture `layers` (default: all) for one image and rank each layer's channels by PIoU.

    The reference is `ground_truth` if given, else `corrected`, else `predicted`, else the model's
    own prediction (probability > `mask_threshold`, any class) from the same forward pass.
    `spline_edges` > 0 also keeps that many strongest edge functions of every KANLinear inside
    the explained layers (none for an MLP model).
    """
    rgb8 = to_rgb8(image)
    acts = capture_activations(model, [rgb8], preprocessing, layers, progress=progress, cancel=cancel)[0]
    own = predicted if predicted is not None else predicted_mask(acts, mask_threshold)
    reference, kind = choose_reference(ground_truth, corrected, own)
    reference = _reference_bool(reference, acts.image_size, kind)
    scores = {}
    for index, layer in enumerate(acts.layers):
        cancel.raise_if_cancelled()
        scores[layer] = score_activations(acts, layer, reference, kind, threshold)
        progress(Progress(index + 1, len(acts.layers), f"scoring {layer}"))
    splines = _edge_functions(model, acts.layers, spline_edges) if spline_edges > 0 else {}
    return Explanation(acts, reference, kind, scores, image=rgb8, threshold=float(threshold), splines=splines)


def _edge_functions(model: nn.Module, layers: Sequence[str], edges: int) -> dict[str, list[EdgeFunction]]:
    """The `edges` strongest learned functions of every KANLinear among (or inside) `layers`."""
    modules = dict(model.named_modules())
    chosen = [n for n in kan_layer_names(model) if any(n == layer or n.startswith(layer + ".") for layer in layers)]
    return {name: kan_edge_functions(modules[name], top=edges) for name in chosen}


def score_activations(acts: Activations, layer: str, reference: np.ndarray, kind: str,
                      threshold: float = DEFAULT_THRESHOLD) -> LayerScores:
    """Rank one captured layer's channels against an (H, W) reference, a chunk of channels at a time."""
    check_reference(kind)
    ladder = threshold_ladder(threshold)
    mask = _reference_bool(reference, acts.image_size, kind)
    rows = [channel_ious(chunk, mask, ladder, normalised=True) for _, chunk in acts.iter_normalised(layer)]
    return scores_from_ious(layer, kind, threshold, ladder, np.concatenate(rows))


def rank_channels(
    model: nn.Module,
    images: Sequence[ImageLike],
    masks: Sequence[np.ndarray | None] | None = None,
    *,
    kind: str = "ground_truth",
    preprocessing: Preprocessing | dict[str, Any] | None = None,
    layers: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    mask_threshold: float = 0.5,
    batch_size: int = 4,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER,
) -> dict[str, LayerScores]:
    """Per-layer channel rankings averaged over `images`.

    `masks[i]` (of reference kind `kind`) is image i's reference; None (or no `masks`) falls back
    to the model's prediction for that image, and the averaged scores then say "mixed".
    """
    check_reference(kind)
    if masks is not None and len(masks) != len(images):
        raise ValueError(f"{len(images)} images but {len(masks)} masks")
    all_acts = capture_activations(model, images, preprocessing, layers, batch_size=batch_size,
                                   progress=progress, cancel=cancel)
    per_layer: dict[str, list[LayerScores]] = {}
    for i, acts in enumerate(all_acts):
        given = masks[i] if masks is not None else None
        reference, used = (given, kind) if given is not None else (predicted_mask(acts, mask_threshold), "predicted")
        for layer in acts.layers:
            cancel.raise_if_cancelled()
            per_layer.setdefault(layer, []).append(score_activations(acts, layer, reference, used, threshold))
    return {layer: mean_scores(scores) for layer, scores in per_layer.items()}


@dataclass
class ModelComparison:
    """Channel rankings of one layer in a KAN model and in its MLP (`no_kan`) twin, side by side."""

    layer: str
    kan: LayerScores
    mlp: LayerScores

    def rows(self, k: int | None = None) -> list[dict[str, Any]]:
        """Rank by rank: {rank, kan_channel, kan_piou, kan_best_iou, mlp_channel, mlp_piou, mlp_best_iou}."""
        n = max(len(self.kan.scores), len(self.mlp.scores)) if k is None else int(k)
        rows = []
        for rank in range(n):
            row: dict[str, Any] = {"rank": rank + 1}
            for side, scores in (("kan", self.kan), ("mlp", self.mlp)):
                s = scores.scores[rank] if rank < len(scores.scores) else None
                row[f"{side}_channel"] = s.channel if s else None
                row[f"{side}_piou"] = s.plausibility_iou if s else None
                row[f"{side}_best_iou"] = s.best_iou if s else None
            rows.append(row)
        return rows

    def summary(self, k: int = 5) -> dict[str, float]:
        """Mean PIoU of the top-k channels and of all channels, for each model."""
        out = {}
        for side, scores in (("kan", self.kan), ("mlp", self.mlp)):
            values = [s.plausibility_iou for s in scores.scores]
            out[f"{side}_top{k}_piou"] = float(np.mean(values[:k])) if values else float("nan")
            out[f"{side}_mean_piou"] = float(np.mean(values)) if values else float("nan")
        return out


def compare_kan_mlp(
    kan_model: nn.Module,
    mlp_model: nn.Module,
    images: Sequence[ImageLike],
    masks: Sequence[np.ndarray | None] | None = None,
    *,
    layer: str = "dblock2.0",
    kind: str = "ground_truth",
    kan_preprocessing: Preprocessing | dict[str, Any] | None = None,
    mlp_preprocessing: Preprocessing | dict[str, Any] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    cancel: CancelToken = NEVER,
) -> ModelComparison:
    """Rank `layer`'s channels in both models on the same images and references."""
    kan = rank_channels(kan_model, images, masks, kind=kind, preprocessing=kan_preprocessing,
                        layers=[layer], threshold=threshold, cancel=cancel)
    mlp = rank_channels(mlp_model, images, masks, kind=kind, preprocessing=mlp_preprocessing,
                        layers=[layer], threshold=threshold, cancel=cancel)
    (kan_layer, kan_scores), = kan.items()
    (_, mlp_scores), = mlp.items()
    return ModelComparison(kan_layer, kan_scores, mlp_scores)


def predicted_mask(acts: Activations, threshold: float = 0.5) -> np.ndarray:
    """The model's own foreground (any class above `threshold`) from the captured pass, (H, W) bool."""
    if acts.probability is None:
        raise ValueError("these activations carry no probabilities to predict a mask from")
    return np.asarray(acts.probability > threshold).any(axis=0)


def _reference_bool(mask: np.ndarray, size: tuple[int, int], kind: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] in (3, 4):
        m = m[..., :3].max(axis=-1)
    if m.shape != tuple(size):
        raise ValueError(f"{kind.replace('_', ' ')} mask is {m.shape[1] if m.ndim > 1 else '?'}x{m.shape[0]} "
                         f"but the image is {size[1]}x{size[0]}")
    return m != 0


def read_reference(path: str | Path, size: tuple[int, int], image_name: str) -> np.ndarray:
    """A reference mask file for an image of (H, W) = `size`, as stored; a one-line UkanError if it does not fit."""
    from ukan_core.io.masks import read_mask

    file = Path(path)
    if not file.is_file():
        raise UkanError(f"{file.name}: file not found")
    mask = read_mask(file)
    if mask.shape[:2] != tuple(size):
        raise UkanError(f"{file.name}: mask is {mask.shape[1]}x{mask.shape[0]} but {image_name} is "
                        f"{size[1]}x{size[0]}")
    return mask
