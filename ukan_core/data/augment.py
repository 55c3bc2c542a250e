"""Training augmentation on numpy arrays: the paper's random rot90 and flips, plus mild intensity jitter.

Geometry is applied identically to the image and its label mask; labels are only moved, never
interpolated, so they stay exact.
"""

from __future__ import annotations

import numpy as np


def augment_pair(image: np.ndarray, label: np.ndarray, rng: np.random.Generator, *,
                 intensity: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Random rot90 (0-3 quarter turns), horizontal and vertical flips, and intensity jitter.

    Args:
        image: (H, W, C) uint8.
        label: (H, W) uint8 label mask.
    Returns new contiguous arrays (the inputs are not modified). A non-square image only gets
    half turns, so every item of a batch keeps the same (H, W).
    """
    k = int(rng.integers(0, 4))
    if image.shape[0] != image.shape[1]:
        k = 2 * (k % 2)
    image, label = np.rot90(image, k, axes=(0, 1)), np.rot90(label, k, axes=(0, 1))
    if rng.uniform() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    if rng.uniform() < 0.5:
        image, label = image[::-1], label[::-1]
    image = np.ascontiguousarray(image)
    if intensity:
        image = jitter_intensity(image, rng)
    return image, np.ascontiguousarray(label)


def jitter_intensity(image: np.ndarray, rng: np.random.Generator, *, brightness: float = 0.08,
                     contrast: float = 0.12, gamma: float = 0.15) -> np.ndarray:
    """Mild brightness, contrast and gamma changes of a uint8 image (a new array)."""
    x = image.astype(np.float32) / 255.0
    g = float(np.exp(rng.uniform(-gamma, gamma)))
    x = np.power(np.clip(x, 0.0, 1.0), g)
    mean = float(x.mean())
    x = (x - mean) * (1.0 + rng.uniform(-contrast, contrast)) + mean + rng.uniform(-brightness, brightness)
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
