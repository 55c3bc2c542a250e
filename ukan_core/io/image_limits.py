"""Pixel limits checked against the size a file declares, before any decoder allocates memory.

A few-kilobyte compressed file can declare a 45000 x 45000 image (a decompression bomb) and
exhaust memory when decoded. Every reader checks the declared size first: PIL's header size
for PNG/JPEG/BMP, tifffile's page shape for TIFF, Rows x Columns x frames for DICOM.

- MAX_FRAME_PIXELS: 100 million pixels per image (frame or page), e.g. 10000 x 10000; whole-slide
  scans larger than that must be tiled or downscaled first. Ordinary scans (12 MP, 40 MP) pass.
- MAX_FILE_PIXELS: 1 billion pixels in all the frames of one file (a 1000-frame 1000 x 1000 cine).
"""

from __future__ import annotations

import re

from ukan_core.errors import BadImageError

MAX_FRAME_PIXELS = 100_000_000
MAX_FILE_PIXELS = 1_000_000_000


def check_declared_size(name: str, width: int, height: int, frames: int = 1, depth: int = 1) -> None:
    """Raise BadImageError("<name>: declared size ...") when the declared size is over a limit.

    `depth` counts the slices of one volumetric TIFF page; `frames` the frames or pages of the file.
    """
    width, height, frames, depth = int(width), int(height), max(int(frames), 1), max(int(depth), 1)
    frame_pixels = width * height * depth
    size = f"{width}x{height}" + (f"x{depth}" if depth > 1 else "")
    if frame_pixels > MAX_FRAME_PIXELS:
        raise BadImageError(
            f"{name}: declared size {size} ({_megapixels(frame_pixels)}) is over the limit of "
            f"{_megapixels(MAX_FRAME_PIXELS)} per image; crop or downscale it first")
    if frame_pixels * frames > MAX_FILE_PIXELS:
        raise BadImageError(
            f"{name}: declared {frames} frames of {size} ({_megapixels(frame_pixels * frames)} in all) is over "
            f"the limit of {_megapixels(MAX_FILE_PIXELS)} per file; split the file first")


def refuse_pil_bomb(name: str, exc: BaseException) -> BadImageError:
    """Our one-line refusal for PIL's DecompressionBombError (raised while PIL reads the header)."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    declared = f"declared size {_megapixels(int(match.group(1)))}" if match else "declared size"
    return BadImageError(f"{name}: {declared} is over the limit of {_megapixels(MAX_FRAME_PIXELS)} per image; "
                         "crop or downscale it first")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.0f} MP" if pixels >= 1e6 else f"{pixels} pixels"
