"""Any supported image file -> pixels plus the facts needed to show and segment it.

One reader for PNG, JPEG, BMP, TIFF and DICOM. `read_image` keeps the pixels as stored (after
EXIF orientation and the DICOM rescale), so a 16-bit or float image keeps its values;
`to_rgb8` turns them into the 8-bit RGB that the app draws and the models see.

Decoders: PIL for PNG/JPEG/BMP (EXIF transpose, CMYK, palettes), OpenCV only for 16-bit colour
PNGs (PIL would drop them to 8 bits), tifffile for TIFF (8/16-bit, float, first page), pydicom
for DICOM. Alpha channels are dropped, not composited: the colour under a transparent pixel is
kept as it is stored. Every failure raises `BadImageError("<file name>: <reason>")`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ukan_core.errors import BadImageError

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"}
)
_PIL_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp"}
_TIFF_EXTENSIONS = {".tif", ".tiff"}
_DICOM_EXTENSIONS = {".dcm", ".dicom"}


@dataclass(frozen=True, eq=False)
class ImageData:
    """Pixels of one image file as stored, plus the facts needed to display them.

    `pixels` is (H, W) grey or (H, W, 3) RGB, dtype uint8, uint16 or float32 (NaN kept).
    `bit_depth` is the depth in the file (8, 16, 32 for float; BitsStored for DICOM).
    `original_size` is (height, width) as displayed, i.e. after EXIF rotation.
    `window` is the DICOM (center, width) in rescaled units, when the file has one.
    `frame_count` is the number of frames/pages in the file; only the first is read.
    `inverted` is True for DICOM MONOCHROME1 (high values are dark); `to_rgb8` flips it.
    """

    pixels: np.ndarray
    path: Path
    bit_depth: int
    original_size: tuple[int, int]
    modality: str | None = None
    window: tuple[float, float] | None = None
    frame_count: int = 1
    inverted: bool = False

    @property
    def is_grey(self) -> bool:
        """True for a single-channel image."""
        return self.pixels.ndim == 2


def is_image_file(path: str | Path) -> bool:
    """True when the name looks like a readable image: a known suffix and not a hidden file.

    Decided by name only (no disk access), so folder scans stay fast; hidden files such as
    macOS `._x.png` resource forks and our own `.x.png.partial` temp files are excluded.
    """
    p = Path(path)
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def read_image(path: str | Path) -> ImageData:
    """Read one image file; raise BadImageError naming the file and the problem."""
    p = Path(path)
    suffix = p.suffix.lower()
    if p.is_dir():
        raise BadImageError(f"{p.name}: is a folder, not an image file")
    if not p.exists():
        raise BadImageError(f"{p.name}: file not found")
    if suffix not in IMAGE_EXTENSIONS:
        supported = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise BadImageError(f"{p.name}: unsupported file type '{p.suffix or '(none)'}' (supported: {supported})")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise BadImageError(f"{p.name}: cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise BadImageError(f"{p.name}: empty file (0 bytes)")
    try:
        if suffix in _DICOM_EXTENSIONS:
            return _read_dicom(p)
        if suffix in _TIFF_EXTENSIONS:
            return _read_tiff(p)
        return _read_with_pil(p)
    except BadImageError:
        raise
    except MemoryError:
        raise BadImageError(f"{p.name}: too large to load into memory") from None
    except Exception as exc:  # decoders raise many types; the user needs one line
        raise BadImageError(f"{p.name}: {_reason(exc)}") from None


def to_rgb8(image: ImageData | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB for display and inference (may share memory with 8-bit RGB pixels).

    8-bit pixels are used as they are. 16-bit and float pixels are mapped through the DICOM
    window when the file has one, else min-max over the finite values (a constant image gives
    zeros). NaN becomes 0; grey becomes three equal channels.
    """
    if isinstance(image, ImageData):
        pixels, window, inverted = image.pixels, image.window, image.inverted
    else:
        pixels, window, inverted = np.asarray(image), None, False
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"expected (H, W) or (H, W, 3) pixels, got shape {pixels.shape}")

    if pixels.dtype == np.uint8 and window is None:
        out = pixels
    elif pixels.dtype == np.bool_:
        out = pixels.astype(np.uint8) * 255
    else:
        out = _scale_to_uint8(pixels, window)
    if inverted:
        out = 255 - out
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out)


# -- scaling ---------------------------------------------------------------------------------
def _scale_to_uint8(pixels: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    values = pixels.astype(np.float64)
    nan = np.isnan(values)
    if window is not None:
        center, width = window
        # DICOM PS3.3 C.11.2.1.2.1 linear VOI function.
        if width <= 1:
            scaled = np.where(values > center - 0.5, 255.0, 0.0)
        else:
            scaled = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    else:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return np.zeros(pixels.shape, np.uint8)
        lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            return np.zeros(pixels.shape, np.uint8)
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = (values - lo) * (255.0 / (hi - lo))
    scaled = np.clip(scaled, 0.0, 255.0)
    scaled[nan] = 0.0
    return np.rint(scaled).astype(np.uint8)


# -- PNG / JPEG / BMP ------------------------------------------------------------------------
def _read_with_pil(path: Path) -> ImageData:
    from PIL import Image, ImageOps, UnidentifiedImageError

    if path.suffix.lower() == ".png" and _png_is_16bit_colour(path):
        return _read_png16_colour(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # big scans are normal
            with Image.open(path) as img:
                img.load()
                frame_count = int(getattr(img, "n_frames", 1))
                img = _exif_transposed(img, ImageOps)
                pixels, bit_depth = _pil_pixels(img, path)
    except UnidentifiedImageError:
        raise BadImageError(f"{path.name}: not a valid {_kind(path)} image (content not recognised)") from None
    except Image.DecompressionBombError:
        raise BadImageError(f"{path.name}: image is too large (over {2 * Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"{path.name}: corrupt or truncated {_kind(path)} ({_reason(exc)})") from None
    return _image_data(pixels, path, bit_depth, frame_count=frame_count)


def _exif_transposed(img, image_ops):
    """Apply the EXIF orientation; a malformed EXIF block must not make the image unreadable."""
    try:
        return image_ops.exif_transpose(img)
    except Exception:
        return img


def _pil_pixels(img, path: Path) -> tuple[np.ndarray, int]:
    mode = img.mode
    if mode == "1":
        return np.asarray(img.convert("L")), 1
    if mode == "L":
        return np.asarray(img), 8
    if mode == "LA":
        return np.asarray(img.getchannel("L")), 8
    if mode == "P" or mode == "PA":
        rgb = img.convert("RGBA").convert("RGB") if "transparency" in img.info else img.convert("RGB")
        return _grey_if_equal(np.asarray(rgb)), 8
    if mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(img.convert("RGB")), 8
    if mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16), 16
    if mode == "I":
        arr = np.asarray(img)
        if arr.min() >= 0 and arr.max() <= 65535:
            return arr.astype(np.uint16), 16
        return arr.astype(np.float32), 32
    if mode == "F":
        return np.asarray(img).astype(np.float32), 32
    raise BadImageError(f"{path.name}: unsupported pixel format '{mode}'")


def _png_is_16bit_colour(path: Path) -> bool:
    """Peek at the PNG header: bit depth 16 with colour type RGB (2) or RGBA (6)."""
    with open(path, "rb") as f:
        head = f.read(26)
    return len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[24] == 16 and head[25] in (2, 6)


def _read_png16_colour(path: Path) -> ImageData:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode handles unicode paths
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise BadImageError(f"{path.name}: corrupt or truncated PNG")
    rgb = cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB)
    return _image_data(rgb.astype(np.uint16), path, 16)


# -- TIFF ------------------------------------------------------------------------------------
def _read_tiff(path: Path) -> ImageData:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise BadImageError(f"{path.name}: TIFF has no image pages")
            page = tif.pages[0]
            frame_count = len(tif.pages)
            arr = page.asarray()
            axes = getattr(page, "axes", "")
    except BadImageError:
        raise
    except tifffile.TiffFileError as exc:
        raise BadImageError(f"{path.name}: not a valid TIFF ({_reason(exc)})") from None
    except ValueError as exc:
        if "imagecodecs" in str(exc):
            raise BadImageError(f"{path.name}: compressed TIFF needs the 'imagecodecs' package") from None
        raise BadImageError(f"{path.name}: corrupt or truncated TIFF ({_reason(exc)})") from None
    if arr.ndim == 3 and axes.startswith("S") and arr.shape[0] in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar (separate) samples -> interleaved
    pixels, bit_depth = _normalise_array(arr, path)
    return _image_data(pixels, path, bit_depth, frame_count=frame_count)


def _normalise_array(arr: np.ndarray, path: Path) -> tuple[np.ndarray, int]:
    """Squeeze to (H, W) or (H, W, 3) and one of uint8/uint16/float32."""
    arr = np.asarray(arr)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        arr = arr[:, :, 0] if arr.shape[2] == 2 else arr[:, :, :3]  # drop alpha
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise BadImageError(f"{path.name}: unsupported image layout {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255, 1
    if arr.dtype == np.uint8:
        return arr, 8
    if arr.dtype == np.uint16:
        return arr, 16
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float32), arr.dtype.itemsize * 8
    raise BadImageError(f"{path.name}: unsupported pixel type {arr.dtype}")


# -- DICOM -----------------------------------------------------------------------------------
def _read_dicom(path: Path) -> ImageData:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        ds = _read_headerless_dicom(path)  # old ACR-NEMA style files lack the 'DICM' preamble
    except Exception as exc:
        raise BadImageError(f"{path.name}: corrupt or truncated DICOM ({_reason(exc)})") from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise BadImageError(f"{path.name}: DICOM file has no pixel data")
    frame_count = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        arr = ds.pixel_array if frame_count == 1 else pydicom.pixels.pixel_array(ds, index=0)
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax))
        raise BadImageError(f"{path.name}: cannot decode DICOM pixels ({name}: {_reason(exc)})") from None
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    bits_stored = int(ds.get("BitsStored", arr.dtype.itemsize * 8) or 8)
    if samples == 1:
        has_rescale = "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds
        if has_rescale:
            arr = apply_modality_lut(arr, ds)
            slope = float(ds.get("RescaleSlope", 1) or 1)
            intercept = float(ds.get("RescaleIntercept", 0) or 0)
            if arr.dtype.kind == "f" or slope != 1 or intercept != 0:
                arr = np.asarray(arr, np.float32)
    pixels, _ = _normalise_array(arr, path)
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    modality = str(ds.Modality) if ds.get("Modality") else None
    return _image_data(
        pixels, path, bits_stored, modality=modality, window=_dicom_window(ds) if samples == 1 else None,
        frame_count=frame_count, inverted=photometric == "MONOCHROME1",
    )


def _read_headerless_dicom(path: Path):
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            ok = "PixelData" in ds and "Rows" in ds and "Columns" in ds
    except Exception:
        ok = False
    if not ok:
        raise BadImageError(f"{path.name}: not a DICOM file (no DICM header)")
    if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import ImplicitVRLittleEndian

        ds.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # the ACR-NEMA default
    return ds


def _dicom_window(ds) -> tuple[float, float] | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if _is_multi(center) else center)
        w = float(width[0] if _is_multi(width) else width)
    except (TypeError, ValueError, IndexError):
        return None
    return (c, w) if w > 0 else None


def _is_multi(value) -> bool:
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__") and hasattr(value, "__getitem__")


# -- shared ----------------------------------------------------------------------------------
def _image_data(pixels: np.ndarray, path: Path, bit_depth: int, **facts) -> ImageData:
    pixels = np.ascontiguousarray(pixels)
    if not pixels.flags.writeable:  # arrays viewing PIL buffers are read-only
        pixels = pixels.copy()
    if pixels.size == 0:
        raise BadImageError(f"{path.name}: image has no pixels")
    return ImageData(pixels=pixels, path=path, bit_depth=bit_depth,
                     original_size=(int(pixels.shape[0]), int(pixels.shape[1])), **facts)


def _grey_if_equal(rgb: np.ndarray) -> np.ndarray:
    """A palette of greys expands to RGB; keep it single-channel like any other grey image."""
    if rgb.ndim == 3 and np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2]):
        return np.ascontiguousarray(rgb[:, :, 0])
    return rgb


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".dcm": "DICOM"}.get(
        suffix, suffix.lstrip(".").upper())


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
