"""NIfTI volumes (`.nii`, `.nii.gz`) as a stack of 2D slices, read one slice at a time.

The slice axis is the voxel axis closest to the patient's superior-inferior axis (nibabel's
`aff2axcodes` of the affine), so a volume is shown as axial slices whatever order its voxels are
stored in, oblique affines included. A slice keeps the voxel order of the other two axes (rows =
the first remaining axis, columns = the second): masks map back to the volume exactly, but the
slice is not reoriented for display. Only the header is read to list a volume and to check its
size against the pixel limits (`image_limits`); a slice is read through nibabel's array proxy, so
an uncompressed volume is never loaded whole (a `.nii.gz` is decompressed up to the slice;
`iter_volume_slices` decompresses it once to go through every slice).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ukan_core.errors import BadImageError
from ukan_core.io.image_data import ImageData
from ukan_core.io.image_limits import check_declared_size
from ukan_core.io.names import display_name
from ukan_core.io.pixel_arrays import normalise_array, reason
from ukan_core.io.regular_files import not_a_regular_file

VOLUME_SUFFIXES = (".nii", ".nii.gz")
WHOLE_READ_VOXELS = 128_000_000   # 1 GB as float64: beyond this a .nii.gz is read slice by slice
_MM_PER_UNIT = {"mm": 1.0, "unknown": 1.0, "meter": 1000.0, "micron": 0.001}


def is_volume_name(path: str | Path) -> bool:
    """True when the file name ends in `.nii` or `.nii.gz` (any case) and is not hidden."""
    name = Path(path).name
    return not name.startswith(".") and name.lower().endswith(VOLUME_SUFFIXES)


def volume_stem(path: str | Path) -> str:
    """The name without `.nii` / `.nii.gz`: `ct.nii.gz` -> `ct`."""
    name = Path(path).name
    for suffix in sorted(VOLUME_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


@dataclass(frozen=True)
class VolumeInfo:
    """What the header of one NIfTI file says: 3D `shape` (a 2D image gets one slice), the file's
    own `stored_shape`, the `affine` (voxel -> RAS+ mm), the `slice_axis` (0, 1 or 2), the voxel
    size in mm per axis (`zooms`) and the stored data type."""

    shape: tuple[int, int, int]
    stored_shape: tuple[int, ...]
    affine: np.ndarray
    slice_axis: int
    zooms: tuple[float, float, float]
    dtype: np.dtype

    @property
    def n_slices(self) -> int:
        return int(self.shape[self.slice_axis])

    @property
    def plane_axes(self) -> tuple[int, int]:
        """The (row, column) voxel axes of a slice."""
        rows, columns = (axis for axis in range(3) if axis != self.slice_axis)
        return rows, columns

    @property
    def slice_size(self) -> tuple[int, int]:
        """(height, width) of one slice."""
        rows, columns = self.plane_axes
        return int(self.shape[rows]), int(self.shape[columns])


def slice_axis_of(affine: np.ndarray) -> int:
    """The voxel axis nearest to superior-inferior (axial slices); the last axis when none is."""
    import nibabel as nib

    try:
        codes = nib.aff2axcodes(np.asarray(affine, dtype=np.float64))
    except Exception:   # a degenerate affine: keep the stored order
        return 2
    for axis, code in enumerate(codes[:3]):
        if code in ("S", "I"):
            return axis
    return 2


def volume_info(path: str | Path) -> VolumeInfo:
    """The header facts of a NIfTI file (no pixel is read); BadImageError naming the file otherwise."""
    image = _load(path)
    return _info(image, display_name(path))


def read_volume_slice(path: str | Path, index: int) -> ImageData:
    """Slice `index` (0-based, along `VolumeInfo.slice_axis`) as `ImageData`, values as stored × scaling."""
    p = Path(path)
    name = display_name(p)
    image = _load(p)
    info = _info(image, name)
    if not 0 <= index < info.n_slices:
        raise BadImageError(f"{name}: has {info.n_slices} slices, no slice {index + 1}")
    return _slice_image(_read_voxels(image, info, name, index), info, p, index)


def iter_volume_slices(path: str | Path) -> Iterator[ImageData]:
    """Every slice in order. A `.nii.gz` up to WHOLE_READ_VOXELS is decompressed once (not once per
    slice, which costs O(slices²)); larger or uncompressed files are read slice by slice."""
    p = Path(path)
    name = display_name(p)
    image = _load(p)
    info = _info(image, name)
    if not name.lower().endswith(".gz") or int(np.prod(info.shape)) > WHOLE_READ_VOXELS:
        for index in range(info.n_slices):
            yield _slice_image(_read_voxels(image, info, name, index), info, p, index)
        return
    voxels = _read_voxels(image, info, name, None)
    for index in range(info.n_slices):
        yield _slice_image(np.take(voxels, index, axis=info.slice_axis), info, p, index)


def _read_voxels(image, info: VolumeInfo, name: str, index: int | None) -> np.ndarray:
    """Slice `index` (2D), or the whole volume as 3D when `index` is None, through the array proxy."""
    stored = info.stored_shape
    slicer: list[object] = [slice(None)] * len(stored)
    for axis in range(3, len(stored)):
        slicer[axis] = 0   # trailing axes of length 1
    if index is not None and len(stored) > 2:
        slicer[info.slice_axis] = index
    try:
        voxels = np.asanyarray(image.dataobj[tuple(slicer)])
    except MemoryError:
        raise BadImageError(f"{name}: too large to load into memory") from None
    except Exception as exc:
        raise BadImageError(f"{name}: corrupt or truncated NIfTI ({reason(exc)})") from None
    if voxels.dtype.fields is not None:
        raise BadImageError(f"{name}: NIfTI with RGB or structured voxels is not supported; save it as grey values")
    return voxels[:, :, None] if index is None and voxels.ndim == 2 else voxels


def _slice_image(plane: np.ndarray, info: VolumeInfo, path: Path, index: int) -> ImageData:
    pixels, _ = normalise_array(np.ascontiguousarray(plane), display_name(path))
    if not pixels.flags.writeable:
        pixels = pixels.copy()
    rows, columns = info.plane_axes
    spacing = (info.zooms[rows], info.zooms[columns])
    thickness = info.zooms[info.slice_axis]
    return ImageData(pixels=pixels, path=path, bit_depth=int(info.dtype.itemsize * 8),
                     original_size=(int(pixels.shape[0]), int(pixels.shape[1])), modality=None,
                     frame_count=info.n_slices, pixel_spacing=spacing if all(v > 0 for v in spacing) else None,
                     frame=index, slice_thickness=thickness if thickness > 0 else None)


def _load(path: str | Path):
    import nibabel as nib

    name = display_name(path)
    problem = not_a_regular_file(path)
    if problem is not None:
        raise BadImageError(f"{name}: {problem}")
    try:
        return nib.load(str(path))
    except MemoryError:
        raise BadImageError(f"{name}: too large to load into memory") from None
    except Exception as exc:   # nibabel raises ImageFileError, ValueError, EOFError, gzip errors ...
        raise BadImageError(f"{name}: {_load_problem(exc, path)}") from None


def _load_problem(exc: BaseException, path: str | Path) -> str:
    """nibabel's reason in our words, without the full path it puts in its messages."""
    text = str(exc)
    if "Empty file" in text:
        return "empty file (0 bytes)"
    if "not a gzip file" in text:
        return "not gzip-compressed, as a .nii.gz file must be"
    if "Cannot work out file type" in text:
        return "not a NIfTI file (no NIfTI-1 or NIfTI-2 header)"
    for form in (str(Path(path).absolute()), str(path)):
        text = text.replace(f"'{form}'", "the file").replace(f'"{form}"', "the file").replace(form, "the file")
    return f"not a readable NIfTI volume ({reason(Exception(text))})"


def _info(image, name: str) -> VolumeInfo:
    stored = tuple(int(n) for n in image.shape)
    if len(stored) < 2:
        raise BadImageError(f"{name}: NIfTI with {len(stored)} dimension(s) is not an image")
    if len(stored) > 3 and any(n != 1 for n in stored[3:]):
        raise BadImageError(f"{name}: {len(stored)}-D NIfTI ({'x'.join(map(str, stored))}: a time series or "
                            "vector volume) is not supported; split it into 3-D volumes first")
    shape = (stored + (1,))[:3] if len(stored) == 2 else stored[:3]
    if min(shape) < 1:
        raise BadImageError(f"{name}: NIfTI volume has no voxels ({'x'.join(map(str, stored))})")
    affine = np.asarray(image.affine, dtype=np.float64)
    axis = 2 if len(stored) == 2 else slice_axis_of(affine)
    zooms = tuple(float(z) for z in (tuple(image.header.get_zooms()) + (1.0, 1.0))[:3])
    unit = image.header.get_xyzt_units()[0] if hasattr(image.header, "get_xyzt_units") else "unknown"
    factor = _MM_PER_UNIT.get(str(unit), 1.0)
    info = VolumeInfo(shape=shape, stored_shape=stored, affine=affine, slice_axis=axis,
                      zooms=tuple(z * factor for z in zooms), dtype=np.dtype(image.get_data_dtype()))
    height, width = info.slice_size
    check_declared_size(name, width, height, frames=info.n_slices)
    return info
