"""Token-grid maps to the image's own size: bilinear, exactly torch's `align_corners=False` rule, in numpy.

One implementation serves `ukan explain`, the Studio worker that ranks channels, and the panel
that draws one map live in the GUI thread (where torch is never imported), so a table value and
the live value always come from the same pixels. Each axis is interpolated separately from its
two nearest source rows/columns (source = (i + 0.5) · n_in / n_out - 0.5, clamped at 0): two
gathers and a weighted sum per axis, in place, chunk by chunk (bounded memory for large images).
"""

from __future__ import annotations

import numpy as np

UPSAMPLE_CHUNK = 32           # channels upsampled at once, at most ...
UPSAMPLE_BUDGET = 16_000_000  # ... and at most this many float32 pixels (64 MB) per chunk


def to_image_size(maps: np.ndarray, image_size: tuple[int, int], net_size: tuple[int, int],
                  fit: str) -> np.ndarray:
    """Token-grid maps (k, h, w) -> (k, H, W) float32 on the image, bilinear (align_corners=False).

    With fit "resize" the grid covers the whole resized image; with "pad" it covers the padded
    network input, so the maps are upsampled to the network size and the padding cropped away.
    """
    maps = np.asarray(maps, np.float32)
    if maps.ndim != 3:
        raise ValueError(f"expected (k, h, w) maps, got shape {maps.shape}")
    height, width = int(image_size[0]), int(image_size[1])
    target = (height, width) if fit == "resize" else (int(net_size[0]), int(net_size[1]))
    row_low, row_high, row_frac = _axis(maps.shape[1], target[0], height)
    col_low, col_high, col_frac = _axis(maps.shape[2], target[1], width)
    row_keep, row_frac = (np.float32(1.0) - row_frac)[:, None], row_frac[:, None]
    out = np.empty((len(maps), height, width), np.float32)
    step = chunk_size((height, width))
    spare = np.empty((min(step, len(maps)), height, width), np.float32)
    for start in range(0, len(maps), step):
        part = maps[start:start + step]
        # columns first (on the small token grid), then rows, in place: torch's order of operations
        cols = part[:, :, col_low] * (np.float32(1.0) - col_frac) + part[:, :, col_high] * col_frac
        block, other = out[start:start + len(part)], spare[:len(part)]
        np.take(cols, row_low, axis=1, out=block)
        block *= row_keep
        np.take(cols, row_high, axis=1, out=other)
        other *= row_frac
        block += other
    return out


def chunk_size(size: tuple[int, int]) -> int:
    """How many channels of (H, W) = `size` to upsample at once within UPSAMPLE_BUDGET."""
    return max(1, min(UPSAMPLE_CHUNK, UPSAMPLE_BUDGET // max(1, int(size[0]) * int(size[1]))))


def _axis(n_in: int, n_out: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the first `keep` of `n_out` positions: the lower and upper source index and the upper's weight.

    source = (i + 0.5) · n_in / n_out - 0.5, clamped at 0 (float32, as torch computes it).
    """
    scale = np.float32(n_in / n_out)
    source = np.maximum((np.arange(keep, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    return low, high, (source - low).astype(np.float32)
