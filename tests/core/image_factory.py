"""Writes every kind of image file the reader supports (and some it must reject) into a folder.

Shared test-data helper: the image reader tests and the `ukan segment` CLI tests use it. Every
writer takes a folder (and optionally a file name), writes one small file and returns its path.
Pixel content is deterministic (`gradient`), images are non-square (H=24, W=40 by default) so
a transposed read shows up. `write_mixed_folder` fills a folder with good, broken and non-image
files and says which is which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HEIGHT, WIDTH = 24, 40


def gradient(height: int = HEIGHT, width: int = WIDTH, channels: int = 0, dtype=np.uint8) -> np.ndarray:
    """A deterministic test pattern: horizontal ramp, vertical ramp, and their mix per channel."""
    top = float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = [xx / max(width - 1, 1), yy / max(height - 1, 1), (xx + yy) / max(width + height - 2, 1)]
    if channels == 0:
        return np.round(planes[0] * top).astype(dtype) if top != 1.0 else planes[0].astype(dtype)
    stacked = np.stack(planes[:channels] + [planes[0]] * max(0, channels - 3), axis=-1)
    return np.round(stacked * top).astype(dtype) if top != 1.0 else stacked.astype(dtype)


def _pil_save(array: np.ndarray, path: Path, mode: str | None = None, **kwargs) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(path, **kwargs)
    return path


# -- PNG -------------------------------------------------------------------------------------
def write_png_grey8(folder: Path, name: str = "grey8.png") -> Path:
    return _pil_save(gradient(), Path(folder) / name)


def write_png_rgb8(folder: Path, name: str = "rgb8.png") -> Path:
    return _pil_save(gradient(channels=3), Path(folder) / name)


def write_png_grey16(folder: Path, name: str = "grey16.png") -> Path:
    """16-bit grey PNG with values 0..65535 (ramp)."""
    import cv2

    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", gradient(dtype=np.uint16))
    assert ok
    path.write_bytes(data.tobytes())
    return path


def write_png_rgb16(folder: Path, name: str = "rgb16.png") -> Path:
    """16-bit RGB PNG; channel 0 (red) is the horizontal ramp."""
    import cv2

    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = gradient(channels=3, dtype=np.uint16)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))  # cv2 writes BGR
    assert ok
    path.write_bytes(data.tobytes())
    return path


def write_png_rgba(folder: Path, name: str = "rgba.png") -> Path:
    """RGBA PNG: the RGB gradient with a left half fully transparent."""
    rgba = np.dstack([gradient(channels=3), np.full((HEIGHT, WIDTH), 255, np.uint8)])
    rgba[:, : WIDTH // 2, 3] = 0
    return _pil_save(rgba, Path(folder) / name, "RGBA")


def write_png_palette(folder: Path, name: str = "palette.png") -> Path:
    """Palette PNG with three colours: black, red (top half right), blue (bottom half right)."""
    from PIL import Image

    idx = np.zeros((HEIGHT, WIDTH), np.uint8)
    idx[: HEIGHT // 2, WIDTH // 2:] = 1
    idx[HEIGHT // 2:, WIDTH // 2:] = 2
    img = Image.fromarray(idx, "L").convert("P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 9))
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


# -- JPEG / BMP ------------------------------------------------------------------------------
def write_jpeg_rgb(folder: Path, name: str = "photo.jpg") -> Path:
    return _pil_save(gradient(channels=3), Path(folder) / name, quality=95)


def write_jpeg_exif_rotated(folder: Path, name: str = "rotated.jpg") -> Path:
    """JPEG stored as 24×40 (H×W) with EXIF orientation 6 (display rotated 90° clockwise).

    The stored left 10 columns are white, the rest black; displayed (40×24), the top 10 rows
    are white.
    """
    from PIL import Image

    stored = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    stored[:, :10] = 255
    img = Image.fromarray(stored, "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, exif=exif, quality=95)
    return path


def write_jpeg_cmyk(folder: Path, name: str = "cmyk.jpg") -> Path:
    """CMYK JPEG of pure cyan (C=255, M=Y=K=0), i.e. RGB ≈ (0, 255, 255)."""
    cmyk = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    cmyk[:, :, 0] = 255
    return _pil_save(cmyk, Path(folder) / name, "CMYK", quality=95)


def write_bmp(folder: Path, name: str = "image.bmp") -> Path:
    return _pil_save(gradient(channels=3), Path(folder) / name)


# -- TIFF ------------------------------------------------------------------------------------
def write_tiff8(folder: Path, name: str = "grey8.tif") -> Path:
    import tifffile

    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, gradient())
    return path


def write_tiff16(folder: Path, name: str = "grey16.tiff") -> Path:
    import tifffile

    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, gradient(dtype=np.uint16))
    return path


def write_tiff_float_nan(folder: Path, name: str = "float_nan.tif") -> Path:
    """float32 TIFF: values -1..3 (ramp) with NaN in the top-left 4×4 corner."""
    import tifffile

    arr = (gradient(dtype=np.float32) * 4 - 1).astype(np.float32)
    arr[:4, :4] = np.nan
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr)
    return path


# -- DICOM -----------------------------------------------------------------------------------
DICOM_SLOPE, DICOM_INTERCEPT = 2.0, -1024.0
DICOM_WINDOW = (40.0, 400.0)


def dicom_stored_values(frames: int = 1) -> np.ndarray:
    """The uint16 stored values `write_dicom` writes: 0..1000 ramp (frame k adds 10·k)."""
    base = np.round(gradient(dtype=np.float64) * 1000).astype(np.uint16)
    return np.stack([base + 10 * k for k in range(frames)]) if frames > 1 else base


def write_dicom(folder: Path, name: str = "ct.dcm", *, frames: int = 1, window: bool = True,
                monochrome1: bool = False, modality: str = "CT", headerless: bool = False) -> Path:
    """A CT-like DICOM: uint16 stored values, RescaleSlope 2 / Intercept -1024, and (optionally)
    WindowCenter 40 / WindowWidth 400; `frames` > 1 writes a multi-frame file; `headerless`
    writes a bare implicit-VR dataset with no preamble, 'DICM' or file meta (old ACR-NEMA style)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Test^Phantom"
    ds.Rows, ds.Columns = HEIGHT, WIDTH
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleSlope = DICOM_SLOPE
    ds.RescaleIntercept = DICOM_INTERCEPT
    if window:
        ds.WindowCenter, ds.WindowWidth = DICOM_WINDOW
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = dicom_stored_values(frames).tobytes()
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if headerless:
        from pydicom.filebase import DicomBytesIO
        from pydicom.filewriter import write_dataset

        del ds.file_meta
        buffer = DicomBytesIO()
        buffer.is_little_endian, buffer.is_implicit_VR = True, True
        write_dataset(buffer, ds)
        path.write_bytes(buffer.getvalue())
        return path
    ds.save_as(path, enforce_file_format=True)
    return path


# -- broken and non-image files --------------------------------------------------------------
def write_truncated_png(folder: Path, name: str = "truncated.png") -> Path:
    """A real PNG cut to its first 60 % of bytes."""
    path = Path(folder) / name
    good = write_png_rgb8(folder, name)
    data = good.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


def write_text_as_png(folder: Path, name: str = "notes_renamed.png") -> Path:
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is not an image\n", encoding="utf-8")
    return path


def write_empty_jpeg(folder: Path, name: str = "empty.jpg") -> Path:
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


GOOD_WRITERS = {
    "grey8.png": write_png_grey8, "rgb8.png": write_png_rgb8, "grey16.png": write_png_grey16,
    "rgb16.png": write_png_rgb16, "rgba.png": write_png_rgba, "palette.png": write_png_palette,
    "photo.jpg": write_jpeg_rgb, "rotated.jpg": write_jpeg_exif_rotated, "cmyk.jpg": write_jpeg_cmyk,
    "image.bmp": write_bmp, "grey8.tif": write_tiff8, "grey16.tiff": write_tiff16,
    "float_nan.tif": write_tiff_float_nan, "ct.dcm": write_dicom,
    "ünïcode_画像.png": write_png_rgb8,
}
BROKEN_WRITERS = {
    "truncated.png": write_truncated_png, "notes_renamed.png": write_text_as_png, "empty.jpg": write_empty_jpeg,
}


def write_good_images(folder: Path) -> dict[str, Path]:
    """Every supported kind of good image file; {file name: path}."""
    return {name: writer(Path(folder), name) for name, writer in GOOD_WRITERS.items()}


def write_broken_images(folder: Path) -> dict[str, Path]:
    """Files with image suffixes that must be rejected; {file name: path}."""
    return {name: writer(Path(folder), name) for name, writer in BROKEN_WRITERS.items()}


def displayed_size(name: str) -> tuple[int, int]:
    """(H, W) a good file from `write_good_images` has when read (EXIF rotation applied)."""
    return (WIDTH, HEIGHT) if name == "rotated.jpg" else (HEIGHT, WIDTH)


def write_mixed_folder(folder: Path) -> dict:
    """Fill `folder` with good images, broken images and non-image files (no sub-folders).

    Returns {"good": [paths], "broken": [paths], "other": [paths], "sizes": {good file name: (H, W)}};
    lists are sorted by file name. "other" files must be skipped by a folder scan (a .txt, a
    .csv and a hidden `._grey8.png` macOS resource-fork file).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = write_good_images(folder)
    broken = write_broken_images(folder)
    other = {"readme.txt": folder / "readme.txt", "labels.csv": folder / "labels.csv",
             "._grey8.png": folder / "._grey8.png"}
    other["readme.txt"].write_text("not an image\n", encoding="utf-8")
    other["labels.csv"].write_text("id,label\n1,0\n", encoding="utf-8")
    other["._grey8.png"].write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 60)
    return {
        "good": sorted(good.values()),
        "broken": sorted(broken.values()),
        "other": sorted(other.values()),
        "sizes": {name: displayed_size(name) for name in good},
    }
