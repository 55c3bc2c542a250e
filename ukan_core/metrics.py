"""Segmentation scores in numpy (no torch): per-image IoU/F1, the official pooled IoU, and an
accumulator that reports both the pooled and the per-image-mean numbers, clearly named.

Conventions: masks are boolean (non-zero = foreground). An image where prediction and target
are both empty scores IoU = F1 = 1.0, as the official `iou_score` does. F1 is the Dice
coefficient. The official numbers pool all pixels (of a batch); `MetricAccumulator` pools all
pixels of everything it was given, so it does not depend on batch size or order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

OFFICIAL_SMOOTH = 1e-5


def iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Intersection over union |P∩T| / |P∪T| of two masks; 1.0 when both are empty."""
    p, t = _pair(pred, target)
    inter, union = int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t))
    return 1.0 if union == 0 else inter / union


def f1(pred: np.ndarray, target: np.ndarray) -> float:
    """F1 = Dice = 2|P∩T| / (|P| + |T|) of two masks; 1.0 when both are empty."""
    p, t = _pair(pred, target)
    inter = int(np.count_nonzero(p & t))
    total = int(np.count_nonzero(p)) + int(np.count_nonzero(t))
    return 1.0 if total == 0 else 2 * inter / total


dice = f1


def pooled_iou_official(logits: Any, target: Any) -> tuple[float, float]:
    """(IoU, Dice) exactly as the official `iou_score`: sigmoid(logits) > 0.5 against target > 0.5,
    all pixels of the batch pooled, smooth 1e-5, Dice derived as 2·IoU / (1 + IoU).

    Accepts numpy arrays or torch tensors of any matching shape, e.g. (B, C, H, W).
    """
    x = _as_numpy(logits).astype(np.float32, copy=False)
    with np.errstate(over="ignore"):
        prob = np.float32(1) / (np.float32(1) + np.exp(-x))  # float32 sigmoid, as torch computes it
    p = prob > 0.5
    t = _as_numpy(target) > 0.5
    if p.shape != t.shape:
        raise ValueError(f"logits {p.shape} and target {t.shape} differ in shape")
    inter = int(np.count_nonzero(p & t))
    union = int(np.count_nonzero(p | t))
    score = (inter + OFFICIAL_SMOOTH) / (union + OFFICIAL_SMOOTH)
    return score, 2 * score / (score + 1)


@dataclass
class MetricAccumulator:
    """Collects masks one image at a time and reports pooled and per-image-mean IoU/F1.

    `iou_pooled` / `f1_pooled`: all pixels of all images pooled (the official style of number,
    without its batch dependence). `iou_mean` / `f1_mean`: mean of per-image scores (each image
    counts equally; empty/empty images score 1.0). `n`: number of images.
    """

    intersection: int = 0
    union: int = 0
    pred_pixels: int = 0
    target_pixels: int = 0
    per_image_iou: list[float] = field(default_factory=list)
    per_image_f1: list[float] = field(default_factory=list)

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Add one image's (H, W) masks, or a stack (N, H, W) of images (non-zero = foreground)."""
        p, t = _pair(pred, target)
        if p.ndim == 3:
            for pi, ti in zip(p, t):
                self._add(pi, ti)
        elif p.ndim == 2:
            self._add(p, t)
        else:
            raise ValueError(f"expected (H, W) or (N, H, W) masks, got shape {p.shape}")

    def _add(self, p: np.ndarray, t: np.ndarray) -> None:
        inter, union = int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t))
        n_p, n_t = int(np.count_nonzero(p)), int(np.count_nonzero(t))
        self.intersection += inter
        self.union += union
        self.pred_pixels += n_p
        self.target_pixels += n_t
        self.per_image_iou.append(1.0 if union == 0 else inter / union)
        self.per_image_f1.append(1.0 if n_p + n_t == 0 else 2 * inter / (n_p + n_t))

    @property
    def n(self) -> int:
        return len(self.per_image_iou)

    @property
    def iou_pooled(self) -> float:
        return 1.0 if self.union == 0 else self.intersection / self.union

    @property
    def f1_pooled(self) -> float:
        total = self.pred_pixels + self.target_pixels
        return 1.0 if total == 0 else 2 * self.intersection / total

    @property
    def iou_mean(self) -> float:
        return float(np.mean(self.per_image_iou)) if self.per_image_iou else float("nan")

    @property
    def f1_mean(self) -> float:
        return float(np.mean(self.per_image_f1)) if self.per_image_f1 else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        """{"iou_pooled", "f1_pooled", "iou_mean", "f1_mean", "n"} for reports and metadata."""
        return {"iou_pooled": self.iou_pooled, "f1_pooled": self.f1_pooled,
                "iou_mean": self.iou_mean, "f1_mean": self.f1_mean, "n": self.n}


def _pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _as_numpy(pred).astype(bool, copy=False)
    t = _as_numpy(target).astype(bool, copy=False)
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and target {t.shape} differ in shape")
    return p, t


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)
