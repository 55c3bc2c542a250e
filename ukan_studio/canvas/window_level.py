"""Window/level of grey images: the default window and the display levels it gives."""

from __future__ import annotations

import numpy as np


def default_window(pixels: np.ndarray) -> tuple[float, float]:
    """The full range: 0-255 for 8-bit, else min-max of the finite values (as to_rgb8 maps them)."""
    if pixels.dtype == np.uint8:
        return 127.5, 255.0
    finite = pixels[np.isfinite(pixels)] if pixels.dtype.kind == "f" else pixels
    if finite.size == 0:
        return 0.5, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return (lo + hi) / 2.0, hi - lo


def levels(window: tuple[float, float]) -> tuple[float, float]:
    """The (low, high) display levels of a (center, width) window."""
    center, width = window
    return center - width / 2.0, center + width / 2.0
