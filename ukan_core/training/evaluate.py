"""Score a segmentation model on labelled pairs: IoU and F1 (Dice), pooled as the official and per image.

The official `iou_score` pools every pixel of a batch (P = sigmoid(logits) > 0.5, T = target > 0.5).
"iou"/"f1" here pool every pixel of the whole set (`MetricAccumulator`, independent of the batch
size); "iou_mean"/"f1_mean" average per-image scores, counting an image whose mask and
prediction are both empty as 1. With several classes, an image's channels pool together.
`validation_metrics` scores at network resolution (as the official validation); `evaluate`
scores full-size predictions against the mask files (what a user sees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ukan_core.errors import DatasetError
from ukan_core.metrics import MetricAccumulator, f1, iou
from ukan_core.progress import NEVER, CancelToken, Progress, ProgressCallback, no_progress


def _image_masks(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One image's (C, H, W) boolean masks as a single (C*H, W) mask, so all classes pool together."""
    p = pred.numpy() if isinstance(pred, torch.Tensor) else np.asarray(pred)
    t = target.numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
    return p.reshape(-1, p.shape[-1]), t.reshape(-1, t.shape[-1])


def summary(acc: MetricAccumulator) -> dict[str, float]:
    """iou/f1 pooled over all pixels (the official style), iou_mean/f1_mean over images, n."""
    return {"iou": acc.iou_pooled, "iou_mean": acc.iou_mean, "f1": acc.f1_pooled,
            "f1_mean": acc.f1_mean, "n": acc.n}


@torch.no_grad()
def validation_metrics(model: nn.Module, loader: Any, device: torch.device, threshold: float = 0.5) -> dict[str, float]:
    """Scores of `model` on a loader of preprocessed (image, mask) batches at network resolution.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    acc = MetricAccumulator()
    try:
        for batch in loader:
            images, masks = (batch["image"], batch["mask"]) if isinstance(batch, dict) else (batch[0], batch[1])
            if masks.dim() == 3:
                masks = masks.unsqueeze(1)
            logits = model(images.to(device)).float()
            pred = (torch.sigmoid(logits) > threshold).cpu()
            target = masks.cpu() > 0.5
            for i in range(pred.shape[0]):
                acc.update(*_image_masks(pred[i], target[i]))
    finally:
        model.train(was_training)
    return summary(acc)


@dataclass
class EvalRow:
    """One image's scores."""

    id: str
    image: str
    iou: float
    f1: float


@dataclass
class EvalReport:
    """Per-image rows and the set's scores (see the module docstring for pooled vs mean)."""

    rows: list[EvalRow]
    iou: float
    iou_mean: float
    f1: float
    f1_mean: float
    n: int
    threshold: float = 0.5
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the rows)."""
        return {"iou": self.iou, "iou_mean": self.iou_mean, "f1": self.f1, "f1_mean": self.f1_mean,
                "n": self.n, "threshold": self.threshold, "model": self.model}


def _segmenter(model_or_path: Any, info: dict[str, Any] | None, device: str | torch.device) -> Any:
    from ukan_core.inference import Segmenter

    if isinstance(model_or_path, Segmenter):
        return model_or_path
    if isinstance(model_or_path, (str, Path)):
        return Segmenter.from_name_or_path(model_or_path, device=device)
    if isinstance(model_or_path, nn.Module):
        return Segmenter(model_or_path, info or {}, device=device)
    raise TypeError(f"evaluate: expected a model, a Segmenter, a name or a path, got {type(model_or_path).__name__}")


def target_channels(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """Boolean targets (C, H, W) from a label mask: foreground for one class, label k+1 for channel k."""
    if num_classes == 1:
        return (mask > 0)[None]
    return np.stack([mask == k + 1 for k in range(num_classes)])


def evaluate(
    model_or_path: Any,
    pairs: Sequence[Any],
    *,
    device: str | torch.device = "auto",
    threshold: float | None = None,
    info: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> EvalReport:
    """Segment every pair's image at full size and score it against its mask file.

    `model_or_path` is a model name, a checkpoint path, a Segmenter, or an nn.Module with its
    checkpoint `info` (for the preprocessing). `threshold` None: the model's own (`Segmenter.threshold`).
    Raises DatasetError when there is no pair or a
    mask does not match its image's size (as `load_pair`).
    """
    from ukan_core.data.folders import load_pair

    progress = progress or no_progress
    cancel = cancel or NEVER
    if not pairs:
        raise DatasetError("evaluate: no labelled pairs")
    segmenter = _segmenter(model_or_path, info, device)
    threshold = float(getattr(segmenter, "threshold", 0.5)) if threshold is None else threshold
    acc = MetricAccumulator()
    rows: list[EvalRow] = []
    for i, pair in enumerate(pairs):
        cancel.raise_if_cancelled()
        image, label = load_pair(pair)  # RGB uint8, labels 0 / k+1; DatasetError on a size mismatch
        prob = segmenter.predict(image)
        pred, target = _image_masks(prob > threshold, target_channels(label, prob.shape[0]))
        acc.update(pred, target)
        rows.append(EvalRow(id=str(pair.id), image=str(pair.image), iou=iou(pred, target), f1=f1(pred, target)))
        progress(Progress(i + 1, len(pairs), f"scored {Path(pair.image).name}"))
    scores = summary(acc)
    name = str(model_or_path) if isinstance(model_or_path, (str, Path)) else (info or {}).get("name", "")
    return EvalReport(rows=rows, iou=scores["iou"], iou_mean=scores["iou_mean"], f1=scores["f1"],
                      f1_mean=scores["f1_mean"], n=int(scores["n"]), threshold=threshold, model=str(name))
