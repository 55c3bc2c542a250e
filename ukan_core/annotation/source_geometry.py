"""How many frames a source image has and how large its pixels are, from its header where it can.

An export measures its masks in millimetres and sizes a NIfTI by the source's pixel spacing; this
reads that without decoding every frame: a DICOM header (`stop_before_pixels`), a NIfTI header;
a TIFF page is decoded (its resolution tags live with the page); PNG, JPEG and BMP carry no spacing.
A source that cannot be read gives no spacing (pixel units) and one frame, never an error: the
masks are what is exported, the source only adds facts.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ukan_core.errors import BadImageError

Spacing = tuple[float, float]


@dataclass(frozen=True)
class SourceGeometry:
    """`n_frames` of the source, (row, column) mm per pixel of each frame (None: unknown), slice thickness."""

    n_frames: int
    spacings: tuple[Spacing | None, ...]
    slice_thickness: float | None = None

    def spacing(self, frame: int) -> Spacing | None:
        return self.spacings[frame] if 0 <= frame < len(self.spacings) else None


def source_geometry(path: str | Path, frames: Iterable[int] | None = None) -> SourceGeometry:
    """The frame count and pixel sizes of image file `path` (see the module docstring).

    `frames` limits the TIFF pages decoded for their spacing (the others get None); all by default.
    """
    from ukan_core.io.items import frame_count
    from ukan_core.io.regular_files import open_regular_file
    from ukan_core.io.sniff import DICOM, HEAD_BYTES, TIFF, is_dicom_content, sniff_format
    from ukan_core.io.volumes import is_volume_name

    p = Path(path)
    try:
        if is_volume_name(p):
            return _nifti(p)
        with open_regular_file(p) as stream:
            head = stream.read(HEAD_BYTES)
        kind = sniff_format(head)
        if kind == DICOM or (kind is None and is_dicom_content(head)):
            return _dicom(p)
        n = frame_count(p)
        if kind == TIFF:
            return _tiff(p, n, range(n) if frames is None else frames)
        return SourceGeometry(n, (None,) * n)
    except (BadImageError, OSError, ValueError):
        return SourceGeometry(1, (None,))


def _nifti(path: Path) -> SourceGeometry:
    from ukan_core.io.volumes import volume_info

    info = volume_info(path)
    rows, columns = info.plane_axes
    spacing = (float(info.zooms[rows]), float(info.zooms[columns]))
    thickness = float(info.zooms[info.slice_axis])
    known = spacing if all(v > 0 for v in spacing) else None
    return SourceGeometry(info.n_slices, (known,) * info.n_slices, thickness if thickness > 0 else None)


def _dicom(path: Path) -> SourceGeometry:
    import pydicom

    from ukan_core.io.dicom_decoder import pixel_spacing_of, quiet_pydicom, slice_thickness_of

    with quiet_pydicom(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
            n = max(int(ds.get("NumberOfFrames", 1) or 1), 1)
            spacings = tuple(pixel_spacing_of(ds, frame) for frame in range(n))
            return SourceGeometry(n, spacings, slice_thickness_of(ds, 0))
        except Exception:   # a broken header: no spacing, one frame (the masks still export)
            return SourceGeometry(1, (None,))


def _tiff(path: Path, n: int, frames: Iterable[int]) -> SourceGeometry:
    from ukan_core.io.images import read_image

    spacings: list[Spacing | None] = [None] * n
    for frame in frames:
        if 0 <= frame < n:
            try:
                spacings[frame] = read_image(path, frame=frame).pixel_spacing
            except BadImageError:
                pass   # that page's mask is still exported, measured in pixels
    return SourceGeometry(n, tuple(spacings))
