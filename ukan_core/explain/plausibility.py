"""Plausibility IoU: how well one channel's activation map outlines the structure of interest.

A channel's map is min-max normalised to [0, 1]; the pixels at or above a threshold (`>=`, so a
value exactly on the threshold counts as activated) form a binary map whose IoU with a reference
mask is the channel's Plausibility IoU (PIoU). When both the activated set and the mask are empty
the IoU is defined as 1.0, the convention of the official `iou_score` and `ukan_core.metrics.iou`.

The reference is the ground truth when there is one, else the user's corrected mask, else the
model's own prediction, and every score records which it was. A threshold-free companion,
`best_iou`, is the best IoU over a fixed ladder of thresholds (0.05 … 0.95), reported with the
threshold that achieved it. Torch-free: plain numpy in and out, so a Qt worker can hand it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

REFERENCES = ("ground_truth", "corrected", "predicted")
DEFAULT_THRESHOLD = 0.5
# The threshold ladder of `best_iou`: 0.05, 0.10, ..., 0.95 (float32, the maps' own precision).
THRESHOLDS = np.round(np.arange(1, 20) * 0.05, 2).astype(np.float32)


def normalise_map(activation: np.ndarray) -> np.ndarray:
    """Min-max normalise a map to [0, 1] as float32; a constant (or all-NaN) map becomes all zeros.

    NaN and ±inf pixels are ignored for the range and set to 0, so the result is never NaN.
    """
    a = np.asarray(activation, dtype=np.float32)
    finite = np.isfinite(a)
    out = np.zeros(a.shape, np.float32)
    if not finite.any():
        return out
    values = a[finite]
    low, high = float(values.min()), float(values.max())
    if not high > low:
        return out
    # float64 arithmetic, then clip: the extremes map to exactly 0 and 1.
    out[finite] = np.clip((values.astype(np.float64) - low) / (high - low), 0.0, 1.0)
    return out


def normalise_channels(maps: np.ndarray) -> np.ndarray:
    """`normalise_map` applied to each channel of (C, H, W) maps (vectorised when all are finite)."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"expected (C, H, W) maps, got shape {maps.shape}")
    if not len(maps) or not np.isfinite(maps).all():
        return np.stack([normalise_map(m) for m in maps]) if len(maps) else maps
    low = maps.min(axis=(1, 2)).astype(np.float64)
    span = maps.max(axis=(1, 2)).astype(np.float64) - low
    out = np.zeros(maps.shape, np.float32)
    for c in np.flatnonzero(span > 0):  # the same float64 arithmetic as normalise_map
        out[c] = np.clip((maps[c].astype(np.float64) - low[c]) / span[c], 0.0, 1.0)
    return out


def plausibility_iou(activation: np.ndarray, mask: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> float:
    """IoU between `normalise_map(activation) >= threshold` and `mask != 0`; 1.0 when both are empty.

    `threshold` must lie in (0, 1]: at 0 every pixel, even of a constant map, would count as active.
    """
    _check_threshold(threshold)
    active = normalise_map(activation) >= np.float32(threshold)
    target = _mask_bool(mask, active.shape)
    inter = int(np.count_nonzero(active & target))
    union = int(np.count_nonzero(active | target))
    return 1.0 if union == 0 else inter / union


def best_iou(activation: np.ndarray, mask: np.ndarray,
             thresholds: Sequence[float] | np.ndarray = THRESHOLDS) -> tuple[float, float]:
    """(best IoU, its threshold) over `thresholds`; the lowest threshold wins a tie."""
    norm = normalise_map(activation)
    scores = channel_ious(norm[None], _mask_bool(mask, norm.shape), thresholds, normalised=True)[0]
    best = int(np.argmax(scores))
    return float(scores[best]), round(float(np.asarray(thresholds, np.float32)[best]), 4)


def channel_ious(maps: np.ndarray, mask: np.ndarray, thresholds: Sequence[float] | np.ndarray,
                 *, normalised: bool = False) -> np.ndarray:
    """IoU of every channel of (C, H, W) maps with `mask` at every threshold -> (C, T) float64.

    One histogram pass per channel serves all thresholds: a pixel is active at threshold t_j
    exactly when its value >= t_j, the same comparison as `plausibility_iou`.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"expected (C, H, W) maps, got shape {maps.shape}")
    t = np.asarray(thresholds, dtype=np.float32)
    if t.ndim != 1 or not len(t) or np.any(np.diff(t) <= 0):
        raise ValueError("thresholds must be a non-empty increasing sequence")
    for value in (t[0], t[-1]):
        _check_threshold(float(value))
    target = _mask_bool(mask, maps.shape[1:]).ravel()
    n_target = int(np.count_nonzero(target))
    out = np.empty((len(maps), len(t)), np.float64)
    bins = np.empty(target.shape, np.uint8 if len(t) < 255 else np.int64)
    at_least = np.empty(target.shape, bool)
    for c, channel in enumerate(maps):
        norm = (channel if normalised else normalise_map(channel)).ravel().astype(np.float32, copy=False)
        # bin b = number of thresholds <= value; active at threshold j <=> b >= j + 1
        # (a comparison per threshold: several times faster than searchsorted here)
        bins.fill(0)
        for value in t:
            np.greater_equal(norm, value, out=at_least)
            bins += at_least
        all_counts = np.bincount(bins, minlength=len(t) + 1)
        hit_counts = np.bincount(bins[target], minlength=len(t) + 1)
        active = np.cumsum(all_counts[::-1])[::-1][1:]  # active[j] = sum of counts of bins >= j + 1
        inter = np.cumsum(hit_counts[::-1])[::-1][1:]
        union = active + n_target - inter
        out[c] = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return out


@dataclass(frozen=True)
class ChannelScore:
    """One channel's scores: PIoU at the layer's threshold and the threshold-free best IoU."""

    layer: str
    channel: int
    plausibility_iou: float
    best_iou: float
    threshold: float      # the threshold at which best_iou was reached (NOT the PIoU threshold)
    reference: str        # "ground_truth" | "corrected" | "predicted"


@dataclass
class LayerScores:
    """Per-channel scores of one layer, best PIoU first (ties: best_iou, then channel number).

    `curves[c, j]` is channel c's IoU at `THRESHOLDS[j]` (rows by channel number, not by rank);
    averaging curves is how `mean_scores` keeps `best_iou` threshold-free over several images.
    """

    layer: str
    reference: str
    piou_threshold: float
    scores: list[ChannelScore] = field(default_factory=list)
    curves: np.ndarray = field(default_factory=lambda: np.zeros((0, len(THRESHOLDS))))
    images: int = 1        # how many images the scores average over

    def top(self, k: int) -> list[ChannelScore]:
        """The k best-ranked channels."""
        return self.scores[: max(0, int(k))]

    def top_channels(self, k: int) -> list[int]:
        """Channel numbers of the k best-ranked channels."""
        return [s.channel for s in self.top(k)]

    def by_channel(self) -> dict[int, ChannelScore]:
        return {s.channel: s for s in self.scores}

    def piou_by_channel(self) -> np.ndarray:
        """PIoU per channel number, (C,) float64."""
        out = np.zeros(len(self.scores), np.float64)
        for s in self.scores:
            out[s.channel] = s.plausibility_iou
        return out

    def rank_of(self, channel: int) -> int:
        """1-based rank of `channel`."""
        for rank, s in enumerate(self.scores, start=1):
            if s.channel == channel:
                return rank
        raise KeyError(f"channel {channel} is not in layer {self.layer}")


def score_layer(layer: str, maps: np.ndarray, mask: np.ndarray, reference: str,
                threshold: float = DEFAULT_THRESHOLD, *, normalised: bool = False) -> LayerScores:
    """Rank the channels of one layer's (C, H, W) maps (at the mask's size) by PIoU against `mask`."""
    ladder = threshold_ladder(threshold)
    return scores_from_ious(layer, reference, threshold, ladder,
                            channel_ious(maps, mask, ladder, normalised=normalised))


def threshold_ladder(threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """`THRESHOLDS` plus the PIoU threshold: one `channel_ious` pass then gives both scores."""
    _check_threshold(threshold)
    return np.union1d(THRESHOLDS, np.float32([threshold])).astype(np.float32)


def scores_from_ious(layer: str, reference: str, threshold: float, ladder: np.ndarray,
                     ious: np.ndarray) -> LayerScores:
    """LayerScores from `channel_ious` rows computed on `threshold_ladder(threshold)`.

    Lets callers compute the IoUs chunk by chunk (bounded memory at large images)."""
    check_reference(reference)
    ladder = np.asarray(ladder, np.float32)
    at = np.flatnonzero(ladder == np.float32(threshold))
    if ious.ndim != 2 or ious.shape[1] != len(ladder) or not len(at):
        raise ValueError("ious must be (C, len(ladder)) on a ladder that holds the threshold")
    curves = ious[:, np.isin(ladder, THRESHOLDS)]
    return _layer_scores(layer, reference, float(threshold), ious[:, int(at[0])], curves, images=1)


def mean_scores(per_image: Sequence[LayerScores]) -> LayerScores:
    """Average one layer's scores over several images and rank again.

    PIoU is the mean PIoU; `best_iou` is the best over thresholds of the mean IoU curve, so one
    threshold serves all images. The reference is the common one, or "mixed".
    """
    if not per_image:
        raise ValueError("mean_scores needs at least one LayerScores")
    first = per_image[0]
    if any(s.layer != first.layer or s.curves.shape != first.curves.shape for s in per_image):
        raise ValueError("mean_scores: all scores must be of the same layer")
    refs = {s.reference for s in per_image}
    reference = refs.pop() if len(refs) == 1 else "mixed"
    piou = np.mean([s.piou_by_channel() for s in per_image], axis=0)
    curves = np.mean([s.curves for s in per_image], axis=0)
    return _layer_scores(first.layer, reference, first.piou_threshold, piou, curves,
                         images=sum(s.images for s in per_image))


def _layer_scores(layer: str, reference: str, threshold: float, piou: np.ndarray, curves: np.ndarray,
                  images: int) -> LayerScores:
    best = np.argmax(curves, axis=1) if len(curves) else np.zeros(0, int)  # first (lowest) on ties
    scores = [ChannelScore(layer, c, float(piou[c]), float(curves[c, best[c]]), round(float(THRESHOLDS[best[c]]), 4),
                           reference) for c in range(len(piou))]
    return LayerScores(layer, reference, threshold, _ranked(scores), curves, images)


def choose_reference(ground_truth: np.ndarray | None = None, corrected: np.ndarray | None = None,
                     predicted: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """(mask, kind): the ground truth if given, else the corrected mask, else the prediction."""
    for mask, kind in ((ground_truth, "ground_truth"), (corrected, "corrected"), (predicted, "predicted")):
        if mask is not None:
            return np.asarray(mask), kind
    raise ValueError("no reference mask: give a ground-truth, corrected or predicted mask")


def check_reference(reference: str) -> None:
    if reference not in REFERENCES and reference != "mixed":
        raise ValueError(f"reference {reference!r}: use one of {', '.join(REFERENCES)}")


def _ranked(scores: list[ChannelScore]) -> list[ChannelScore]:
    return sorted(scores, key=lambda s: (-s.plausibility_iou, -s.best_iou, s.channel))


def _check_threshold(threshold: float) -> None:
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold {threshold!r}: must be in (0, 1]")


def _mask_bool(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] in (3, 4):  # an RGB(A) mask: any coloured pixel is foreground
        m = m[..., :3].max(axis=-1)
    if m.shape != tuple(shape):
        raise ValueError(f"mask of shape {m.shape} does not match the activation map {tuple(shape)}")
    return m != 0
