"""Shared by the decoders: pixel arrays in the shapes and types `ImageData` holds, and error wording."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ukan_core.errors import BadImageError


@dataclass
class Decoded:
    """What a decoder found: pixels (H, W) or (H, W, 3), their depth in the file, and other facts
    (modality, window, frame_count, inverted) passed on to `ImageData`."""

    pixels: np.ndarray
    bit_depth: int
    facts: dict = field(default_factory=dict)


def normalise_array(arr: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Squeeze to (H, W) or (H, W, 3) and one of uint8/uint16/float32; also the bit depth."""
    arr = np.asarray(arr)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        arr = arr[:, :, 0] if arr.shape[2] == 2 else arr[:, :, :3]  # drop alpha
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise BadImageError(f"{name}: unsupported image layout {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255, 1
    if arr.dtype == np.uint8:
        return arr, 8
    if arr.dtype == np.uint16:
        return arr, 16
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float32), arr.dtype.itemsize * 8
    raise BadImageError(f"{name}: unsupported pixel type {arr.dtype}")


def grey_if_equal(rgb: np.ndarray) -> np.ndarray:
    """A palette of greys expands to RGB; keep it single-channel like any other grey image."""
    if rgb.ndim == 3 and np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2]):
        return np.ascontiguousarray(rgb[:, :, 0])
    return rgb


def reason(exc: BaseException) -> str:
    """A decoder's exception as a short single line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
