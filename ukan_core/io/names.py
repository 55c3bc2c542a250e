"""File names as they appear in one-line messages: never split across lines, always printable.

A name holding a newline, another control character or bytes that are not valid in the file
system's encoding (kept by Python as surrogate escapes) is shown in a repr-like quoted form, so
`error: <name>: <reason>` stays one line and printing it never fails.
"""

from __future__ import annotations

import os
from pathlib import Path


def display_name(path: str | os.PathLike[str]) -> str:
    """The last part of `path` as it may appear in a message: as is when it is plain, else quoted."""
    name = Path(path).name or str(path)
    return name if _is_plain(name) else _quoted(name)


def display_path(path: str | os.PathLike[str]) -> str:
    """The whole of `path` for a message, quoted the same way as `display_name` when needed."""
    text = os.fspath(path)
    return text if _is_plain(text) else _quoted(text)


def _is_plain(text: str) -> bool:
    return all(ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _quoted(text: str) -> str:
    # repr() escapes control characters; surrogate escapes (undecodable bytes) show as \udcXX,
    # which is how Python itself names such a file.
    return repr(text)
