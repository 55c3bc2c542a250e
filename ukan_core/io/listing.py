"""What in a folder (or a list of inputs) is an image, and one line for every entry that is not.

An entry is an image when it is a regular file (after following links) that is not hidden and
either has an image extension (`sniff.IMAGE_EXTENSIONS`) or has no extension and holds DICOM
(scanners often write `IM0001`). An entry named like an image that cannot be opened (a broken
link, a link loop, a folder named `x.png`, a FIFO, a link to a device) gets a problem line saying
what it is; it is never opened, so listing cannot block. Everything else (other extensions,
hidden files, sub-folders, a DICOMDIR: the index file of a DICOM folder, which holds no image) is
counted as skipped. Only names, `stat` and, for files without an extension, the first 132 bytes
are read; pixels are decoded later by `read_image`.

    listing = list_images(["scans/", "extra.png"])
    listing.images      # [Path, ...] in natural name order per folder ("case 2" before "case 10"), each once
    listing.problems    # ["x.png: is a named pipe (FIFO), not an image file", ...]
    listing.skipped     # how many entries were not images

NIfTI volumes (`.nii`, `.nii.gz`) are listed only when asked (`volumes=True`); `ukan_core.io.items`
lists every frame and slice as an item.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ukan_core.errors import BadImageError
from ukan_core.io.names import display_name
from ukan_core.io.regular_files import not_a_regular_file, open_regular_file
from ukan_core.io.sniff import HEAD_BYTES, IMAGE_EXTENSIONS, is_dicom_content
from ukan_core.io.volumes import is_volume_name


@dataclass
class ImageListing:
    """Images found, one line per entry named like an image that cannot be read, and a skip count."""

    images: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0


def list_images(inputs: Iterable[str | os.PathLike[str]], *, volumes: bool = False) -> ImageListing:
    """Images of the given files and folders (folders: their direct entries, in natural name order).

    A file given by name follows the same rules; an input that does not exist, or exists but is
    neither a regular file nor a folder, gets a problem line. `volumes=True` lists NIfTI files too.
    """
    listing = ImageListing()
    seen: set[tuple[int, int]] = set()
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            try:
                entries = sorted(path.iterdir(), key=lambda p: natural_key(p.name))
            except OSError as exc:
                listing.problems.append(f"{display_name(path)}: folder cannot be read ({exc.strerror or exc})")
                continue
            for entry in entries:
                _add(listing, entry, seen, given=False, volumes=volumes)
        elif not os.path.lexists(path):
            listing.problems.append(f"{display_name(path)}: file not found")
        else:
            _add(listing, path, seen, given=True, volumes=volumes)
    return listing


def list_folder(folder: str | os.PathLike[str], *, strict: bool = False) -> ImageListing:
    """The images directly inside one folder (see `list_images`), in natural name order.

    `strict=True` raises OSError when the folder itself cannot be listed (missing, not a folder,
    unreadable) instead of reporting it as a problem line: the app refuses to open such a folder.
    """
    if strict:
        with os.scandir(Path(folder).expanduser()):
            pass
    return list_images([folder])


def natural_key(name: str) -> tuple[object, ...]:
    """Sort "case 2" before "case 10" and ignore case, as a file manager does; ties by the exact name."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts) + (name,)


def image_verdict(path: Path, *, volumes: bool = False) -> tuple[bool, str | None]:
    """(is an image, problem line or None) for one folder entry; hidden and other files are (False, None)."""
    name = path.name
    if name.startswith("."):
        return False, None
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS or (volumes and is_volume_name(path)):
        problem = not_a_regular_file(path)
        return (True, None) if problem is None else (False, f"{display_name(path)}: {problem}")
    if name.upper() == "DICOMDIR":   # PS3.10 fixes the index file's name; reading it gives its own line
        return False, None
    if suffix == "" and not_a_regular_file(path) is None:
        return _holds_dicom(path), None
    return False, None


def _add(listing: ImageListing, path: Path, seen: set[tuple[int, int]], *, given: bool,
         volumes: bool = False) -> None:
    is_image, problem = image_verdict(path, volumes=volumes)
    if given and not is_image and problem is None:
        kind = not_a_regular_file(path)
        if kind is not None:   # a FIFO or device named on the command line: say so, even without a suffix
            problem = f"{display_name(path)}: {kind}"
    if problem is not None:
        listing.problems.append(problem)
        return
    if not is_image:
        listing.skipped += 1
        return
    try:
        info = os.stat(path)
    except OSError as exc:   # removed since it was looked at
        listing.problems.append(f"{display_name(path)}: cannot be read ({exc.strerror or exc})")
        return
    key = (info.st_dev, info.st_ino)   # the same file through a link or given twice is listed once
    if key not in seen:
        seen.add(key)
        listing.images.append(path)


def _holds_dicom(path: Path) -> bool:
    try:
        with open_regular_file(path) as stream:
            return is_dicom_content(stream.read(HEAD_BYTES))
    except (BadImageError, OSError):
        return False
