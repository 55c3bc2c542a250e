"""DICOM as it comes from PACS and scanners: every DICOM bundled with pydicom reads or is refused
with its known reason; compressed transfer syntaxes decode to the same pixels as uncompressed
ones; VOI LUT, modality LUT, PALETTE COLOR and pixel spacing are applied or reported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import JPEGLosslessSV1, MPEG2MPML

from ukan_core.errors import BadImageError
from ukan_core.io.images import read_image, to_rgb8
from ukan_core.io.listing import list_folder

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

# The bundled files that do not open, each with the start of its reason (after "<name>: ").
NOT_IMAGES = {
    "DICOM file has no pixel data": [
        "UN_sequence.dcm", "empty_charset_LEI.dcm", "no_meta_group_length.dcm", "priv_SQ.dcm", "reportsi.dcm",
        "reportsi_with_empty_number_tags.dcm", "rtplan.dcm", "rtplan_truncated.dcm", "test-SR.dcm",
        "waveform_ecg.dcm"],
    "not a DICOM file (no DICM header)": [   # bare datasets without pixel data
        "ExplVR_BigEndNoMeta.dcm", "ExplVR_LitEndNoMeta.dcm", "no_meta.dcm", "rtstruct.dcm"],
    "a DICOMDIR (the index of a DICOM folder), not an image": [
        "dicomdirtests/DICOMDIR", "dicomdirtests/DICOMDIR-bigEnd", "dicomdirtests/DICOMDIR-empty.dcm",
        "dicomdirtests/DICOMDIR-implicit", "dicomdirtests/DICOMDIR-nooffset", "dicomdirtests/DICOMDIR-nopatient",
        "dicomdirtests/DICOMDIR-reordered", "dicomdirtests/TINY_ALPHA/DICOMDIR"],
    "cannot decode DICOM pixels (JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91)": [
        "JPEG2000-embedded-sequence-delimiter.dcm"],   # a broken codestream, on purpose
    "cannot decode DICOM pixels (Explicit VR Little Endian (1.2.840.10008.1.2.1): The number of bytes": [
        "MR_truncated.dcm"],
    "corrupt DICOM header": ["badVR.dcm"],
    "cannot decode DICOM pixels (the file names no transfer syntax)": ["meta_missing_tsyntax.dcm"],
    "cannot decode DICOM pixels (Implicit VR Little Endian (1.2.840.10008.1.2): Missing required element": [
        "nested_priv_SQ.dcm"],
}
REASON_OF = {name: reason for reason, names in NOT_IMAGES.items() for name in names}
# The scanner-style files of dicomdirtests/ without pixel data (the TINY_ALPHA series stores none).
NO_PIXELS_PREFIX = "dicomdirtests/TINY_ALPHA/PT000000/"


def _bundled_dicom_files() -> list[str]:
    """Relative paths of pydicom's test DICOMs (named *.dcm, or without an extension), walked on disk."""
    found = []
    for folder, _, names in os.walk(TEST_FILES):
        for name in names:
            path = Path(folder) / name
            if path.suffix.lower() in ("", ".dcm") and not name.upper().startswith("README"):
                found.append(path.relative_to(TEST_FILES).as_posix())
    return sorted(found)


BUNDLED = _bundled_dicom_files()


def test_the_bundled_folder_is_the_one_measured() -> None:
    assert len(BUNDLED) > 150
    assert set(REASON_OF) <= set(BUNDLED), "a known-unsupported file is missing from pydicom's folder"


@pytest.mark.parametrize("relative", BUNDLED)
def test_every_bundled_dicom_reads_or_fails_with_its_known_reason(relative: str) -> None:
    path = TEST_FILES / relative
    expected = REASON_OF.get(relative)
    if expected is None and relative.startswith(NO_PIXELS_PREFIX):
        expected = "DICOM file has no pixel data"
    if expected is None:
        image = read_image(path)
        assert image.pixels.size > 0 and image.pixels.ndim in (2, 3)
        rgb = to_rgb8(image)
        assert rgb.shape == (*image.pixels.shape[:2], 3) and rgb.dtype == np.uint8
        return
    with pytest.raises(BadImageError) as caught:
        read_image(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path.name}: {expected}"), message


@pytest.mark.parametrize("compressed", [
    "MR_small_jpeg_ls_lossless.dcm",   # JPEG-LS Lossless (imagecodecs through our pydicom plugin)
    "MR_small_jp2klossless.dcm",       # JPEG 2000 Lossless (pylibjpeg-openjpeg or Pillow)
    "MR_small_RLE.dcm",                # RLE Lossless (pydicom's own decoder)
])
def test_lossless_compressed_mr_equals_the_uncompressed_one(compressed: str) -> None:
    reference = read_image(TEST_FILES / "MR_small.dcm")
    image = read_image(TEST_FILES / compressed)
    assert np.array_equal(image.pixels, reference.pixels)
    assert image.window == reference.window and image.pixel_spacing == (0.3125, 0.3125)


def test_jpeg_lossless_sv1_colour_equals_the_rle_original() -> None:
    ds = pydicom.dcmread(TEST_FILES / "SC_rgb_jpeg_gdcm.dcm", stop_before_pixels=True)
    assert ds.file_meta.TransferSyntaxUID == JPEGLosslessSV1
    assert np.array_equal(read_image(TEST_FILES / "SC_rgb_jpeg_gdcm.dcm").pixels,
                          read_image(TEST_FILES / "SC_rgb_rle.dcm").pixels)


def test_jpeg_lossless_falls_back_to_libjpeg_turbo(monkeypatch: pytest.MonkeyPatch) -> None:
    import imagecodecs

    def refuse(_data: bytes) -> None:
        raise RuntimeError("predictor not supported")

    monkeypatch.setattr(imagecodecs, "ljpeg_decode", refuse)
    assert np.array_equal(read_image(TEST_FILES / "SC_rgb_jpeg_gdcm.dcm").pixels,
                          read_image(TEST_FILES / "SC_rgb_rle.dcm").pixels)


def test_12bit_jpeg_extended_decodes_to_pydicoms_reference_values() -> None:
    pixels = read_image(TEST_FILES / "JPEG-lossy.dcm").pixels
    assert pixels.dtype == np.uint16 and pixels.shape == (1024, 256)
    assert pixels[420, 140] == 244 and pixels[230, 120] == 95   # the values pydicom's own tests check


def test_jpeg_ls_near_lossless_16bit_reads() -> None:
    image = read_image(TEST_FILES / "JPEGLSNearLossless_16.dcm")
    assert image.pixels.dtype == np.uint16 and image.bit_depth == 16


def _write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def _mr_small() -> Dataset:
    return pydicom.dcmread(TEST_FILES / "MR_small.dcm")


def test_an_unsupported_transfer_syntax_is_named_with_its_uid(tmp_path: Path) -> None:
    ds = _mr_small()
    ds.file_meta.TransferSyntaxUID = MPEG2MPML   # video: no decoder for it, by design
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    ds["PixelData"].VR = "OB"
    path = _write(ds, tmp_path / "video.dcm")
    with pytest.raises(BadImageError) as caught:
        read_image(path)
    assert str(caught.value) == (
        f"video.dcm: DICOM pixel data in {MPEG2MPML.name} ({MPEG2MPML}) is not supported; "
        "convert it to uncompressed DICOM first")


def _with_voi_lut(ds: Dataset, lut: np.ndarray, first: int, bits: int) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [len(lut), first, bits]
    item.LUTData = lut.astype(np.uint16).tolist()
    item["LUTData"].VR = "US"
    ds.VOILUTSequence = Sequence([item])
    return ds


def test_a_voi_lut_is_applied_and_the_window_spans_its_output(tmp_path: Path) -> None:
    ds = _mr_small()
    stored = ds.pixel_array.astype(np.int64)
    for keyword in ("WindowCenter", "WindowWidth"):
        if keyword in ds:
            del ds[keyword]
    first, entries = int(stored.min()), int(stored.max() - stored.min() + 1)
    lut = (np.arange(entries) * 4095 // (entries - 1))[::-1]          # an inverting 12-bit VOI LUT
    path = _write(_with_voi_lut(ds, lut, first, 12), tmp_path / "voi.dcm")
    image = read_image(path)
    assert np.array_equal(image.pixels, lut[stored - first].astype(np.float32))
    assert image.window == (2048.0, 4096.0)                            # 0..4095 onto the display range
    rgb = to_rgb8(image)[:, :, 0]
    brightest = np.unravel_index(stored.argmax(), stored.shape)
    darkest = np.unravel_index(stored.argmin(), stored.shape)
    assert rgb[brightest] == 0 and rgb[darkest] == 255                 # the LUT inverted it


def test_a_modality_lut_maps_stored_values(tmp_path: Path) -> None:
    ds = _mr_small()
    stored = ds.pixel_array.astype(np.int64)
    first, entries = int(stored.min()), int(stored.max() - stored.min() + 1)
    item = Dataset()
    item.LUTDescriptor = [entries, first, 16]
    item.ModalityLUTType = "US"
    item.LUTData = (np.arange(entries) * 10).astype(np.uint16).tolist()
    item["LUTData"].VR = "US"
    ds.ModalityLUTSequence = Sequence([item])
    image = read_image(_write(ds, tmp_path / "modality_lut.dcm"))
    assert np.array_equal(image.pixels.astype(np.int64), (stored - first) * 10)


def test_a_sigmoid_window_goes_through_pydicoms_formula(tmp_path: Path) -> None:
    ds = _mr_small()
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 600, 800, "SIGMOID"
    image = read_image(_write(ds, tmp_path / "sigmoid.dcm"))
    expected = pydicom.pixels.apply_windowing(ds.pixel_array.astype(np.float64), ds)
    assert np.allclose(image.pixels, expected, rtol=1e-5)
    lo, hi = image.window[0] - image.window[1] / 2, image.window[0] + image.window[1] / 2
    assert lo <= image.pixels.min() and image.pixels.max() <= hi


def test_palette_colour_is_expanded_through_the_files_palette() -> None:
    path = TEST_FILES / "examples_palette.dcm"
    ds = pydicom.dcmread(path)
    image = read_image(path)
    expected = pydicom.pixels.apply_color_lut(ds.pixel_array, ds)
    assert image.pixels.shape == (*ds.pixel_array.shape, 3) and image.pixels.dtype == np.uint8
    assert np.array_equal(image.pixels, np.rint(expected / 257.0).astype(np.uint8))
    assert image.window is None
    assert len(np.unique(image.pixels.reshape(-1, 3), axis=0)) > 10   # colours, not a grey ramp


def test_pixel_spacing_and_imager_pixel_spacing(tmp_path: Path) -> None:
    assert read_image(TEST_FILES / "CT_small.dcm").pixel_spacing == (0.661468, 0.661468)
    ds = _mr_small()
    ds.PixelSpacing = [0.5, 0.25]                     # row spacing, column spacing
    assert read_image(_write(ds, tmp_path / "aniso.dcm")).pixel_spacing == (0.5, 0.25)
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.139, 0.14]             # projection radiography: at the detector
    assert read_image(_write(ds, tmp_path / "imager.dcm")).pixel_spacing == (0.139, 0.14)
    del ds.ImagerPixelSpacing
    assert read_image(_write(ds, tmp_path / "none.dcm")).pixel_spacing is None
    ds.PixelSpacing = [0, 0.5]                        # not a size: unknown, not zero
    assert read_image(_write(ds, tmp_path / "zero.dcm")).pixel_spacing is None


def test_a_dicom_cd_folder_lists_its_images_and_skips_the_dicomdir(tmp_path: Path) -> None:
    series = TEST_FILES / "dicomdirtests" / "77654033" / "CT2"
    shutil.copy(TEST_FILES / "dicomdirtests" / "DICOMDIR", tmp_path / "DICOMDIR")
    for image in sorted(series.iterdir()):
        shutil.copy(image, tmp_path / image.name)
    listing = list_folder(tmp_path)
    assert [p.name for p in listing.images] == sorted(p.name for p in series.iterdir())
    assert listing.problems == [] and listing.skipped == 1
    for path in listing.images:
        assert read_image(path).pixels.size > 0
    with pytest.raises(BadImageError, match=r"^DICOMDIR: a DICOMDIR \(the index of a DICOM folder\), not an image"):
        read_image(tmp_path / "DICOMDIR")


@pytest.mark.parametrize("file, package", [("MR_small_jpeg_ls_lossless.dcm", "imagecodecs"),
                                           ("SC_rgb_jpeg_gdcm.dcm", "imagecodecs")])
def test_without_its_codec_the_error_names_the_syntax_and_the_package(file: str, package: str) -> None:
    # as on an installation without it (pyjpegls, which highdicom brings, also decodes JPEG-LS: blocked too)
    script = ("import sys; sys.modules['imagecodecs'] = None; sys.modules['jpeg_ls'] = None\n"
              "from ukan_core.errors import BadImageError\n"
              "from ukan_core.io.images import read_image\n"
              "try:\n"
              f"    read_image({str(TEST_FILES / file)!r})\n"
              "except BadImageError as exc:\n"
              "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    syntax = pydicom.dcmread(TEST_FILES / file, stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert out.stdout.strip() == (f"{file}: DICOM pixel data in {syntax.name} ({syntax}) needs the "
                                  f"'{package}' package (pip install {package})"), out.stderr
