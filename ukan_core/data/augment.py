"""Training augmentation on numpy arrays: the paper's random rot90 and flips, plus mild intensity jitter.

Geometry is applied identically to the image and its label mask; labels are only moved (nearest
neighbour), never interpolated, so they keep their exact values.
"""

from __future__ import annotations

import cv2
import numpy as np


def augment_pair(image: np.ndarray, label: np.ndarray, rng: np.random.Generator, *,
                 intensity: bool = True, affine: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Random rot90 (0-3 quarter turns), horizontal and vertical flips, and intensity jitter;
    with `affine`, also a small random rotation, scale and shift (see `random_affine`).

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
    if affine:
        image, label = random_affine(image, np.ascontiguousarray(label), rng)
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


def random_affine(image: np.ndarray, label: np.ndarray, rng: np.random.Generator, *, degrees: float = 15.0,
                  scale: float = 0.15, shift: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by up to `degrees`, scale by 1 ± `scale` and shift by up to `shift` of the size.

    The image is resampled bilinearly, the labels by nearest neighbour (values stay exact);
    uncovered borders are mirrored, so no black wedges appear that the real images lack.
    Few training images see many more shapes this way than rot90 and flips alone give.
    """
    h, w = label.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(rng.uniform(-degrees, degrees)),
                                     float(np.exp(rng.uniform(np.log(1 - scale), np.log(1 + scale)))))
    matrix[:, 2] += rng.uniform(-shift, shift, 2) * (w, h)
    warped = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if warped.ndim == 2 and image.ndim == 3:
        warped = warped[:, :, None]
    moved = cv2.warpAffine(label, matrix, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(warped), np.ascontiguousarray(moved)
