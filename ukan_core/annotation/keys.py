"""Mask keys: one mask file name per image file and frame, safe on every file system.

The key is the image's file name exactly as the file system gives it (bytes that are not UTF-8
included, as Python's surrogate escapes), escaped to a portable file name, plus the frame index:
`scan.png` -> `scan.png@0.png`, `scan.jpg` -> `scan.jpg@0.png`, so images that differ only by
extension never share a mask. A key that would not fit (with the temp-file suffix of an atomic
save) in 255 bytes keeps a readable prefix and ends with a hash of the whole name.

Item keys name one frame in the store's records: frame 0 of any file is its file name (so a
single-frame image is keyed exactly as before frames existed), frame k > 0 is `<file name>/<k>`
(`cine.dcm/3` is the fourth frame). A file name never holds "/", so a key always splits back
into one (file name, frame) pair: `item_key` and `split_item_key` convert, `display_item` shows
`cine.dcm [frame 4]`.
"""

from __future__ import annotations

import hashlib
import os

MASK_SUFFIX = ".png"
MAX_KEY_BYTES = 200   # + ".<16 hex>.png.partial" (26 bytes) for the temp file stays under 255
_SAFE_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-+,=()[]{}~!#$&';")
_WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                               *(f"lpt{i}" for i in range(1, 10))})


def mask_file_name(image_name: str, frame: int = 0) -> str:
    """The mask file name (inside `.ukan-studio/masks/`) of frame `frame` of image file `image_name`."""
    if frame < 0:
        raise ValueError(f"{display_name(image_name)}: frame must be >= 0, got {frame}")
    tail = f"@{frame}{MASK_SUFFIX}"
    escaped = _escape(image_name)
    if len(escaped.encode("utf-8")) + len(tail) <= MAX_KEY_BYTES:
        return escaped + tail
    digest = hashlib.sha256(os.fsencode(image_name)).hexdigest()[:16]
    room = MAX_KEY_BYTES - len(tail) - len(digest) - 1
    prefix = escaped.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip("%0123456789ABCDEF")
    return f"{prefix}~{digest}{tail}"


FRAME_SEPARATOR = "/"


def item_key(image_name: str, frame: int = 0) -> str:
    """The store's record key of frame `frame` (0-based) of image file `image_name`."""
    if frame < 0:
        raise ValueError(f"{display_name(image_name)}: frame must be >= 0, got {frame}")
    return image_name if frame == 0 else f"{image_name}{FRAME_SEPARATOR}{frame}"


def split_item_key(key: str) -> tuple[str, int]:
    """(image file name, frame) of a record key; a plain file name is frame 0."""
    name, separator, frame = key.rpartition(FRAME_SEPARATOR)
    if separator and frame.isdigit() and frame.isascii() and name:
        return name, int(frame)
    return key, 0


def item_mask_file_name(key: str) -> str:
    """The mask file name of the item with record key `key` (`mask_file_name` of its name and frame)."""
    return mask_file_name(*split_item_key(key))


def display_item(key: str) -> str:
    """`scan.png`, or `cine.dcm [frame 4]` (counted from 1) for a later frame: for messages and lists."""
    name, frame = split_item_key(key)
    return display_name(name) if frame == 0 else f"{display_name(name)} [frame {frame + 1}]"


def display_name(image_name: str) -> str:
    """A readable form of a file name for messages and lists (undecodable bytes shown as `\\xNN`)."""
    return os.fsencode(image_name).decode("utf-8", errors="backslashreplace")


def _escape(image_name: str) -> str:
    """`image_name` with every character that is unsafe in a file name (or not text) as `%XX` bytes."""
    raw = os.fsencode(image_name)
    text = raw.decode("utf-8", errors="surrogateescape")
    out = []
    for char in text:
        if char in _SAFE_ASCII and char != "%":
            out.append(char)
        elif ord(char) > 127 and not 0xDC80 <= ord(char) <= 0xDCFF and char.isprintable():
            out.append(char)   # readable non-ASCII letters stay as they are
        else:
            out.append("".join(f"%{b:02X}" for b in char.encode("utf-8", errors="surrogateescape")))
    escaped = "".join(out)
    if escaped.split(".")[0].lower() in _WINDOWS_RESERVED:
        escaped = "%" + f"{ord(escaped[0]):02X}" + escaped[1:]
    if escaped.endswith((".", " ")):
        escaped = escaped[:-1] + f"%{ord(escaped[-1]):02X}"
    return escaped
