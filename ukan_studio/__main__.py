"""`python -m ukan_studio [FOLDER]`."""

from __future__ import annotations

import sys

from ukan_studio.app import main

if __name__ == "__main__":
    sys.exit(main())
