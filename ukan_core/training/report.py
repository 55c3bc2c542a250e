"""How far to trust a fine-tune's before/after: per-image gains, their spread, the selection rule, plain words.

A handful of corrections is a small sample: a new version that scores better on one or two
held-out images may just have been lucky. So every held-out image is scored by the base and by
the new model, the per-image gains (new IoU − base IoU) are summarised with their range and a
bootstrap interval of their mean, and `clear_gain` keeps the new version only when the gain is
beyond that noise. `report_lines` says it in words for the window and `ukan finetune` alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_MEAN_GAIN = 0.01        # a mean IoU gain smaller than this is no gain a user would notice
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.90           # the bootstrap interval of the mean gain: its lower bound must be above 0
CHANGE = 0.005              # a per-image IoU change smaller than this counts as "about the same"
NO_CLEAR_GAIN = "no clear gain — kept the previous model"


@dataclass(frozen=True)
class GainSummary:
    """Per-image IoU before and after on the held-out corrections, and the spread of the gain.

    `low`/`high` bound the mean gain (a `CONFIDENCE` bootstrap percentile interval over images);
    `better`/`worse` count the images whose IoU rose/fell by more than `CHANGE`.
    """

    before: tuple[float, ...]
    after: tuple[float, ...]
    mean_gain: float
    min_gain: float
    max_gain: float
    low: float
    high: float
    better: int
    worse: int

    @property
    def n(self) -> int:
        return len(self.before)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for checkpoint metadata and `--json` outputs)."""
        return {"n": self.n, "before": [round(v, 4) for v in self.before], "after": [round(v, 4) for v in self.after],
                "mean_gain": self.mean_gain, "min_gain": self.min_gain, "max_gain": self.max_gain,
                "interval": [self.low, self.high], "confidence": CONFIDENCE, "better": self.better,
                "worse": self.worse}


def summarise_gains(before: Sequence[float], after: Sequence[float], *, seed: int = 0) -> GainSummary:
    """The `GainSummary` of per-image IoUs `before` and `after` (same images, same order).

    The bootstrap resamples the images with replacement (fixed seed: the same numbers give the
    same interval every time).
    """
    b = np.asarray(list(before), dtype=np.float64)
    a = np.asarray(list(after), dtype=np.float64)
    if b.shape != a.shape or b.size == 0:
        raise ValueError(f"need the same non-zero number of scores before and after, got {b.size} and {a.size}")
    gain = a - b
    rng = np.random.default_rng(seed)
    means = gain[rng.integers(0, gain.size, size=(BOOTSTRAP_RESAMPLES, gain.size))].mean(axis=1)
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return GainSummary(before=tuple(float(v) for v in b), after=tuple(float(v) for v in a),
                       mean_gain=float(gain.mean()), min_gain=float(gain.min()), max_gain=float(gain.max()),
                       low=float(low), high=float(high), better=int((gain > CHANGE).sum()),
                       worse=int((gain < -CHANGE).sum()))


def clear_gain(summary: GainSummary | None) -> bool:
    """The keep-if-better rule: a gain beyond the noise of a few held-out images.

    True when at least 2 images were held out, the mean per-image IoU gain is at least
    `MIN_MEAN_GAIN` (0.01), and the lower bound of the 90 % bootstrap interval of that mean gain
    is above 0. One image, or gains that might as well be luck, keep the previous model.
    """
    return (summary is not None and summary.n >= 2 and summary.mean_gain >= MIN_MEAN_GAIN
            and summary.low > 0.0)


THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)   # the candidate foreground thresholds a fine-tune chooses from


def score_pairs(model: Any, pairs: Sequence[Any], preprocessing: Any, device: str) -> dict[str, Any]:
    """Scores of `model` on `pairs` at network resolution: iou, iou_mean, f1, f1_mean, n and per_image_iou.

    `overlap_by_threshold` adds, for each of `THRESHOLDS`, the pooled [intersection, union] pixel
    counts, so the folds of a fine-tune can be pooled to choose the model's threshold.

    The same measurement as the validation inside training (threshold 0.5, all classes pooled
    per image), keeping each image's IoU in the order of `pairs`.
    """
    import torch
    from torch.utils.data import DataLoader

    from ukan_core.data.dataset import SegmentationDataset
    from ukan_core.device import pick_device
    from ukan_core.metrics import MetricAccumulator

    dev = pick_device(device)
    was_training = model.training
    model.to(dev).eval()
    config = model.config
    dataset = SegmentationDataset(list(pairs), preprocessing, num_classes=config.num_classes,
                                  input_channels=config.input_channels)
    acc = MetricAccumulator()
    overlap = {t: [0, 0] for t in THRESHOLDS}
    try:
        with torch.no_grad():
            for batch in DataLoader(dataset, batch_size=4):
                images, masks = (batch["image"], batch["mask"]) if isinstance(batch, dict) else (batch[0], batch[1])
                if masks.dim() == 3:
                    masks = masks.unsqueeze(1)
                prob = torch.sigmoid(model(images.to(dev)).float()).cpu().numpy()
                pred = prob > 0.5
                target = masks.cpu().numpy() > 0.5
                for t in THRESHOLDS:
                    overlap[t][0] += int(np.count_nonzero((prob > t) & target))
                    overlap[t][1] += int(np.count_nonzero((prob > t) | target))
                for p, t in zip(pred, target):
                    acc.update(p.reshape(-1, p.shape[-1]), t.reshape(-1, t.shape[-1]))
    finally:
        model.train(was_training)
        model.to("cpu")
    return {"iou": acc.iou_pooled, "iou_mean": acc.iou_mean, "f1": acc.f1_pooled, "f1_mean": acc.f1_mean,
            "n": acc.n, "per_image_iou": list(acc.per_image_iou), "overlap_by_threshold": overlap}


def choose_threshold(scores: Sequence[dict[str, Any]], min_gain: float = 0.01) -> tuple[float, dict[float, float]]:
    """The threshold with the best pooled IoU over the held-out pairs of all `scores` (the folds),
    and the pooled IoU of each candidate; 0.5 (the official rule) unless another beats it by `min_gain`."""
    pooled = {}
    for t in THRESHOLDS:
        inter = sum(s["overlap_by_threshold"][t][0] for s in scores)
        union = sum(s["overlap_by_threshold"][t][1] for s in scores)
        pooled[t] = inter / union if union else 1.0
    best = max(pooled, key=lambda t: (pooled[t], -abs(t - 0.5)))
    return (best if pooled[best] > pooled[0.5] + min_gain else 0.5), pooled


def report_lines(report: Any) -> list[str]:
    """The fine-tune's result in plain words, one sentence a line (what the window and `ukan finetune` print).

    `report` is a `FinetuneReport`; its `gains` (a `GainSummary`) carries the per-image numbers.
    """
    gains: GainSummary | None = getattr(report, "gains", None)
    lines = []
    if report.folds > 1:
        how = (f"each of the {gains.n if gains else report.n_val} corrections was checked by a model "
               f"trained without it ({report.folds} rounds)")
    else:
        how = f"{report.n_val} of the corrections were kept aside to check, {report.n_train} used to learn"
    lines.append(f"Checked on corrections the model did not learn from: {how}.")
    if gains is not None:
        lines.append(f"Mean IoU per image: {float(np.mean(gains.before)):.2f} before, "
                     f"{float(np.mean(gains.after)):.2f} after (n = {gains.n}).")
        lines.append(f"Change per image: from {gains.min_gain:+.2f} to {gains.max_gain:+.2f}; "
                     f"{gains.better} better, {gains.worse} worse, {gains.n - gains.better - gains.worse} about the same.")
        lines.append(f"The mean change is {gains.mean_gain:+.2f} "
                     f"(likely between {gains.low:+.2f} and {gains.high:+.2f}).")
    else:
        b, a = report.base_metrics, report.new_metrics
        lines.append(f"IoU {b.get('iou', float('nan')):.2f} before, {a.get('iou', float('nan')):.2f} after.")
    minutes, seconds = divmod(int(round(report.seconds)), 60)
    took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    ended = {"completed": "", "budget": " (stopped at the time limit)", "cancelled": " (cancelled)"}.get(
        str(report.stopped), "")
    lines.append(f"Training took {took}{ended}.")
    if report.selected:
        lines.append("Clear gain: the new model is now in use.")
    elif report.version is not None or report.path is not None:
        lines.append(f"{NO_CLEAR_GAIN[0].upper()}{NO_CLEAR_GAIN[1:]} (the new version is saved and can be chosen by hand).")
    else:
        lines.append("Clear gain." if clear_gain(gains) else f"{NO_CLEAR_GAIN[0].upper()}{NO_CLEAR_GAIN[1:]}.")
    return lines
