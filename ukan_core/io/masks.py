"""Label masks on disk: lossless PNG written atomically, read back as uint8 labels.

A mask is an (H, W) uint8 array of labels as stored: 0 = background, 1..K = classes (or 0/255
for masks made by other tools). Writes go through `atomic_path`, so a crash mid-write never
leaves a half-written PNG under the final name and an older mask stays intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from ukan_core.atomic import atomic_path
from ukan_core.errors import BadImageError


def write_mask(path: str | Path, mask: np.ndarray) -> Path:
    """Write `mask` ((H, W) labels 0..255) as a lossless PNG at `path`, atomically; return the path.

    Bool masks are stored as 0/1. Raises ValueError for a mask that is not 2-D or holds values
    outside 0..255, and OSError when the folder cannot be written.
    """
    target = Path(path)
    labels = _as_labels(mask)
    if target.suffix.lower() != ".png":
        raise ValueError(f"{target.name}: masks are stored as .png (lossless), not '{target.suffix}'")
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as stream:
            _write_png(stream, labels)
    return target


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask file as (H, W) uint8 labels as stored.

    Palette PNGs give their palette indices; RGB(A) masks are reduced to grey by taking the
    largest channel (so a red-on-black mask stays non-zero); alpha is ignored. A 16-bit mask
    keeps its values when they fit in 0..255, and a two-valued 0/max mask becomes 0/255.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if p.is_dir():
        raise BadImageError(f"{p.name}: is a folder, not a mask file")
    if not p.is_file():
        raise BadImageError(f"{p.name}: mask file not found")
    try:
        with Image.open(p) as img:
            img.load()
            labels = _pil_labels(img, p)
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(f"{p.name}: not a valid mask image (content not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadImageError(f"{p.name}: corrupt or truncated mask ({reason})") from None
    return np.array(labels, dtype=np.uint8, order="C")  # a writable copy: PIL's buffer is read-only


def _write_png(stream: BinaryIO, labels: np.ndarray) -> None:
    """Encode `labels` as PNG into `stream` (a seam tests use to simulate a failing encoder)."""
    import cv2

    ok, encoded = cv2.imencode(".png", labels)
    if not ok:
        raise OSError("PNG encoder failed")
    stream.write(encoded.tobytes())


def _as_labels(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"a mask must be a non-empty (H, W) array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.dtype.kind in "iu" or (arr.dtype.kind == "f" and np.array_equal(arr, np.round(arr))):
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError(f"mask labels must lie in 0..255, got {arr.min()}..{arr.max()}")
        return arr.astype(np.uint8)
    raise ValueError(f"mask must hold integer labels, got dtype {arr.dtype}")


def _pil_labels(img, path: Path) -> np.ndarray:
    mode = img.mode
    if mode in ("L", "P"):
        return np.asarray(img)
    if mode == "1":
        return np.asarray(img).astype(np.uint8)
    if mode in ("LA", "PA"):
        return np.asarray(img.getchannel(0))
    if mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr"):
        rgb = np.asarray(img.convert("RGB"))
        return rgb.max(axis=2)
    if mode.startswith("I"):
        arr = np.asarray(img).astype(np.int64)
        if arr.size and arr.min() >= 0 and arr.max() <= 255:
            return arr.astype(np.uint8)
        values = np.unique(arr)
        if len(values) <= 2 and values[0] == 0:
            return (arr > 0).astype(np.uint8) * 255
        raise BadImageError(f"{path.name}: 16-bit mask has labels above 255")
    raise BadImageError(f"{path.name}: unsupported mask pixel format '{mode}'")
