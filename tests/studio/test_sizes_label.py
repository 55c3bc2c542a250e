"""Sizes of the current mask in the status bar: mm² with a pixel spacing, px² without, after edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.studio.conftest import stroke
from ukan_studio.controllers.sizes_controller import sizes_text


def _calibrated_folder(tmp_path: Path) -> Path:
    """One TIFF stating 20 pixels per cm (0.5 mm per pixel)."""
    tifffile = pytest.importorskip("tifffile")
    folder = tmp_path / "calibrated"
    folder.mkdir()
    pixels = np.full((96, 128), 120, np.uint8)
    tifffile.imwrite(folder / "scan.tif", pixels, resolution=(20, 20), resolutionunit="CENTIMETER")
    return folder


def test_sizes_follow_a_brush_stroke_in_mm_once_the_stroke_ends(window, qtbot, tmp_path: Path) -> None:
    assert window.open_folder(_calibrated_folder(tmp_path))
    qtbot.waitUntil(lambda: window.sizes_label.text() == "Sizes: No regions", timeout=10_000)
    shown = window.sizes.measured
    window.brush_spin.setValue(9)
    stroke(qtbot, window.canvas, [(20 + x, 40) for x in range(0, 40, 2)])   # 20 mouse moves
    qtbot.waitUntil(lambda: "mm²" in window.sizes_label.text(), timeout=10_000)
    qtbot.wait(600)
    assert window.sizes.measured - shown == 1, "one measurement after the stroke, not one per mouse move"
    text = window.sizes_label.text()
    mask = window.current_mask()
    area_mm2 = (mask == 1).sum() * 0.25
    assert f"Label 1: 1 region, {area_mm2:.1f} mm²" in text, text
    assert "max Ø" in text and text.endswith(" mm"), text


def test_sizes_are_in_pixels_without_a_spacing(window, qtbot) -> None:
    stroke(qtbot, window.canvas, [(10, 10), (30, 10)])
    qtbot.waitUntil(lambda: "px²" in window.sizes_label.text(), timeout=10_000)
    pixels = int((window.current_mask() == 1).sum())
    assert f"1 region, {pixels:.1f} px²" in window.sizes_label.text()


def test_sizes_text_sums_regions_per_label() -> None:
    from ukan_core.measure import measure_mask

    mask = np.zeros((20, 20), np.uint8)
    mask[1:3, 1:3] = 1
    mask[10:12, 10:14] = 1
    mask[15:19, 0:1] = 2
    text = sizes_text(measure_mask(mask, (0.5, 0.5)))
    assert text.startswith("Label 1: 2 regions, 3.0 mm², max Ø ") and " · Label 2: 1 region, 1.0 mm², " in text, text
    assert sizes_text([]) == "No regions"
