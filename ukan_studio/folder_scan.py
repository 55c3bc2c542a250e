"""The images of a folder as the app lists them: the command line's scan, names only."""

from __future__ import annotations

from pathlib import Path

from ukan_core.io.listing import list_folder


def scan_image_names(folder: Path) -> list[str]:
    """File names of the images directly inside `folder`, in natural order; names only, nothing is decoded.

    The same scan as the command line's (`ukan_core.io.listing.list_folder`); OSError when the
    folder itself cannot be listed.
    """
    return [path.name for path in list_folder(folder, strict=True).images]
