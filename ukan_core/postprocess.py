"""Mask clean-up a user can switch off: fill enclosed holes, drop islands much smaller than the main region.

A network's raw threshold leaves pin holes inside organs and small false islands in look-alike
structures; both are rarely anatomy. `clean_mask` removes them per class of a label mask, so the
same rule serves one-class and multi-class models. It never adds pixels outside a region's
outer border and never removes the largest region of a class.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PostProcess:
    """What `clean_mask` does: `fill_holes` fills background enclosed by a class; components
    smaller than `min_island_fraction` of that class's largest component are dropped (0: keep all)."""

    fill_holes: bool = True
    min_island_fraction: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.min_island_fraction) <= 1.0:
            raise ValueError(f"min_island_fraction {self.min_island_fraction!r}: use a fraction from 0 to 1")


NONE = PostProcess(fill_holes=False, min_island_fraction=0.0)
DEFAULT = PostProcess()


def clean_mask(mask: np.ndarray, options: PostProcess = DEFAULT) -> np.ndarray:
    """(H, W) uint8 labels (0 = background, k = class k) -> a cleaned copy of the same shape and dtype."""
    labels = np.asarray(mask)
    if labels.ndim != 2:
        raise ValueError(f"clean_mask expects an (H, W) label mask, got shape {labels.shape}")
    out = labels.copy()
    for value in np.unique(labels):
        if value == 0:
            continue
        region = (labels == value).astype(np.uint8)
        if options.min_island_fraction > 0:
            kept = drop_small_islands(region, options.min_island_fraction)
            out[(region > 0) & (kept == 0)] = 0
            region = kept
        if options.fill_holes:
            filled = fill_holes(region)
            out[(filled > 0) & (out == 0)] = value  # only background becomes this class
    return out


def drop_small_islands(region: np.ndarray, min_fraction: float) -> np.ndarray:
    """0/1 uint8 region without the 8-connected components smaller than `min_fraction` of the largest."""
    count, components, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
    if count <= 2:
        return region.astype(np.uint8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = areas >= min_fraction * areas.max()
    return keep[components].astype(np.uint8)


def fill_holes(region: np.ndarray) -> np.ndarray:
    """0/1 uint8 region with every background area that does not reach the image border filled."""
    background = (region == 0).astype(np.uint8)
    count, components = cv2.connectedComponents(background, connectivity=4)
    if count <= 1:
        return region.astype(np.uint8)
    border = np.unique(np.concatenate([components[0], components[-1], components[:, 0], components[:, -1]]))
    hole = np.ones(count, bool)
    hole[border] = False
    hole[0] = False  # label 0 is the region itself
    return (region.astype(bool) | hole[components]).astype(np.uint8)
