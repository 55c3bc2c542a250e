"""The images of a folder as the app lists them: the command line's scan, one item per frame.

Every frame of a multi-frame DICOM, page of a multi-page TIFF and slice of a NIfTI volume is an
item (`ukan_core.io.items`); the app names each by its store key (`ukan_core.annotation.keys`):
the file name for frame 0, `<file name>/<k>` for frame k, so a single-frame image keeps its plain
file name. Only names and headers are read (frame counts), never pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

from ukan_core.annotation.keys import display_item, display_name, item_key, split_item_key
from ukan_core.io.items import ImageItem, list_items


def scan_items(folder: Path) -> dict[str, ImageItem]:
    """The items of the images and NIfTI volumes directly inside `folder`, by store key, in the
    folder's natural order (frames in frame order); OSError when the folder itself cannot be listed."""
    with os.scandir(Path(folder).expanduser()):
        pass   # a missing or unreadable folder is refused, not reported as an empty one
    return {item_key(item.path.name, item.frame): item for item in list_items(folder).items}


def scan_image_names(folder: Path) -> list[str]:
    """The store keys of the items of `folder` (`scan_items`): plain file names for single-frame images.

    The same scan as the command line's (`ukan_core.io.items.list_items`, NIfTI volumes included);
    OSError when the folder itself cannot be listed.
    """
    return list(scan_items(folder))


def item_of(items: dict[str, ImageItem], folder: Path, key: str) -> ImageItem:
    """The item of store key `key`; a key not listed is frame 0 of the file it names in `folder`."""
    item = items.get(key)
    if item is not None:
        return item
    name, frame = split_item_key(key)
    return ImageItem(folder / name, frame, frame + 1)


def item_display(items: dict[str, ImageItem], key: str) -> str:
    """How lists and messages name an item: `scan.png`, or `cine.dcm [2/5]` for a frame of a file."""
    item = items.get(key)
    if item is None or item.n_frames == 1:
        return display_item(key)
    return f"{display_name(item.path.name)} [{item.frame + 1}/{item.n_frames}]"
