"""Lesion sizes: area and maximum Feret diameter per label and connected region, in mm when the
pixel size is known, and the measurements.csv they are written to."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from ukan_core.measure import (
    MEASUREMENT_COLUMNS,
    RegionMeasurement,
    max_feret_diameter,
    measure_mask,
    write_measurements_csv,
)


def _rectangle(height: int, width: int, top: int = 3, left: int = 5, size: tuple[int, int] = (40, 50)) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    mask[top:top + height, left:left + width] = 1
    return mask


@pytest.mark.parametrize("height, width", [(1, 1), (7, 12), (20, 3)])
@pytest.mark.parametrize("spacing", [None, (1.0, 1.0), (0.5, 0.25), (2.0, 0.7)])
def test_a_rectangle_measures_its_diagonal_in_pixel_corners(height: int, width: int, spacing) -> None:
    (row,) = measure_mask(_rectangle(height, width), spacing)
    row_mm, column_mm = spacing or (1.0, 1.0)
    assert (row.label, row.region, row.pixel_count) == (1, 1, height * width)
    assert row.area == pytest.approx(height * width * row_mm * column_mm)
    assert row.max_diameter == pytest.approx(math.hypot(height * row_mm, width * column_mm))
    assert (row.area_unit, row.diameter_unit) == (("px^2", "px") if spacing is None else ("mm^2", "mm"))


def test_a_disc_measures_its_diameter() -> None:
    mask = np.zeros((201, 201), np.uint8)
    cv2.circle(mask, (100, 100), 80, 1, thickness=-1)
    (row,) = measure_mask(mask, (0.1, 0.1))
    assert row.area == pytest.approx(math.pi * 8.0 ** 2, rel=0.01)   # radius 80 px = 8 mm
    assert 16.0 <= row.max_diameter <= 16.0 + 0.2                     # 161 px across, corners add < 1 px
    assert row.max_diameter == pytest.approx(max_feret_diameter(mask.astype(bool), (0.1, 0.1)))


def test_anisotropic_spacing_stretches_the_right_axis() -> None:
    mask = _rectangle(1, 30)                                          # a horizontal bar, 1 x 30 pixels
    (row,) = measure_mask(mask, (0.1, 2.0))                           # wide pixels: 2 mm per column
    assert row.max_diameter == pytest.approx(math.hypot(0.1, 60.0))
    (row,) = measure_mask(mask, (2.0, 0.1))                           # tall pixels: the bar is 3 mm long
    assert row.max_diameter == pytest.approx(math.hypot(2.0, 3.0))


def test_labels_and_regions_are_counted_separately() -> None:
    mask = np.zeros((30, 40), np.uint8)
    mask[2:5, 2:6] = 1        # label 1, region 1 (first in row order)
    mask[20:22, 30:39] = 1    # label 1, region 2
    mask[10:18, 10:12] = 2    # label 2
    mask[25, 0] = 2           # label 2, a single pixel
    rows = measure_mask(mask, (0.5, 0.5))
    assert [(r.label, r.region, r.pixel_count) for r in rows] == [(1, 1, 12), (1, 2, 18), (2, 1, 16), (2, 2, 1)]
    assert [r.area for r in rows] == pytest.approx([3.0, 4.5, 4.0, 0.25])
    assert rows[3].max_diameter == pytest.approx(math.sqrt(0.5))
    assert np.count_nonzero(mask) == sum(r.pixel_count for r in rows)


def test_diagonal_neighbours_are_one_region_and_an_empty_mask_has_none() -> None:
    mask = np.eye(6, dtype=np.uint8) * 3
    (row,) = measure_mask(mask)
    assert (row.label, row.pixel_count) == (3, 6) and row.max_diameter == pytest.approx(6 * math.sqrt(2))
    assert measure_mask(np.zeros((5, 5), np.uint8)) == []
    assert max_feret_diameter(np.zeros((5, 5), bool)) == 0.0


def test_a_concave_region_measures_across_its_gap() -> None:
    mask = np.zeros((20, 20), np.uint8)
    mask[0:10, 0:2] = 1       # an L: the farthest corners are the ends of the two arms
    mask[8:10, 0:10] = 1
    (row,) = measure_mask(mask)
    assert row.max_diameter == pytest.approx(math.hypot(10, 10))


def test_bad_masks_and_spacings_are_refused() -> None:
    with pytest.raises(ValueError, match="2D integer label mask"):
        measure_mask(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="2D integer label mask"):
        measure_mask(np.zeros((4, 4), np.float32))
    for spacing in ((0.0, 1.0), (1.0, -2.0), (float("nan"), 1.0), (1.0,)):
        with pytest.raises(ValueError, match="pixel spacing"):
            measure_mask(np.ones((4, 4), np.uint8), spacing)


def test_the_csv_has_one_row_per_region_and_is_written_atomically(tmp_path: Path) -> None:
    first = measure_mask(_rectangle(3, 4), (0.5, 0.5))
    second = measure_mask(np.eye(3, dtype=np.uint8) * 2)
    target = tmp_path / "measurements.csv"
    target.write_text("old", encoding="utf-8")
    assert write_measurements_csv(target, {"scan_01.dcm": first, "b, with comma.png": second}) == target
    with target.open(newline="", encoding="utf-8") as stream:
        table = list(csv.reader(stream))
    assert tuple(table[0]) == MEASUREMENT_COLUMNS
    assert table[1] == ["scan_01.dcm", "1", "1", "3.0000", "mm^2", f"{math.hypot(1.5, 2.0):.4f}", "mm"]
    assert table[2] == ["b, with comma.png", "2", "1", "3.0000", "px^2", f"{3 * math.sqrt(2):.4f}", "px"]
    assert len(table) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["measurements.csv"]   # no temp file left


def test_a_failed_write_keeps_the_old_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "measurements.csv"
    target.write_text("old", encoding="utf-8")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("ukan_core.atomic.os.replace", broken)
    with pytest.raises(OSError):
        write_measurements_csv(target, {"x.png": [RegionMeasurement(1, 1, 1, 1.0, "px^2", 1.4, "px")]})
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["measurements.csv"]


def test_a_large_region_is_measured_from_its_hull(tmp_path: Path) -> None:
    mask = np.zeros((2000, 2000), np.uint8)
    cv2.ellipse(mask, (1000, 1000), (900, 400), 30, 0, 360, 1, thickness=-1)
    (row,) = measure_mask(mask, (0.2, 0.2))
    assert row.max_diameter == pytest.approx(2 * 900 * 0.2, abs=0.6)   # the major axis, within a few pixels
