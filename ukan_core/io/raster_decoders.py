"""PNG, JPEG, BMP and TIFF bytes -> pixels, each checked against the pixel limits before decoding.

PIL for PNG/JPEG/BMP (EXIF transpose, CMYK, palettes), OpenCV only for 16-bit colour PNGs (PIL
would drop them to 8 bits), tifffile for TIFF (8/16-bit, float, one page: the first unless asked; LZW, deflate, JPEG,
JPEG 2000, zstd ... through its codec package `imagecodecs`; the resolution as the pixel size in
mm). Everything decodes from memory: no decoder is handed a path, so any file name works.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np

from ukan_core.errors import BadImageError
from ukan_core.io.image_limits import check_declared_size, refuse_pil_bomb
from ukan_core.io.pixel_arrays import Decoded, grey_if_equal, normalise_array, reason


def decode_with_pil(data: bytes, name: str, kind: str) -> Decoded:
    """PNG, JPEG or BMP content (`kind` names it in errors)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if kind == "PNG" and _png_is_16bit_colour(data):
        return _decode_png16_colour(data, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            with Image.open(io.BytesIO(data)) as img:
                frame_count = int(getattr(img, "n_frames", 1))
                check_declared_size(name, img.width, img.height, frames=frame_count)
                img.load()
                img = _exif_transposed(img, ImageOps)
                pixels, bit_depth = _pil_pixels(img, name)
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(f"{name}: not a valid {kind} image (content not recognised)") from None
    except Image.DecompressionBombError as exc:
        raise refuse_pil_bomb(name, exc) from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise BadImageError(f"{name}: corrupt or truncated {kind} ({reason(exc)})") from None
    return Decoded(pixels, bit_depth, {"frame_count": frame_count})


def _exif_transposed(img, image_ops):
    """Apply the EXIF orientation (in place: without one, no copy of the pixels is made); a malformed
    EXIF block must not make the image unreadable."""
    try:
        image_ops.exif_transpose(img, in_place=True)
    except Exception:
        pass
    return img


def _pil_pixels(img, name: str) -> tuple[np.ndarray, int]:
    mode = img.mode
    if mode == "1":
        return np.asarray(img.convert("L")), 1
    if mode == "L":
        return np.asarray(img), 8
    if mode == "LA":
        return np.asarray(img.getchannel("L")), 8
    if mode == "P" or mode == "PA":
        rgb = img.convert("RGBA").convert("RGB") if "transparency" in img.info else img.convert("RGB")
        return grey_if_equal(np.asarray(rgb)), 8
    if mode == "RGB":
        return np.asarray(img), 8   # convert("RGB") would copy every pixel once more
    if mode in ("RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
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
    raise BadImageError(f"{name}: unsupported pixel format '{mode}'")


def _png_is_16bit_colour(data: bytes) -> bool:
    """The PNG header says bit depth 16 with colour type RGB (2) or RGBA (6)."""
    return len(data) >= 26 and data[24] == 16 and data[25] in (2, 6)


def _decode_png16_colour(data: bytes, name: str) -> Decoded:
    import cv2

    width, height = struct.unpack_from(">II", data, 16)   # IHDR, read before OpenCV allocates
    check_declared_size(name, width, height)
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise BadImageError(f"{name}: corrupt or truncated PNG")
    rgb = cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB)
    return Decoded(rgb.astype(np.uint16), 16)


def decode_tiff(data: bytes, name: str, page_index: int = 0) -> Decoded:
    """Page `page_index` (0-based) of a TIFF; its declared shape is checked before it is decoded."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            if not tif.pages:
                raise BadImageError(f"{name}: TIFF has no image pages")
            frame_count = len(tif.pages)
            if not 0 <= page_index < frame_count:
                raise BadImageError(f"{name}: has {frame_count} page{'s' if frame_count != 1 else ''}, "
                                    f"no page {page_index + 1}")
            page = tif.pages[page_index]
            check_declared_size(name, page.imagewidth, page.imagelength, frames=frame_count,
                                depth=getattr(page, "imagedepth", 1))
            arr = page.asarray()
            axes = getattr(page, "axes", "")
            spacing = tiff_pixel_spacing(page)
    except BadImageError:
        raise
    except tifffile.TiffFileError as exc:
        raise BadImageError(f"{name}: not a valid TIFF ({reason(exc)})") from None
    except ValueError as exc:
        if "imagecodecs" in str(exc):
            compression = getattr(getattr(page, "compression", None), "name", "this compression")
            raise BadImageError(f"{name}: TIFF compressed with {compression} needs the 'imagecodecs' package "
                                "with that codec (pip install imagecodecs)") from None
        raise BadImageError(f"{name}: corrupt or truncated TIFF ({reason(exc)})") from None
    if arr.ndim == 3 and axes.startswith("S") and arr.shape[0] in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar (separate) samples -> interleaved
    pixels, bit_depth = normalise_array(arr, name)
    return Decoded(pixels, bit_depth, {"frame_count": frame_count, "pixel_spacing": spacing, "frame": page_index})


_MM_PER_UNIT = {2: 25.4, 3: 10.0}   # TIFF ResolutionUnit: 2 = inch, 3 = centimetre (1 = no unit)


def tiff_pixel_spacing(page) -> tuple[float, float] | None:
    """Millimetres per pixel (row, column) from YResolution/XResolution (pixels per unit) when the
    file states its ResolutionUnit as inch or cm; None otherwise (no unit stated, or "none")."""
    tags = page.tags
    unit_tag = tags.get("ResolutionUnit")
    try:
        unit = int(unit_tag.value) if unit_tag is not None else None
    except (TypeError, ValueError):
        return None
    if unit not in _MM_PER_UNIT or "XResolution" not in tags or "YResolution" not in tags:
        return None
    try:
        x = _rational(tags["XResolution"].value)
        y = _rational(tags["YResolution"].value)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (np.isfinite(x) and np.isfinite(y) and x > 0 and y > 0):
        return None
    mm = _MM_PER_UNIT[unit]
    return mm / y, mm / x


def _rational(value) -> float:
    if isinstance(value, tuple):
        return float(value[0]) / float(value[1])
    return float(value)
