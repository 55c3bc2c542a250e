"""TIFF as tools write it: LZW, deflate, zstd and JPEG compression (through imagecodecs), multi-page
(the first page), and the resolution as the pixel size in mm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ukan_core.errors import BadImageError
from ukan_core.io.images import read_image, to_rgb8


def _ramp16(height: int = 48, width: int = 64) -> np.ndarray:
    return (np.arange(height * width, dtype=np.uint32).reshape(height, width) * 17 % 65536).astype(np.uint16)


@pytest.mark.parametrize("compression", ["lzw", "deflate", "zstd", "packbits"])
def test_16bit_compressed_tiff_keeps_its_values(tmp_path: Path, compression: str) -> None:
    pixels = _ramp16()
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, pixels, compression=compression)
    assert tifffile.TiffFile(path).pages[0].compression.name.lower().startswith(compression[:4])
    image = read_image(path)
    assert image.pixels.dtype == np.uint16 and image.bit_depth == 16
    assert np.array_equal(image.pixels, pixels)


def test_lzw_rgb_with_a_predictor_keeps_its_values(tmp_path: Path) -> None:
    rgb = np.stack([_ramp16(), _ramp16()[::-1], _ramp16()[:, ::-1]], axis=-1)
    path = tmp_path / "rgb_lzw.tif"
    tifffile.imwrite(path, rgb, compression="lzw", predictor=True, photometric="rgb")
    assert np.array_equal(read_image(path).pixels, rgb)


@pytest.mark.parametrize("photometric", ["minisblack", "rgb"])
def test_jpeg_compressed_tiff_reads_close_to_the_original(tmp_path: Path, photometric: str) -> None:
    yy, xx = np.mgrid[0:64, 0:96]
    grey = (xx * 2 + yy).astype(np.uint8)
    pixels = grey if photometric == "minisblack" else np.stack([grey, grey[::-1], 255 - grey], axis=-1)
    path = tmp_path / f"jpeg_{photometric}.tif"
    tifffile.imwrite(path, pixels, compression="jpeg", compressionargs={"level": 95},
                     photometric=photometric)
    image = read_image(path)
    assert image.pixels.shape == pixels.shape and image.pixels.dtype == np.uint8
    assert np.abs(image.pixels.astype(int) - pixels).mean() < 3   # lossy, but the same picture


def test_a_multi_page_tiff_still_reads_its_first_page(tmp_path: Path) -> None:
    pages = np.stack([_ramp16(), _ramp16() // 2, _ramp16() // 3])
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for page in pages:
            tif.write(page, compression="deflate", photometric="minisblack", metadata=None)
    assert len(tifffile.TiffFile(path).pages) == 3
    image = read_image(path)
    assert np.array_equal(image.pixels, pages[0]) and image.frame_count == 3


def test_resolution_in_inch_or_cm_becomes_mm_per_pixel(tmp_path: Path) -> None:
    pixels = _ramp16(20, 30)
    tifffile.imwrite(tmp_path / "dpi.tif", pixels, resolution=(300, 150), resolutionunit="INCH")
    row, column = read_image(tmp_path / "dpi.tif").pixel_spacing
    assert row == pytest.approx(25.4 / 150) and column == pytest.approx(25.4 / 300)   # (x, y) -> (row, column)
    tifffile.imwrite(tmp_path / "cm.tif", pixels, resolution=(100, 50), resolutionunit="CENTIMETER")
    assert read_image(tmp_path / "cm.tif").pixel_spacing == pytest.approx((0.2, 0.1))


def test_resolution_without_a_unit_is_unknown(tmp_path: Path) -> None:
    pixels = _ramp16(20, 30)
    tifffile.imwrite(tmp_path / "none.tif", pixels, resolution=(300, 300), resolutionunit="NONE")
    assert read_image(tmp_path / "none.tif").pixel_spacing is None
    tifffile.imwrite(tmp_path / "plain.tif", pixels)
    assert read_image(tmp_path / "plain.tif").pixel_spacing is None
    from PIL import Image

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "pil.tif")   # PIL writes no resolution
    assert read_image(tmp_path / "pil.tif").pixel_spacing is None


def test_without_imagecodecs_the_error_names_the_compression_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "lzw16.tif"
    tifffile.imwrite(path, _ramp16(), compression="lzw")
    script = ("import sys; sys.modules['imagecodecs'] = None\n"   # as on a machine without the package
              "from ukan_core.io.images import read_image\n"
              f"read_image({str(path)!r})\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode != 0 and last.startswith("ukan_core.errors.BadImageError: lzw16.tif: TIFF compressed with")
    assert "LZW" in last and "pip install imagecodecs" in last


def test_a_corrupt_compressed_strip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.tif"
    tifffile.imwrite(path, _ramp16(), compression="deflate")
    data = bytearray(path.read_bytes())
    page = tifffile.TiffFile(path).pages[0]
    offset = page.dataoffsets[0]
    data[offset:offset + page.databytecounts[0]] = b"\xff" * page.databytecounts[0]
    path.write_bytes(bytes(data))
    with pytest.raises(BadImageError) as caught:
        read_image(path)
    assert str(caught.value).startswith("broken.tif: ") and "\n" not in str(caught.value)


def test_compressed_tiff_displays(tmp_path: Path) -> None:
    path = tmp_path / "show.tif"
    tifffile.imwrite(path, _ramp16(), compression="lzw")
    rgb = to_rgb8(read_image(path))
    assert rgb.dtype == np.uint8 and rgb.max() == 255 and rgb.min() == 0
