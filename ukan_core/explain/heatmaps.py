"""Heatmap pictures: a normalised activation map coloured and blended over its image.

Pure numpy/OpenCV, returning RGB uint8 arrays a viewer can show directly; `write_png` saves one
atomically (used by `ukan explain`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ukan_core.atomic import atomic_write_bytes
from ukan_core.explain.plausibility import normalise_map

COLORMAPS = ("inferno", "jet", "viridis", "turbo")


def colorize(heatmap: np.ndarray, colormap: str = "inferno") -> np.ndarray:
    """(H, W) map in [0, 1] (normalised here if it is not) -> (H, W, 3) uint8 RGB."""
    import cv2

    if colormap not in COLORMAPS:
        raise ValueError(f"colormap {colormap!r}: use one of {', '.join(COLORMAPS)}")
    m = np.asarray(heatmap, np.float32)
    if m.ndim != 2:
        raise ValueError(f"expected an (H, W) heatmap, got shape {m.shape}")
    if not np.isfinite(m).all() or m.min(initial=0.0) < 0.0 or m.max(initial=0.0) > 1.0:
        m = normalise_map(m)
    level = np.round(m * 255.0).astype(np.uint8)
    bgr = cv2.applyColorMap(level, getattr(cv2, f"COLORMAP_{colormap.upper()}"))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def blend(rgb8: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5, colormap: str = "inferno") -> np.ndarray:
    """The coloured heatmap laid over the image with opacity `alpha`, (H, W, 3) uint8 RGB."""
    image = np.asarray(rgb8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[:2] != np.shape(heatmap):
        raise ValueError(f"heatmap {np.shape(heatmap)} and image {image.shape[:2]} differ in size")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha!r}: must be in [0, 1]")
    mixed = (1.0 - alpha) * image[:, :, :3].astype(np.float32) + alpha * colorize(heatmap, colormap)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def write_png(path: str | Path, rgb8: np.ndarray) -> Path:
    """Save an RGB (or grey) uint8 image as PNG, atomically."""
    import cv2

    image = np.asarray(rgb8, np.uint8)
    if image.ndim == 3:
        image = np.ascontiguousarray(image[:, :, ::-1])
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"{Path(path).name}: the PNG encoder refused this image")
    return atomic_write_bytes(path, data.tobytes())
