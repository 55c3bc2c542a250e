"""Any supported image file -> pixels plus the facts needed to show and segment it.

One reader for PNG, JPEG, BMP, TIFF, DICOM and (one slice at a time) NIfTI volumes. `read_image` keeps the pixels as stored (after
EXIF orientation and the DICOM rescale), so a 16-bit or float image keeps its values;
`to_rgb8` turns them into the 8-bit RGB that the app draws and the models see.

The file is opened only when it is a regular file (`regular_files`), read through Python's
`open()` and decoded from memory; the decoder is chosen by the content (`sniff`), not the name;
the declared size is checked against the pixel limits (`image_limits`) before decoding. Alpha
channels are dropped, not composited. Every failure raises `BadImageError("<file name>: <reason>")`,
one line, with the name escaped when it holds a newline or undecodable bytes (`names`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ukan_core.errors import BadImageError
from ukan_core.io.image_data import ImageData
from ukan_core.io.names import display_name
from ukan_core.io.pixel_arrays import Decoded, reason
from ukan_core.io.regular_files import open_regular_file
from ukan_core.io.sniff import (
    DICOM,
    DICOM_EXTENSIONS,
    HEAD_BYTES,
    IMAGE_EXTENSIONS,
    TIFF,
    looks_like_headerless_dicom,
    sniff_format,
)
from ukan_core.io.volumes import is_volume_name, read_volume_slice

__all__ = ["IMAGE_EXTENSIONS", "ImageData", "is_image_file", "read_image", "to_rgb8"]
_KIND_BY_SUFFIX = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".dcm": "DICOM",
                   ".dicom": "DICOM", ".png": "PNG", ".bmp": "BMP"}


def is_image_file(path: str | Path) -> bool:
    """True when the name looks like a readable image: a known suffix and not a hidden file.

    Decided by name only (no disk access); hidden files such as macOS `._x.png` resource forks and
    our own `.x.png.partial` temp files are excluded. To list a folder (which also finds DICOM
    files without an extension and names special files), use `ukan_core.io.listing.list_images`.
    """
    p = Path(path)
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def read_image(path: str | Path, frame: int = 0) -> ImageData:
    """Read frame `frame` (0-based; a page of a TIFF, a slice of a NIfTI volume) of one image file.

    Raises BadImageError naming the file and the problem (also for a frame the file does not have).
    """
    p = Path(path)
    name = display_name(p)
    if frame < 0:
        raise BadImageError(f"{name}: frame must be 0 or more, got {frame}")
    if is_volume_name(p):
        return read_volume_slice(p, frame)
    with open_regular_file(p) as stream:
        try:
            head = stream.read(HEAD_BYTES)
            if not head:
                raise BadImageError(f"{name}: empty file (0 bytes)")
            kind = _content_kind(head, p, name)
            data = head + stream.read()
        except OSError as exc:
            raise BadImageError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        decoded = _decode(data, name, kind, frame)
    except BadImageError:
        raise
    except MemoryError:
        raise BadImageError(f"{name}: too large to load into memory") from None
    except Exception as exc:  # decoders raise many types; the user needs one line
        raise BadImageError(f"{name}: {reason(exc)}") from None
    return _image_data(decoded, p, name)


def _content_kind(head: bytes, path: Path, name: str) -> str:
    """The format the content holds; a one-line refusal when it is none we read."""
    kind = sniff_format(head)
    if kind is not None:
        return kind
    suffix = path.suffix.lower()
    if suffix in DICOM_EXTENSIONS or looks_like_headerless_dicom(head):
        return DICOM   # the DICOM reader tries the headerless (ACR-NEMA) form, or says it is not DICOM
    if suffix in IMAGE_EXTENSIONS:
        raise BadImageError(f"{name}: not a valid {_KIND_BY_SUFFIX[suffix]} image (content not recognised)")
    supported = ", ".join(sorted(IMAGE_EXTENSIONS))
    raise BadImageError(f"{name}: unsupported file type '{path.suffix or '(none)'}' (supported: {supported})")


def _decode(data: bytes, name: str, kind: str, frame: int = 0) -> Decoded:
    if kind == DICOM:
        from ukan_core.io.dicom_decoder import decode_dicom

        return decode_dicom(data, name, frame)
    from ukan_core.io.raster_decoders import decode_tiff, decode_with_pil

    if kind == TIFF:
        return decode_tiff(data, name, frame)
    if frame != 0:
        raise BadImageError(f"{name}: a single-frame {kind} image has no frame {frame + 1}")
    return decode_with_pil(data, name, kind)


def _image_data(decoded: Decoded, path: Path, name: str) -> ImageData:
    pixels = np.ascontiguousarray(decoded.pixels)
    if not pixels.flags.writeable:  # arrays viewing PIL buffers are read-only
        pixels = pixels.copy()
    if pixels.size == 0:
        raise BadImageError(f"{name}: image has no pixels")
    return ImageData(pixels=pixels, path=path, bit_depth=decoded.bit_depth,
                     original_size=(int(pixels.shape[0]), int(pixels.shape[1])), **decoded.facts)


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
        import cv2

        # OpenCV copies without holding the interpreter lock; numpy's repeat held it ~35 ms on a
        # 12 MP image, which froze the window while a worker prepared an image.
        out = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(out)


# -- scaling ---------------------------------------------------------------------------------
def _scale_to_uint8(pixels: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    # In place on one float64 copy: a 100 MP image needs 0.8 GB here, not four times that.
    values = pixels.astype(np.float64)
    nan = np.isnan(values)
    if window is not None:
        center, width = window
        # DICOM PS3.3 C.11.2.1.2.1 linear VOI function.
        if width <= 1:
            values = np.where(values > center - 0.5, 255.0, 0.0)
        else:
            values -= center - 0.5
            values /= width - 1
            values += 0.5
            values *= 255.0
    else:
        finite = np.isfinite(values)
        if not finite.any():
            return np.zeros(pixels.shape, np.uint8)
        chosen = values if finite.all() else values[finite]   # a copy only when some are NaN or inf
        lo, hi = float(chosen.min()), float(chosen.max())
        del chosen, finite
        if hi <= lo:
            return np.zeros(pixels.shape, np.uint8)
        with np.errstate(invalid="ignore", over="ignore"):
            values -= lo
            values *= 255.0 / (hi - lo)
    np.clip(values, 0.0, 255.0, out=values)
    values[nan] = 0.0
    np.rint(values, out=values)
    return values.astype(np.uint8)
