"""Draw a mask's outline on a copy of its image, for thumbnails and sample grids.

One helper so the studio's gallery and the benchmarks' PNG grids show generated image + mask
pairs the same way. numpy and OpenCV only (cv2 is imported when first used: it is heavy).
"""

from __future__ import annotations

import numpy as np

OUTLINE_COLOUR = (255, 60, 60)   # red, readable on grey ultrasound-like images


def outline_mask(image: np.ndarray, mask: np.ndarray | None, *, scale: int = 1,
                 colour: tuple[int, int, int] = OUTLINE_COLOUR) -> np.ndarray:
    """An RGB uint8 copy of `image`, enlarged `scale` times, with the outer contour of `mask` > 0 drawn on it.

    `image` is grey (H, W) or RGB/RGBA (H, W, C) uint8 (alpha is dropped); `mask` is (H, W), any
    non-zero value counts, or None for just the RGB copy. Enlarging is nearest-neighbour (pixels
    stay crisp) and happens before the contour is found, so the 1 px outline in `colour` follows
    the enlarged mask's border. The inputs are never modified.
    """
    import cv2

    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C) uint8, got {image.shape} {image.dtype}")
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
    rgb = np.array(_enlarge(rgb, scale), order="C")   # always a fresh array: drawing never reaches `image`
    if mask is None:
        return rgb
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    binary = _enlarge((mask > 0).astype(np.uint8), scale)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return cv2.drawContours(rgb, contours, -1, tuple(int(c) for c in colour), 1)


def _enlarge(pixels: np.ndarray, scale: int) -> np.ndarray:
    """`pixels` repeated `scale` times along height and width (nearest-neighbour enlargement)."""
    if scale == 1:
        return pixels
    return np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
