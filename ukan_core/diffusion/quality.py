"""How close are generated images to real ones, and do generated masks fit their images?

No feature extractor is downloaded: the features come from a segmentation U-KAN that ships with
the app (by default the bundled `ukan-synthetic-us`), trained on the same kind of images. Each
image is described by the spatial mean of the last convolutional encoder stage and the mean of
the deepest KAN tokens (for ukan-s: 64 + 128 = 192 numbers), and two sets of images are compared
by the Fréchet distance between Gaussians fitted to their features, as FID does with Inception
features. The numbers are comparable only for the same extractor, image size and sample count;
report them next to the distance between two independent real sets (the floor).

For labelled pairs, `mask_agreement` segments the generated images with that model and scores
the generated masks against its masks: pairs whose mask does not outline the lesion score low.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ukan_core.inference import Segmenter, probabilities_to_mask
from ukan_core.io.images import to_rgb8
from ukan_core.metrics import MetricAccumulator
from ukan_core.preprocess import prepare

FEATURE_MODULES = ("encoder3", "norm4")   # last conv stage (B, C, H, W) and deepest tokens (B, N, C)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||μa − μb||² + Tr(Σa + Σb − 2 (Σa Σb)^½) for feature rows `a` (N, D) and `b` (M, D).

    The matrix square root uses symmetric eigendecompositions (Σa^½ Σb Σa^½ is symmetric), so it
    needs numpy only; tiny negative eigenvalues from rounding are clipped to zero.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (N, D) and (M, D) with the same D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("at least two feature rows per set are needed for a covariance")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0.0)
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.sqrt(cross).sum())
    return max(value, 0.0)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(values.clip(min=0.0))) @ vectors.T


class SegmenterFeatures:
    """Image → feature vector with a segmentation U-KAN's encoder (see the module docstring)."""

    def __init__(self, segmenter: Segmenter, batch_size: int = 32) -> None:
        self.segmenter, self.batch_size = segmenter, batch_size
        model = segmenter.model
        missing = [name for name in FEATURE_MODULES if not hasattr(model, name)]
        if missing:
            raise ValueError(f"the feature model has no {', '.join(missing)} module(s); use a U-KAN")
        self._modules = [getattr(model, name) for name in FEATURE_MODULES]

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, D) float64 features of uint8 images (grey (H, W) or RGB (H, W, 3))."""
        captured: list[torch.Tensor] = []

        def keep(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            captured.append(output.mean(dim=(2, 3)) if output.dim() == 4 else output.mean(dim=1))

        hooks = [m.register_forward_hook(keep) for m in self._modules]
        rows = []
        try:
            with torch.inference_mode():
                for start in range(0, len(images), self.batch_size):
                    captured.clear()
                    self.segmenter.model(self._batch(images[start:start + self.batch_size]))
                    rows.append(torch.cat(captured, dim=1).double().cpu().numpy())
        finally:
            for hook in hooks:
                hook.remove()
        return np.concatenate(rows)

    def _batch(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        pre = self.segmenter.preprocessing
        x = np.stack([prepare(to_rgb8(image), pre) for image in images])
        if self.segmenter.input_channels == 1:
            x = x[:, :1]
        return torch.from_numpy(np.ascontiguousarray(x)).to(self.segmenter.device)


@dataclass(frozen=True)
class MaskAgreement:
    """IoU between given masks and the segmenter's masks of the same images."""

    iou: float        # pooled over all pixels, as the official metric
    iou_mean: float   # mean of per-image IoUs
    n: int


def mask_agreement(segmenter: Segmenter, images: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> MaskAgreement:
    """Segment `images` and compare with `masks` (0/1, same sizes)."""
    if len(images) != len(masks):
        raise ValueError(f"{len(images)} images but {len(masks)} masks")
    accumulator = MetricAccumulator()
    for prob, mask in zip(segmenter.predict_batch(list(images)), masks):
        accumulator.update(probabilities_to_mask(prob) > 0, np.asarray(mask) > 0)
    return MaskAgreement(iou=accumulator.iou_pooled, iou_mean=accumulator.iou_mean, n=accumulator.n)

