"""Items of a folder: one per 2D picture, so every frame of a multi-frame DICOM, every page of a
multi-page TIFF and every slice of a NIfTI volume is an item of its own.

    listing = list_items("scans/")
    listing.items                 # [ImageItem(path, frame, n_frames), ...] in name order, then frame order
    listing.items[3].name         # "ct.nii.gz [4/40]" (a single-frame file is just "scan.png")
    read_item(listing.items[3])   # ImageData of that slice (`read_image(path, frame=k)`)
    for image in iter_frames(path): ...   # every frame of one file in order (a .nii.gz decompressed once)
    locate("scans/ct.nii.gz")     # (folder, ImageItem of its first frame): what a window opens for a file

Counting frames reads only headers: the DICOM header before the pixels, the TIFF page index, the
NIfTI header. A file whose header cannot be read, or declares more pixels than the limits allow
(`image_limits`: per frame and per file), counts as one frame; reading it then gives the one-line
reason, so a forged frame count cannot make a listing of millions of items. Problems and skips are as in `ukan_core.io.listing`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ukan_core.errors import BadImageError
from ukan_core.io.image_limits import check_declared_size
from ukan_core.io.images import ImageData, read_image
from ukan_core.io.listing import image_verdict, list_images
from ukan_core.io.names import display_name
from ukan_core.io.regular_files import not_a_regular_file, open_regular_file
from ukan_core.io.sniff import DICOM, HEAD_BYTES, IMAGE_EXTENSIONS, TIFF, is_dicom_content, sniff_format
from ukan_core.io.volumes import VOLUME_SUFFIXES, is_volume_name, iter_volume_slices, volume_info


@dataclass(frozen=True)
class ImageItem:
    """Frame `frame` (0-based) of the `n_frames` frames of the file `path`."""

    path: Path
    frame: int = 0
    n_frames: int = 1

    @property
    def name(self) -> str:
        """`scan.png`, or `name [k/N]` (k counted from 1) for a frame of a multi-frame file."""
        base = display_name(self.path)
        return base if self.n_frames == 1 else f"{base} [{self.frame + 1}/{self.n_frames}]"


@dataclass
class ItemListing:
    """Items found, one line per entry named like an image that cannot be read, and a skip count."""

    items: list[ImageItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0


def list_items(inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> ItemListing:
    """One item per frame/page/slice of the images and NIfTI volumes of a folder (or of several inputs)."""
    given = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    files = list_images(given, volumes=True)
    listing = ItemListing(problems=list(files.problems), skipped=files.skipped)
    for path in files.images:
        count = frame_count(path)
        listing.items.extend(ImageItem(path, frame, count) for frame in range(count))
    return listing


def read_item(item: ImageItem) -> ImageData:
    """The pixels and facts of one item (BadImageError naming the file and the problem)."""
    return read_image(item.path, frame=item.frame)


def iter_frames(path: str | os.PathLike[str]) -> Iterator[ImageData]:
    """Every frame of one file, in order (BadImageError naming the file at the first that fails)."""
    p = Path(path)
    if is_volume_name(p):
        yield from iter_volume_slices(p)
        return
    for frame in range(frame_count(p)):
        yield read_image(p, frame=frame)


def frame_count(path: str | os.PathLike[str]) -> int:
    """Frames of a DICOM, pages of a TIFF, slices of a NIfTI; 1 for other images and unreadable headers."""
    p = Path(path)
    try:
        if is_volume_name(p):
            return volume_info(p).n_slices
        with open_regular_file(p) as stream:
            head = stream.read(HEAD_BYTES)
            kind = sniff_format(head)
            if kind == TIFF:
                return _tiff_pages(stream)
            if kind == DICOM or (kind is None and is_dicom_content(head)):
                return _dicom_frames(stream)
    except (BadImageError, OSError):
        return 1
    return 1


def locate(path: str | os.PathLike[str]) -> tuple[Path, ImageItem]:
    """(the folder to open, the item to show) for one image file given on its own, e.g. `ukan-studio FILE`.

    The folder is the file's own folder (absolute); the item is its first frame. BadImageError with
    one line when the path is not a file we read (missing, a folder, a FIFO, another file type).
    """
    p = Path(path).expanduser().absolute()
    name = display_name(p)
    problem = not_a_regular_file(p)
    if problem is not None:
        raise BadImageError(f"{name}: {problem}")
    is_image, problem = image_verdict(p, volumes=True)
    if problem is not None:
        raise BadImageError(problem)
    if not is_image:
        supported = ", ".join(sorted(IMAGE_EXTENSIONS | set(VOLUME_SUFFIXES)))
        raise BadImageError(f"{name}: not an image file (supported: {supported}, and DICOM without extension)")
    return p.parent, ImageItem(p, 0, frame_count(p))


def _tiff_pages(stream) -> int:
    import tifffile

    stream.seek(0)
    try:
        with tifffile.TiffFile(stream) as tif:
            pages = max(len(tif.pages), 1)
            first = tif.pages[0]
            check_declared_size("", first.imagewidth, first.imagelength, frames=pages,
                                depth=getattr(first, "imagedepth", 1))
            return pages
    except Exception:   # a broken or oversized TIFF: one item, whose read says why
        return 1


def _dicom_frames(stream) -> int:
    import pydicom

    from ukan_core.io.dicom_decoder import quiet_pydicom

    stream.seek(0)
    with quiet_pydicom(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(stream, stop_before_pixels=True, force=True)
            frames = max(int(ds.get("NumberOfFrames", 1) or 1), 1)
            check_declared_size("", int(ds.get("Columns", 0) or 0), int(ds.get("Rows", 0) or 0), frames=frames)
            return frames
        except Exception:   # a broken or oversized header: one item, whose read says why
            return 1
