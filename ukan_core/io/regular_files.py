"""Open only regular files: a FIFO, a device such as /dev/zero, a folder or a broken link is
named for what it is and never opened, so a read can neither block nor run forever."""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from ukan_core.errors import BadImageError
from ukan_core.io.names import display_name


def not_a_regular_file(path: str | os.PathLike[str]) -> str | None:
    """None for a regular file (after following links); else what the entry is, e.g. "is a folder"."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "broken link (its target does not exist)" if os.path.lexists(path) else "file not found"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back to itself)"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission denied"
        return f"cannot be read ({exc.strerror or exc})"
    return _kind_of(mode)


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading; BadImageError naming the entry when it is anything else."""
    name = display_name(path)
    problem = not_a_regular_file(path)
    if problem is not None:
        raise BadImageError(f"{name}: {problem}")
    try:
        stream = open(path, "rb", opener=_open_nonblocking)   # O_NONBLOCK: a FIFO swapped in cannot block
    except OSError as exc:
        raise BadImageError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    problem = _kind_of(os.fstat(stream.fileno()).st_mode)   # the entry may have changed since the stat
    if problem is not None:
        stream.close()
        raise BadImageError(f"{name}: {problem}")
    return stream


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not an image file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not an image file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not an image file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not an image file"
    return "is not a regular file"
