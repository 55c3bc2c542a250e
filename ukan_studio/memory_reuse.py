"""Keep freed large blocks in the process's heap, so that copying a 12-megapixel mask costs ~1 ms.

glibc's malloc hands every block over its mmap threshold straight back to the kernel on free, so
the next mask copy, undo snapshot or autosave snapshot of a large image gets fresh pages and
faults each of them in on first write: 6-26 ms of the GUI thread per 12 MB, against ~1 ms into
pages already mapped (measured here). The window makes such copies all the time (a prediction
landing, a stroke's undo step, an autosave), so it asks glibc to serve blocks up to 32 MB from its
heap and to keep up to 256 MB of freed memory there for reuse. Blocks above 32 MB (a 12 MP RGB
image is 36 MB) still come and go by mmap. Elsewhere (macOS, Windows, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024    # glibc's own ceiling for this setting on 64-bit
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024


def keep_freed_memory_for_reuse() -> bool:
    """Tune glibc's malloc as the module docstring says; True when it took effect. Never fatal."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
