"""Frozen entry point of `ukan-studio` (PyInstaller): the same `ukan_studio.app:main` as the installed script.

`multiprocessing.freeze_support()` runs first, before the app's modules (Qt, the window) are
imported: when Retrain starts its spawn child, the child is this executable again, and it must
turn into the training process at once instead of opening a second window.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ukan_studio.app import main

    sys.exit(main())
