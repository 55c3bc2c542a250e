"""Keep the garbage collector's full passes short: freeze the objects that live as long as the app.

Once torch, the engine and Qt are imported the process holds some 350,000 objects that live until
it exits. A full (generation 2) collection walks all of them holding the interpreter lock — about
200 ms on a 2-core machine — and one is triggered by whatever allocates next, often a worker
loading a model, which froze the window for that long. `gc.freeze()` moves the objects alive now
into the permanent generation, which collections skip; objects made later are collected as before.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_objects() -> bool:
    """Freeze the objects alive now (once per process, after the warm-up); True when this call froze them."""
    global _frozen
    if _frozen:
        return False
    gc.freeze()
    _frozen = True
    return True
