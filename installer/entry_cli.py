"""Frozen entry point of `ukan` (PyInstaller): the same `ukan_core.cli.main:main` as the installed script.

`multiprocessing.freeze_support()` runs first so that spawned children (data-loader workers on
macOS and Windows, where spawn is the default) start as workers, not as a second CLI.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from ukan_core.cli.main import main

    sys.exit(main())
