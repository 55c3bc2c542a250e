"""How unsure the model is about each image, from its own probabilities: which images to correct first.

Two candidate scores per image, each in [0, 1], higher = less sure:

- "entropy": the mean binary entropy (in bits) of the foreground probability over the predicted
  region and a border band around it (where a mask is right or wrong), or over the whole image
  when nothing is predicted;
- "flip": disagreement under flip test-time augmentation: 1 − the mean IoU between the mask and
  the masks predicted for the horizontally and the vertically flipped image (flipped back).

`DEFAULT_SCORE` is the one that ranked images by their error best in
`tests/benchmarks/bench_uncertainty.py`. The per-pixel map (the entropy of the mean of the three
predictions, at the image's size) is for drawing on the canvas. The flips run through the
Segmenter's own `prepare`/`forward`/`restore`, so every model and preprocessing work unchanged.

    segmenter = Segmenter.from_name_or_path("ukan-synthetic-us")
    result = image_uncertainty(segmenter, read_image("scan.png"))
    result.score, result.entropy, result.flip, result.map.shape
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress

SCORES = ("entropy", "flip")
DEFAULT_SCORE = "flip"
BAND_FRACTION = 0.03   # the border band: 3 % of the network input's shorter side (at least 2 pixels)
_EPS = 1e-6


@dataclass(frozen=True)
class ImageUncertainty:
    """The candidate scores of one image, the default `score`, and an (H, W) float32 map in [0, 1]."""

    entropy: float
    flip: float
    map: np.ndarray
    score_name: str = DEFAULT_SCORE

    @property
    def score(self) -> float:
        """The score `score_name` names (the default one unless asked otherwise)."""
        return float(getattr(self, self.score_name))


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Per-pixel entropy in bits of a probability map: 0 where p is 0 or 1, 1 where p is 0.5."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return (-(p * np.log2(p) + (1 - p) * np.log2(1 - p))).astype(np.float32)


def foreground(prob: np.ndarray) -> np.ndarray:
    """(h, w) foreground probability of (C, h, w) probabilities: the most probable class's."""
    prob = np.asarray(prob)
    return prob[0] if prob.shape[0] == 1 else prob.max(axis=0)


def entropy_score(p: np.ndarray, threshold: float = 0.5) -> float:
    """Mean entropy over the predicted region and its border band (the whole image when nothing is predicted)."""
    mask = (p > threshold).astype(np.uint8)
    entropy = binary_entropy(p)
    if not mask.any():
        return float(entropy.mean())
    radius = max(2, int(round(BAND_FRACTION * min(p.shape))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    region = cv2.dilate(mask, kernel) > 0
    return float(entropy[region].mean())


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks; two empty masks agree fully (1.0)."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b) / union)


def flip_score(p: np.ndarray, flipped: Sequence[np.ndarray], threshold: float = 0.5) -> float:
    """1 − mean IoU between the mask of `p` and the masks of the flipped-back predictions."""
    mask = p > threshold
    return float(1.0 - np.mean([mask_iou(mask, q > threshold) for q in flipped]))


def flip_probabilities(segmenter: Any, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """((C, h, w) probabilities of prepared input `x`, [the same for its h- and v-flips, flipped back])."""
    batch = np.stack([x, x[:, :, ::-1], x[:, ::-1, :]]).copy()
    prob = segmenter.forward(batch)
    return prob[0], [prob[1][:, :, ::-1], prob[2][:, ::-1, :]]


def image_uncertainty(segmenter: Any, image: Any, *, score: str = DEFAULT_SCORE,
                      threshold: float = 0.5) -> ImageUncertainty:
    """The uncertainty of one image (RGB8 array, grey array or ImageData) under `segmenter`.

    Scores are measured at network resolution (as the model sees the image); the map is given
    back at the image's own size.
    """
    from ukan_core.io.images import to_rgb8

    if score not in SCORES:
        raise ValueError(f"unknown uncertainty score {score!r}; use one of {', '.join(SCORES)}")
    rgb = to_rgb8(image)
    prob, flipped = flip_probabilities(segmenter, segmenter.prepare(rgb))
    p = foreground(prob)
    others = [foreground(q) for q in flipped]
    pixel_map = binary_entropy((p + sum(others)) / (1 + len(others)))
    restored = segmenter.restore(pixel_map[None], rgb.shape[:2])[0]
    return ImageUncertainty(entropy=entropy_score(p, threshold), flip=flip_score(p, others, threshold),
                            map=np.clip(restored, 0.0, 1.0).astype(np.float32), score_name=score)


def uncertainty_scores(segmenter: Any, images: Sequence[Any], *, score: str = DEFAULT_SCORE,
                       progress: ProgressCallback = no_progress, cancel: CancelToken = NEVER) -> list[float]:
    """The `score` of each image, in order (images: arrays or ImageData)."""
    out = []
    for index, image in enumerate(images):
        cancel.raise_if_cancelled()
        out.append(image_uncertainty(segmenter, image, score=score).score)
        progress(Progress(index + 1, len(images), "measuring uncertainty"))
    return out
