"""Explain one image with a U-KAN, off the GUI thread: channel maps, PIoU rankings, spline functions.

The worker hands the Explain panel an `ExplainResult` of plain numpy: each layer's channel maps
at token resolution (a few kB per channel, whatever the image size), the per-channel min/max of
the maps at image size, the reference mask and the rankings. The panel then upsamples the one
map it shows (bilinear, exactly as `ukan_core.explain` does with torch) and recomputes the PIoU
live with `ukan_core.explain.plausibility_iou`, in the GUI thread, without torch. The rankings
are scored here on the same numpy upsampling, so a table value and the live value agree.
Importing this module never imports torch; run() does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.explain.plausibility import (
    DEFAULT_THRESHOLD,
    LayerScores,
    channel_ious,
    normalise_map,
    scores_from_ious,
    threshold_ladder,
)
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, limit_torch_threads

REFERENCE_KINDS = ("ground_truth", "corrected", "predicted")
SPLINE_EDGES = 8           # learned functions shown per KAN layer
PIXEL_BUDGET = 8_000_000   # float32 pixels upsampled at once (32 MB)


@dataclass(frozen=True)
class ExplainRequest:
    """What to explain: `reference` is a mask array, a mask file, or None (the model's own prediction)."""

    model: str
    image: Path
    reference: np.ndarray | Path | None = None
    reference_kind: str | None = None    # "ground_truth" | "corrected" | "predicted"
    threshold: float = DEFAULT_THRESHOLD
    device: str = "auto"


@dataclass
class ExplainResult:
    """One explained image, ready for the panel; every array is numpy."""

    image_name: str
    model_label: str
    rgb8: np.ndarray                      # (H, W, 3) uint8, what the model saw before preprocessing
    reference: np.ndarray                 # (H, W) bool
    reference_kind: str
    threshold: float                      # the PIoU threshold of the rankings
    maps: dict[str, np.ndarray]           # layer -> (C, h, w) float32 at token resolution
    lows: dict[str, np.ndarray]           # layer -> (C,) min of each channel at image size
    highs: dict[str, np.ndarray]          # layer -> (C,) max of each channel at image size
    scores: dict[str, LayerScores]
    network_size: tuple[int, int]
    fit: str                              # "resize" | "pad"
    splines: dict[str, list[Any]] = field(default_factory=dict)   # KAN layer -> [EdgeFunction]

    @property
    def layers(self) -> list[str]:
        return list(self.maps)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.rgb8.shape[0]), int(self.rgb8.shape[1])

    def channel_map(self, layer: str, channel: int) -> np.ndarray:
        """One channel at the image's size, min-max normalised to [0, 1], (H, W) float32."""
        up = upsample_maps(self.maps[layer][channel:channel + 1], self.image_size, self.network_size, self.fit)
        return normalise_map(up[0])

    def aggregate(self, layer: str, how: str = "mean", channels: list[int] | None = None) -> np.ndarray:
        """Mean or max of the normalised maps of `channels` (default all), normalised again, (H, W).

        The mean needs one upsampling: upsampling is linear and keeps constants, so the mean of the
        normalised upsampled maps is the upsampled mean of (map - low) / (high - low).
        """
        maps = self.maps[layer]
        chosen = np.arange(len(maps)) if channels is None else np.asarray(channels, np.int64)
        if how == "mean":
            span = self.highs[layer][chosen] - self.lows[layer][chosen]
            scale = np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 0.0)
            token = ((maps[chosen] - self.lows[layer][chosen, None, None]) * scale[:, None, None]).mean(axis=0)
            return normalise_map(upsample_maps(token[None].astype(np.float32), self.image_size,
                                               self.network_size, self.fit)[0])
        if how != "max":
            raise ValueError(f"aggregate {how!r}: use 'mean' or 'max'")
        total = np.zeros(self.image_size, np.float32)
        step = self._chunk()
        for start in range(0, len(chosen), step):
            part = upsample_maps(maps[chosen[start:start + step]], self.image_size, self.network_size, self.fit)
            for channel in part:
                np.maximum(total, normalise_map(channel), out=total)
        return normalise_map(total)

    def _chunk(self) -> int:
        h, w = self.image_size
        return max(1, PIXEL_BUDGET // max(1, h * w))


def upsample_maps(maps: np.ndarray, image_size: tuple[int, int], network_size: tuple[int, int],
                  fit: str) -> np.ndarray:
    """Token-grid maps (k, h, w) -> (k, H, W) float32, bilinear with align_corners=False (torch's rule).

    With fit "pad" the grid covers the padded network input: upsample to it, then crop the padding.
    """
    maps = np.asarray(maps, np.float32)
    height, width = int(image_size[0]), int(image_size[1])
    target = (height, width) if fit == "resize" else (int(network_size[0]), int(network_size[1]))
    rows = _bilinear_weights(maps.shape[1], target[0])[:height]
    cols = _bilinear_weights(maps.shape[2], target[1])[:width]
    return np.einsum("Hh,khw,Ww->kHW", rows, maps, cols, optimize=True).astype(np.float32)


def _bilinear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) interpolation matrix: source = (i + 0.5) · n_in / n_out - 0.5, clamped at 0."""
    source = np.maximum((np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    frac = (source - low).astype(np.float32)
    weights = np.zeros((n_out, n_in), np.float32)
    np.add.at(weights, (np.arange(n_out), low), 1.0 - frac)
    np.add.at(weights, (np.arange(n_out), high), frac)
    return weights


class ExplainWorker(Worker):
    """Captures every tokenized-KAN layer for one image and ranks each layer's channels by PIoU."""

    name = "Explain"

    def __init__(self, request: ExplainRequest) -> None:
        super().__init__()
        if request.reference_kind is not None and request.reference_kind not in REFERENCE_KINDS:
            raise ValueError(f"reference kind {request.reference_kind!r}: use one of {', '.join(REFERENCE_KINDS)}")
        self.request = request

    def run(self) -> ExplainResult:
        limit_torch_threads()
        from ukan_core.device import pick_device
        from ukan_core.explain import capture_activations, predicted_mask
        from ukan_core.io.checkpoints import load_model_with_info
        from ukan_core.io.images import read_image, to_rgb8
        from ukan_studio.workers.segment import model_label

        req = self.request
        self.report(Progress(0, 3, "loading the model"))
        model, info = load_model_with_info(req.model, pick_device(req.device))
        rgb8 = to_rgb8(read_image(req.image))
        self.cancel_token.raise_if_cancelled()
        self.report(Progress(1, 3, f"capturing activations of {Path(req.image).name}"))
        acts = capture_activations(model, [rgb8], info.get("preprocessing"), cancel=self.cancel_token)[0]
        reference, kind = self._reference(rgb8.shape[:2])
        if reference is None:
            reference, kind = predicted_mask(acts), "predicted"
        result = ExplainResult(
            image_name=Path(req.image).name, model_label=model_label(req.model, info), rgb8=rgb8,
            reference=reference, reference_kind=kind, threshold=float(req.threshold),
            maps=dict(acts.maps), lows={}, highs={}, scores={},
            network_size=tuple(int(v) for v in acts.network_size), fit=acts.fit)  # type: ignore[arg-type]
        for index, layer in enumerate(result.layers):
            self.cancel_token.raise_if_cancelled()
            self._score(result, layer)
            self.report(Progress(index + 1, len(result.layers), f"scoring {layer}"))
        result.splines = self._splines(model)
        return result

    def _reference(self, size: tuple[int, int]) -> tuple[np.ndarray | None, str]:
        """The requested reference as an (H, W) bool mask of the image's size, or (None, "predicted")."""
        from ukan_core.errors import BadImageError

        reference, kind = self.request.reference, self.request.reference_kind or "ground_truth"
        if reference is None:
            return None, "predicted"
        if isinstance(reference, (str, Path)):
            from ukan_core.io.masks import read_mask

            name = Path(reference).name
            reference = read_mask(reference)
        else:
            name = f"{kind.replace('_', ' ')} mask"
        mask = np.asarray(reference)
        if mask.ndim == 3:
            mask = mask[..., :3].max(axis=-1)
        if mask.shape != tuple(size):
            raise BadImageError(f"{name}: the mask is {mask.shape[1]}x{mask.shape[0]} "
                                f"but the image is {size[1]}x{size[0]}")
        return mask != 0, kind

    def _score(self, result: ExplainResult, layer: str) -> None:
        """Rank `layer`'s channels on the numpy upsampling the panel shows; keep each channel's range."""
        maps = result.maps[layer]
        ladder = threshold_ladder(result.threshold)
        rows, lows, highs = [], [], []
        for start in range(0, len(maps), result._chunk()):
            self.cancel_token.raise_if_cancelled()
            up = upsample_maps(maps[start:start + result._chunk()], result.image_size, result.network_size, result.fit)
            lows.append(up.min(axis=(1, 2)))
            highs.append(up.max(axis=(1, 2)))
            rows.append(channel_ious(up, result.reference, ladder))
        result.lows[layer] = np.concatenate(lows).astype(np.float64)
        result.highs[layer] = np.concatenate(highs).astype(np.float64)
        result.scores[layer] = scores_from_ious(layer, result.reference_kind, result.threshold, ladder,
                                                np.concatenate(rows))

    def _splines(self, model: Any) -> dict[str, list[Any]]:
        """The most influential learned functions of every KAN layer (none for an MLP model)."""
        from ukan_core.explain import kan_edge_functions, kan_layer_names

        modules = dict(model.named_modules())
        return {name: kan_edge_functions(modules[name], top=SPLINE_EDGES) for name in kan_layer_names(model)}
