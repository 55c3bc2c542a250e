"""Where a folder's annotations live when the folder itself cannot be written."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from ukan_core.paths import user_data_dir


def fallback_location(folder: Path) -> Path:
    """Where the annotations of a read-only `folder` live: a per-user folder named by its path hash."""
    digest = hashlib.sha256(os.fsencode(str(Path(folder).resolve()))).hexdigest()[:16]
    return user_data_dir() / "annotations" / digest


def is_writable(folder: Path) -> bool:
    """True when a file can really be created in `folder` (os.access lies on some mounts)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".write-test.", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True
