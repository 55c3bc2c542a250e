"""Files appear whole or not at all: write to a temporary file beside the target, then rename.

Temporary files are named `.<target name, shortened to fit>.<random>.partial`, never longer than
`MAX_NAME_BYTES`, so a target with a long name still gets a temp name every file system accepts;
`remove_stale_partials` sweeps the ones a killed process left behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Iterator

MAX_NAME_BYTES = 255      # ext4, NTFS, APFS, btrfs: a file name is at most 255 bytes (UTF-8 / UTF-16 units)
PARTIAL_SUFFIX = ".partial"
_RANDOM_CHARS = 8


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None,
                sync_folder: bool = True) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces `path` atomically.

    On an exception the temporary file is removed and `path` is left untouched. `suffix`
    (default: the target's own) lets writers that choose a format by extension (cv2) work.
    `sync_folder=False` skips the folder fsync after the rename, for files whose loss after a
    power cut is repaired from elsewhere (the annotation index is rebuilt from the masks).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / temp_name(target.name, suffix if suffix is not None else target.suffix)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # the umask applies, as for any new file
    os.close(fd)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
        if sync_folder:
            _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def temp_name(target_name: str, suffix: str = "") -> str:
    """A fresh temporary file name for `target_name` that fits in MAX_NAME_BYTES (file-system bytes)."""
    tail = f".{secrets.token_hex(_RANDOM_CHARS // 2)}{suffix}{PARTIAL_SUFFIX}"
    room = MAX_NAME_BYTES - 1 - len(os.fsencode(tail))
    encoded = os.fsencode(target_name)[:max(room, 0)]
    stem = os.fsdecode(encoded)
    while len(os.fsencode(stem)) > room:   # a cut inside a multi-byte character: drop it whole
        stem = stem[:-1]
    return f".{stem}{tail}"


def remove_stale_partials(folder: str | os.PathLike[str], *, older_than_s: float = 0.0) -> list[Path]:
    """Delete `*.partial` temp files in `folder` (left by a killed save); returns what was removed.

    Only call this while holding the folder's lock: another live writer's temp file looks the same.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX)):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime >= older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, sync_folder: bool = True) -> Path:
    """Write `data` to `path` atomically and return the path."""
    with atomic_path(path, sync_folder=sync_folder) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, sync_folder: bool = True) -> Path:
    """Write UTF-8 `text` to `path` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"), sync_folder=sync_folder)


def _fsync_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Make the names renamed into `folder` durable (one fsync of the folder; nothing on Windows)."""
    _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
