"""Is a folder like what the model was trained on? An out-of-domain signal from the model's own features.

At training time `domain_reference` records, in the checkpoint header under "domain", the
mean and spread of a few encoder feature channels (the spatial mean and standard deviation of
each channel of `FEATURE_LAYERS`, per image) over its training images, the distribution of each
image's distance from that mean, and the distribution of the model's uncertainty there. A new
image's distance is the root mean square of its features' z-scores; `domain_score` compares the
median distance of a set of images with the training images' own:

    domain_score = 1 − 2 ** (−max(0, D − q50) / (q95 − q50))

0 when the typical image is as close as the typical training image, 0.5 when it is as far as
the farthest 5 % of them, towards 1 beyond. `is_out_of_domain` is `domain_score ≥ THRESHOLD`
(0.5). Models saved without the record give None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

FEATURE_LAYERS = ("encoder1", "encoder3", "norm4")
MAX_REFERENCE_IMAGES = 32      # features of at most this many images (a few seconds on a CPU)
MAX_UNCERTAINTY_IMAGES = 16    # and the uncertainty (three forward passes each) of at most this many
THRESHOLD = 0.5
REFERENCE_VERSION = 1


def as_segmenter(model: Any, device: str = "auto") -> Any:
    """A Segmenter for a Segmenter, a (model, info) pair, a name or a path (the plain network: hooks must see it)."""
    from ukan_core.inference import Segmenter

    if isinstance(model, Segmenter):
        return model
    if isinstance(model, tuple) and len(model) == 2:
        return Segmenter(model[0], model[1], device=device, optimize=False)
    from ukan_core.model_refs import load_model_with_info

    loaded, info = load_model_with_info(model, device="cpu")
    return Segmenter(loaded, info, device=device, optimize=False)


def image_features(segmenter: Any, images: Sequence[Any], batch_size: int = 8) -> np.ndarray:
    """(N, F) features of images: per channel of each `FEATURE_LAYERS` layer, its spatial mean and std."""
    import torch

    from ukan_core.io.images import to_rgb8

    network = segmenter.model
    captured: list[torch.Tensor] = []

    def keep(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
        dims = (2, 3) if output.dim() == 4 else (1,)
        captured.append(torch.cat([output.float().mean(dims), output.float().std(dims)], dim=1).cpu())

    hooks = [getattr(network, name).register_forward_hook(keep) for name in FEATURE_LAYERS if hasattr(network, name)]
    rows: list[np.ndarray] = []
    was_training = network.training
    network.eval()
    try:
        prepared = [segmenter.prepare(to_rgb8(image)) for image in images]
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, x in enumerate(prepared):
            groups.setdefault(x.shape, []).append(index)
        out: list[np.ndarray | None] = [None] * len(prepared)
        with torch.inference_mode():
            for indices in groups.values():
                for start in range(0, len(indices), batch_size):
                    chunk = indices[start:start + batch_size]
                    captured.clear()
                    network(torch.from_numpy(np.stack([prepared[i] for i in chunk])).to(segmenter.device))
                    features = torch.cat(captured, dim=1).numpy()
                    for row, i in enumerate(chunk):
                        out[i] = features[row]
        rows = [r for r in out if r is not None]
    finally:
        for hook in hooks:
            hook.remove()
        network.train(was_training)
    return np.stack(rows).astype(np.float64) if rows else np.zeros((0, 0))


def _distances(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(((features - mean) / std) ** 2, axis=1))


def domain_reference(model: Any, preprocessing: Any, images: Sequence[Any], *, device: Any = None,
                     source: str = "training images") -> dict[str, Any]:
    """The "domain" record of a checkpoint header: feature statistics and uncertainty over `images`.

    At most `MAX_REFERENCE_IMAGES` of `images` (evenly spread) are used, and the uncertainty of at
    most `MAX_UNCERTAINTY_IMAGES` of those; `images` are arrays,
    ImageData or file paths. `device` defaults to where the model's weights are.
    """
    from ukan_core.inference import Segmenter
    from ukan_core.uncertainty import image_uncertainty

    images = list(images)
    if len(images) > MAX_REFERENCE_IMAGES:
        picks = np.linspace(0, len(images) - 1, MAX_REFERENCE_IMAGES).round().astype(int)
        images = [images[i] for i in picks]
    images = [_pixels(image) for image in images]
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    segmenter = Segmenter(model, {"preprocessing": preprocessing.to_dict()}, device=device, optimize=False)
    try:
        features = image_features(segmenter, images)
        mean = features.mean(axis=0)
        spread = features.std(axis=0)
        std = np.maximum(spread, 0.05 * float(spread.mean()) + 1e-6)
        distances = _distances(features, mean, std)
        step = max(1, len(images) // MAX_UNCERTAINTY_IMAGES)
        results = [image_uncertainty(segmenter, image) for image in images[::step][:MAX_UNCERTAINTY_IMAGES]]
    finally:
        model.train(was_training)
    quantiles = (0.5, 0.9, 0.95)

    def dist(values: Sequence[float]) -> dict[str, float]:
        return {f"q{int(q * 100)}": round(float(np.quantile(values, q)), 6) for q in quantiles}

    return {
        "version": REFERENCE_VERSION,
        "source": source,
        "n": len(images),
        "layers": [name for name in FEATURE_LAYERS if hasattr(model, name)],
        "feature_mean": [round(float(v), 6) for v in mean],
        "feature_std": [round(float(v), 6) for v in std],
        "distance": dist(distances),
        "uncertainty": {"entropy": dist([r.entropy for r in results]), "flip": dist([r.flip for r in results])},
    }


def reference_of(segmenter: Any) -> dict[str, Any] | None:
    """The model's "domain" record when it has a usable one, else None."""
    record = (getattr(segmenter, "info", None) or {}).get("domain")
    if not isinstance(record, dict) or record.get("version") != REFERENCE_VERSION:
        return None
    try:
        mean = np.asarray(record["feature_mean"], dtype=np.float64)
        std = np.asarray(record["feature_std"], dtype=np.float64)
        q50, q95 = float(record["distance"]["q50"]), float(record["distance"]["q95"])
    except (KeyError, TypeError, ValueError):
        return None
    if mean.shape != std.shape or mean.ndim != 1 or not np.all(std > 0) or not q95 > q50 >= 0:
        return None
    return {"mean": mean, "std": std, "q50": q50, "q95": q95}


def image_distances(model: Any, images: Sequence[Any]) -> np.ndarray | None:
    """Each image's distance from the training images' features (None without a reference)."""
    segmenter = as_segmenter(model)
    reference = reference_of(segmenter)
    if reference is None:
        return None
    features = image_features(segmenter, [_pixels(image) for image in images])
    if features.shape[1:] != reference["mean"].shape:
        return None
    return _distances(features, reference["mean"], reference["std"])


def score_from_distances(distances: Sequence[float], q50: float, q95: float) -> float:
    """The domain score in [0, 1] of images at `distances` (see the module docstring)."""
    typical = float(np.median(np.asarray(distances, dtype=np.float64)))
    return float(1.0 - 2.0 ** (-max(0.0, typical - q50) / (q95 - q50)))


def domain_score(model: Any, images: Sequence[Any]) -> float | None:
    """How far `images` are from the model's training data, in [0, 1] (higher = further); None without a record.

    `model` is a Segmenter, a (model, info) pair, a name or a path; `images` arrays, ImageData or paths.
    """
    segmenter = as_segmenter(model)
    reference = reference_of(segmenter)
    distances = image_distances(segmenter, images) if reference is not None else None
    if distances is None or len(distances) == 0:
        return None
    return score_from_distances(distances, reference["q50"], reference["q95"])


def is_out_of_domain(model: Any, images: Sequence[Any], threshold: float = THRESHOLD) -> bool:
    """True when `domain_score(model, images)` ≥ `threshold` (False when the model has no record)."""
    score = domain_score(model, images)
    return score is not None and score >= threshold


def _pixels(image: Any) -> Any:
    """Pixels of an image given as a path (read) or as pixels already (kept)."""
    from pathlib import Path

    if isinstance(image, (str, Path)):
        from ukan_core.io.images import read_image

        return read_image(image)
    return image


def add_reference(path: Any, images: Sequence[Any], *, source: str, device: str = "cpu") -> dict[str, Any]:
    """Compute the "domain" record of the model file `path` on `images` and write it into its header only.

    For a model saved before the record existed (the bundled one was given it so, from freshly
    generated images of its training distribution: `ukan synth --n 32 --seed 1000`). The weights
    are not touched (`ukan_core.io.checkpoints.rewrite_metadata`). Returns the record.
    """
    from ukan_core.model_refs import load_model_with_info
    from ukan_core.preprocess import Preprocessing
    from ukan_core.io.checkpoints import rewrite_metadata

    model, info = load_model_with_info(path, device="cpu")
    record = domain_reference(model, Preprocessing.from_dict(info.get("preprocessing")), images,
                              device=device, source=source)
    rewrite_metadata(path, {"domain": record})
    return record
