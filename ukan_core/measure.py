"""Sizes of segmented lesions in millimetres: area and maximum Feret diameter per connected region.

What a clinician reports is "a 14 x 9 mm lesion", not a pixel count. For a 2D label mask (0 is
background, every other value a label) each label is split into its connected regions (8-connected)
and each region gets:

- `area`: its pixel count times the area of one pixel; mm^2 when the pixel size is known
  (`ImageData.pixel_spacing`), else px^2;
- `max_diameter`: the maximum Feret diameter, the largest distance between two points of the
  region, taken over the corners of its pixels (a single pixel of 1 x 1 mm measures sqrt(2) mm, a
  w x h rectangle sqrt(w^2 + h^2)). The farthest pair always lies on the convex hull, so only the
  hull's vertices are compared; the hull is found in pixel corners and scaled by the (possibly
  anisotropic) pixel size, which an affine map of the plane keeps a convex hull.

    rows = measure_mask(mask, image.pixel_spacing)
    write_measurements_csv("measurements.csv", {"scan_01.dcm": rows})

For a volume (a stack of slice masks) `measure_volume` adds one row per label with `region` =
"volume": the voxel count times the volume of one voxel (pixel spacing x slice thickness), in mm^3
when both are known, else in voxels; its diameter columns stay empty.

numpy and OpenCV only; nothing here knows about the app.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ukan_core.atomic import atomic_write_text

MEASUREMENT_COLUMNS = ("image", "label", "region", "area", "area_unit", "max_diameter", "diameter_unit")
_PAIRS_PER_CHUNK = 4_000_000   # hull vertices are compared in blocks of this many pairs (memory bound)


@dataclass(frozen=True)
class RegionMeasurement:
    """One connected region of one label.

    `region` numbers the regions of a label from 1, in the order their first pixel appears row by
    row. `area` and `max_diameter` are in `area_unit` ("mm^2" or "px^2") and `diameter_unit`
    ("mm" or "px"); `pixel_count` is the region's size in pixels whatever the unit. A volume row
    (`measure_volume`) has `region` "volume", its volume in `area` ("mm^3" or "voxels") and
    `max_diameter` NaN with an empty `diameter_unit` (written as empty cells).
    """

    label: int
    region: int | str
    pixel_count: int
    area: float
    area_unit: str
    max_diameter: float
    diameter_unit: str


def measure_mask(mask: np.ndarray, pixel_spacing: tuple[float, float] | None = None) -> list[RegionMeasurement]:
    """Area and maximum Feret diameter of every connected region of every label in a 2D label mask.

    `pixel_spacing` is (row, column) in mm per pixel, as in `ImageData.pixel_spacing`; None gives
    pixel units. Results are sorted by label, then region. ValueError for a mask that is not 2D
    integer (or bool) or a spacing that is not two positive finite numbers.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or not (mask.dtype == np.bool_ or mask.dtype.kind in "iu"):
        raise ValueError(f"expected a 2D integer label mask, got shape {mask.shape} dtype {mask.dtype}")
    spacing = _checked_spacing(pixel_spacing)
    known = spacing is not None
    row_mm, column_mm = spacing if known else (1.0, 1.0)
    area_unit, diameter_unit = ("mm^2", "mm") if known else ("px^2", "px")
    results: list[RegionMeasurement] = []
    for label in (int(value) for value in np.unique(mask) if value != 0):
        count, components = cv2.connectedComponents((mask == label).astype(np.uint8), connectivity=8)
        for region in range(1, count):
            rows, columns = np.nonzero(components == region)
            results.append(RegionMeasurement(
                label=label, region=region, pixel_count=int(rows.size),
                area=float(rows.size) * row_mm * column_mm, area_unit=area_unit,
                max_diameter=_max_feret(rows, columns, row_mm, column_mm), diameter_unit=diameter_unit))
    return results


def max_feret_diameter(region: np.ndarray, pixel_spacing: tuple[float, float] | None = None) -> float:
    """The largest distance between two pixel corners of a boolean region (mm, or px without spacing).

    The region need not be connected; 0.0 for an empty one.
    """
    region = np.asarray(region)
    if region.ndim != 2:
        raise ValueError(f"expected a 2D region, got shape {region.shape}")
    spacing = _checked_spacing(pixel_spacing) or (1.0, 1.0)
    rows, columns = np.nonzero(region)
    return _max_feret(rows, columns, *spacing)


def measurements_csv(measurements: Mapping[str, Sequence[RegionMeasurement]]) -> str:
    """CSV text with MEASUREMENT_COLUMNS: one row per region, images in the mapping's order.

    Areas and diameters have 4 decimals (a tenth of a micrometre is far below any pixel size).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MEASUREMENT_COLUMNS)
    for image, rows in measurements.items():
        for row in rows:
            diameter = "" if math.isnan(row.max_diameter) else f"{row.max_diameter:.4f}"
            writer.writerow([image, row.label, row.region, f"{row.area:.4f}", row.area_unit,
                             diameter, row.diameter_unit])
    return buffer.getvalue()


def write_measurements_csv(path: str | Path,
                           measurements: Mapping[str, Sequence[RegionMeasurement]]) -> Path:
    """Save `measurements_csv(measurements)` to `path` (e.g. `measurements.csv`), atomically."""
    return atomic_write_text(path, measurements_csv(measurements))


def measure_volume(masks: Sequence[np.ndarray] | np.ndarray, pixel_spacing: tuple[float, float] | None = None,
                   slice_thickness: float | None = None) -> list[RegionMeasurement]:
    """One "volume" row per label of a stack of slice masks: voxel count x voxel volume.

    `masks` is (N, H, W) or a sequence of (H, W) label masks, one per slice; the voxel volume is
    row x column spacing x `slice_thickness` in mm^3 when all are known, else the unit is "voxels".
    """
    stack = [np.asarray(m) for m in masks]
    for mask in stack:
        if mask.ndim != 2 or not (mask.dtype == np.bool_ or mask.dtype.kind in "iu"):
            raise ValueError(f"expected 2D integer label masks, got shape {mask.shape} dtype {mask.dtype}")
    spacing = _checked_spacing(pixel_spacing)
    known = spacing is not None and slice_thickness is not None
    if known and not (math.isfinite(float(slice_thickness)) and float(slice_thickness) > 0):
        raise ValueError(f"slice thickness must be a positive number in mm, got {slice_thickness!r}")
    voxel = spacing[0] * spacing[1] * float(slice_thickness) if known else 1.0
    counts: dict[int, int] = {}
    for mask in stack:
        labels, n = np.unique(mask, return_counts=True)
        for label, count in zip(labels.tolist(), n.tolist()):
            if label != 0:
                counts[int(label)] = counts.get(int(label), 0) + int(count)
    return [RegionMeasurement(label=label, region="volume", pixel_count=count, area=count * voxel,
                              area_unit="mm^3" if known else "voxels", max_diameter=math.nan, diameter_unit="")
            for label, count in sorted(counts.items())]


# -- geometry --------------------------------------------------------------------------------
def _checked_spacing(pixel_spacing: Iterable[float] | None) -> tuple[float, float] | None:
    if pixel_spacing is None:
        return None
    values = tuple(float(v) for v in pixel_spacing)
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"pixel spacing must be two positive numbers (row, column) in mm, got {pixel_spacing!r}")
    return values[0], values[1]


def _max_feret(rows: np.ndarray, columns: np.ndarray, row_mm: float, column_mm: float) -> float:
    if rows.size == 0:
        return 0.0
    hull = _corner_hull(rows, columns)
    points = hull.astype(np.float64) * np.array([column_mm, row_mm])   # (x, y) in mm
    return math.sqrt(_max_squared_distance(points))


def _corner_hull(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Vertices (x, y) of the convex hull of the corners of the given pixels, in pixel-corner units.

    All the pixels of one row lie in the rectangle spanned by the outer corners of its leftmost and
    rightmost pixel, so those four corners per row have the same hull as every corner of every pixel.
    """
    order = np.lexsort((columns, rows))
    rows, columns = rows[order], columns[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:] - 1, rows.size - 1]
    row_ids = rows[starts]
    left, right = columns[starts], columns[ends] + 1
    corners = np.concatenate([
        np.stack([left, row_ids], axis=1), np.stack([left, row_ids + 1], axis=1),
        np.stack([right, row_ids], axis=1), np.stack([right, row_ids + 1], axis=1)]).astype(np.int32)
    return cv2.convexHull(corners.reshape(-1, 1, 2)).reshape(-1, 2)


def _max_squared_distance(points: np.ndarray) -> float:
    """The largest squared distance between two of the points (hull vertices: few), in blocks."""
    best = 0.0
    block = max(1, _PAIRS_PER_CHUNK // max(len(points), 1))
    for start in range(0, len(points), block):
        part = points[start:start + block]
        diff = part[:, None, :] - points[None, :, :]
        best = max(best, float(np.einsum("ijk,ijk->ij", diff, diff).max()))
    return best
