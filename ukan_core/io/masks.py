"""Label masks on disk: lossless PNG written atomically, read back as uint8 labels.

A mask is an (H, W) uint8 array of labels as stored: 0 = background, 1..K = classes (or 0/255
for masks made by other tools). Writes go through `atomic_path`, so a crash mid-write never
leaves a half-written PNG under the final name and an older mask stays intact. A mask may carry
a short text note in the same file (a PNG tEXt chunk, e.g. the Studio's `ukan-status`), so facts
about the mask land on disk in the same atomic rename as its pixels.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ukan_core.atomic import atomic_path
from ukan_core.errors import BadImageError


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER_READ_BYTES = 64 * 1024   # text chunks sit before the pixels; never read further than this


def write_mask(path: str | Path, mask: np.ndarray, *, text: dict[str, str] | None = None,
               sync_folder: bool = True) -> Path:
    """Write `mask` ((H, W) labels 0..255) as a lossless PNG at `path`, atomically; return the path.

    Bool masks are stored as 0/1. `text` adds tEXt chunks (ASCII/Latin-1 keys and values) in the
    same file. Raises ValueError for a mask that is not 2-D or holds values outside 0..255, and
    OSError when the folder cannot be written. `sync_folder=False` leaves the folder's fsync to the
    caller (one per folder after many masks; the file itself is still synced before its rename).
    """
    target = Path(path)
    labels = _as_labels(mask)
    if target.suffix.lower() != ".png":
        raise ValueError(f"{target.name}: masks are stored as .png (lossless), not '{target.suffix}'")
    with atomic_path(target, sync_folder=sync_folder) as tmp:
        with open(tmp, "wb") as stream:
            if text:
                stream.write(_with_text_chunks(_encode_png(labels), text))
            else:
                _write_png(stream, labels)
    return target


def read_mask_text(path: str | Path) -> dict[str, str]:
    """The tEXt chunks before the pixels of PNG `path` (no pixel is decoded); {} when there are none.

    Raises OSError when the file cannot be read; a file that is not a PNG gives {}.
    """
    with open(path, "rb") as stream:
        head = stream.read(_HEADER_READ_BYTES)
    if not head.startswith(PNG_SIGNATURE):
        return {}
    found: dict[str, str] = {}
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[at:at + 8])
        if kind in (b"IDAT", b"IEND") or at + 12 + length > len(head):
            break
        if kind == b"tEXt":
            key, _, value = head[at + 8:at + 8 + length].partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        at += 12 + length
    return found


def _encode_png(labels: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", labels)
    if not ok:
        raise OSError("PNG encoder failed")
    return encoded.tobytes()


def _with_text_chunks(png: bytes, text: dict[str, str]) -> bytes:
    """`png` with a tEXt chunk per item inserted right after IHDR (before the pixels)."""
    ihdr_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4
    chunks = []
    for key, value in text.items():
        data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
        chunks.append(struct.pack(">I", len(data)) + b"tEXt" + data
                      + struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF))
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


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
    stream.write(_encode_png(labels))


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
