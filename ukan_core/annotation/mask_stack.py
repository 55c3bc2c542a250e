"""Per-frame masks stacked into one (frames, H, W) uint8 array, checked against their source."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ukan_core.errors import BadImageError


def stack_masks(masks: Sequence[np.ndarray], count: int, size: tuple[int, int], name: str, *,
                part: str, source: str, plane: str) -> np.ndarray:
    """Stack one mask per `part` ("frame", "slice") of `source` (e.g. "a DICOM"); `plane` names
    what a mask must match in size ("image", "slice"). One-line BadImageError when they do not fit."""
    if len(masks) != count:
        raise BadImageError(f"{name}: {len(masks)} {part} masks for {source} of {count} {part}s")
    stack = np.zeros((count, *size), np.uint8)
    for k, mask in enumerate(masks):
        mask = np.asarray(mask)
        if mask.shape != size:
            raise BadImageError(f"{name}: mask of {part} {k + 1} is {mask.shape[1]}x{mask.shape[0]}, "
                                f"the {plane} is {size[1]}x{size[0]}")
        stack[k] = mask
    return stack
