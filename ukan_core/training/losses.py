"""Training losses: the official BCE + Dice for sigmoid outputs, and a CE + Dice for label maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SMOOTH = 1e-5


class BCEDiceLoss(nn.Module):
    """0.5·BCEWithLogits + (1 − mean per-sample soft Dice), as `Seg_UKAN/losses.py`.

    Soft Dice per sample = (2·Σσ(x)·y + 1e-5) / (Σσ(x) + Σy + 1e-5), summed over all channels
    and pixels of that sample. Note the official quirk: an empty target with a confident empty
    prediction still gives Dice ≈ 0, so the loss stays ≈ 1 on such images.
    `weight` (B,) weighs each sample's BCE and Dice terms (a weighted mean over the batch);
    None is the official unweighted loss, to the last bit.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        target = target.to(logits.dtype)
        n = logits.shape[0]
        prob = torch.sigmoid(logits).reshape(n, -1)
        tgt = target.reshape(n, -1)
        dice = (2.0 * (prob * tgt).sum(1) + SMOOTH) / (prob.sum(1) + tgt.sum(1) + SMOOTH)
        if weight is None:
            bce = F.binary_cross_entropy_with_logits(logits, target)
            return 0.5 * bce + (1 - dice.sum() / n)
        w = weight.to(logits.dtype).reshape(n)
        total = w.sum().clamp_min(1e-8)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").reshape(n, -1).mean(1)
        return 0.5 * (w * bce).sum() / total + (1 - (w * dice).sum() / total)


class CEDiceLoss(nn.Module):
    """Cross-entropy + (1 − mean soft Dice over foreground classes) for label maps.

    `logits` (B, K, H, W) over K classes with class 0 = background; `labels` (B, H, W) int in
    0..K-1. Dice is computed per sample and class from the softmax, smooth 1e-5, and averaged
    over samples and classes 1..K-1 (background would dominate otherwise).
    """

    def __init__(self, ce_weight: float = 0.5) -> None:
        super().__init__()
        self.ce_weight = ce_weight

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.long()
        if labels.ndim == logits.ndim:  # (B, 1, H, W) -> (B, H, W)
            labels = labels[:, 0]
        k = logits.shape[1]
        if k < 2:
            raise ValueError("CEDiceLoss needs at least 2 classes (background + one); use BCEDiceLoss")
        ce = F.cross_entropy(logits, labels)
        prob = torch.softmax(logits, dim=1).flatten(2)                     # (B, K, N)
        onehot = F.one_hot(labels, k).movedim(-1, 1).flatten(2).to(prob.dtype)
        inter = (prob * onehot).sum(2)
        dice = (2 * inter + SMOOTH) / (prob.sum(2) + onehot.sum(2) + SMOOTH)  # (B, K)
        return self.ce_weight * ce + (1 - dice[:, 1:].mean())
