"""The Explain heatmap as pictures: a canvas overlay (shown on the main image) and a blended PNG (exported).

Both come from the same map, colour map, opacity and threshold, and outline the same two masks:
the reference mask (green) and the pixels the threshold activates (white). Numpy and OpenCV only.
"""

from __future__ import annotations

import numpy as np

from ukan_core.explain.heatmaps import blend, colorize
from ukan_studio.canvas.overlay import HeatmapOverlay

REFERENCE_COLOR = (60, 220, 90)
ACTIVATED_COLOR = (255, 255, 255)


def activated(heat: np.ndarray, threshold: float) -> np.ndarray:
    """The pixels a normalised map activates at `threshold` (`>=`, as Plausibility IoU counts them)."""
    return np.asarray(heat) >= np.float32(threshold)


def heatmap_overlay(heat: np.ndarray, reference: np.ndarray, threshold: float, opacity: float,
                    colormap: str, outlines: bool) -> HeatmapOverlay:
    """The coloured map with `opacity` as alpha, plus (if `outlines`) the activated and reference contours."""
    rgb = colorize(heat, colormap)
    alpha = np.full(rgb.shape[:2] + (1,), round(255 * max(0.0, min(1.0, opacity))), np.uint8)
    lines = ((activated(heat, threshold), ACTIVATED_COLOR), (np.asarray(reference, bool), REFERENCE_COLOR))
    return HeatmapOverlay(np.concatenate([rgb, alpha], axis=2), lines if outlines else ())


def heatmap_picture(rgb8: np.ndarray, heat: np.ndarray, reference: np.ndarray, threshold: float, opacity: float,
                    colormap: str, outlines: bool) -> np.ndarray:
    """The map blended over the image with one-pixel outlines, (H, W, 3) uint8 RGB (the exported PNG)."""
    picture = blend(rgb8, heat, opacity, colormap)
    if outlines:
        picture[inner_outline(activated(heat, threshold))] = ACTIVATED_COLOR
        picture[inner_outline(reference)] = REFERENCE_COLOR
    return picture


def inner_outline(mask: np.ndarray) -> np.ndarray:
    """The one-pixel inner boundary of a bool mask."""
    import cv2

    m = np.asarray(mask, np.uint8)
    return (m > 0) & (cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE) == 0)
