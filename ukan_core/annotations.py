"""Former home of the annotation store, kept so that existing scripts keep importing it.

New code imports `ukan_core.annotation` (the package: store, keys, statuses, lock, export).
"""

from ukan_core.annotation import *  # noqa: F401,F403
from ukan_core.annotation import __all__  # noqa: F401
from ukan_core.annotation.store import DEFAULT_CLASSES, fallback_location  # noqa: F401
