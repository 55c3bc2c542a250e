"""`ImageData`: the pixels of one image (or one frame of a file) plus the facts needed to show them.

Its own module so that every decoder (`images`, `volumes`, ...) can build one without importing
the reader that dispatches to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class ImageData:
    """Pixels of one image file as stored, plus the facts needed to display them.

    `pixels` is (H, W) grey or (H, W, 3) RGB, dtype uint8, uint16 or float32 (NaN kept).
    `bit_depth` is the depth in the file (8, 16, 32 for float; BitsStored for DICOM).
    `original_size` is (height, width) as displayed, i.e. after EXIF rotation.
    `window` is the DICOM (center, width) in rescaled units, when the file has one.
    `frame_count` is the number of frames/pages (slices of a volume) in the file; `frame` (0-based)
    is the one read (`read_image(path, frame=k)`; see `ukan_core.io.items` for one item per frame).
    `inverted` is True for DICOM MONOCHROME1 (high values are dark); `to_rgb8` flips it.
    `pixel_spacing` is the size of one pixel in mm as (row, column), i.e. (height, width), from DICOM
    PixelSpacing (per frame when the file says so; else ImagerPixelSpacing), the TIFF resolution in
    cm or inch, or the NIfTI voxel size of the slice's two axes; None when unknown.
    `slice_thickness` is the DICOM SliceThickness or the NIfTI voxel size along the slice axis (mm).
    """

    pixels: np.ndarray
    path: Path
    bit_depth: int
    original_size: tuple[int, int]
    modality: str | None = None
    window: tuple[float, float] | None = None
    frame_count: int = 1
    inverted: bool = False
    pixel_spacing: tuple[float, float] | None = None
    frame: int = 0
    slice_thickness: float | None = None

    @property
    def is_grey(self) -> bool:
        """True for a single-channel image."""
        return self.pixels.ndim == 2
