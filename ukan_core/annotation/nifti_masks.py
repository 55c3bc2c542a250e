"""Label masks of a volume's slices -> one NIfTI label volume with the source's shape and affine.

The masks are the slices along the source's slice axis (`ukan_core.io.volumes`), so slice k of the
written volume is mask k, voxel for voxel. The file holds uint8 labels (0 background, 1..K), NIfTI
intent "label", no scaling, the source's qform/sform; it is written atomically (`.nii.gz` gzip).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ukan_core.atomic import atomic_write_bytes
from ukan_core.annotation.mask_stack import stack_masks
from ukan_core.io.names import display_name

NIFTI_INTENT_LABEL = 1002


def write_nifti_labels(source: str | Path, masks: Sequence[np.ndarray], target: str | Path) -> Path:
    """Write the slice masks of NIfTI `source` as a uint8 label volume at `target` (.nii or .nii.gz)."""
    import nibabel as nib

    from ukan_core.io.volumes import volume_info

    info = volume_info(source)
    image = nib.load(str(source))
    volume = stack_masks(masks, info.n_slices, info.slice_size, display_name(source),
                         part="slice", source="a volume", plane="slice")
    volume = np.moveaxis(volume, 0, info.slice_axis).reshape(info.stored_shape)
    header = image.header.copy()
    header.set_data_dtype(np.uint8)
    labels = type(image)(volume, image.affine, header=header)
    labels.header.set_slope_inter(1, 0)
    labels.header.set_intent(NIFTI_INTENT_LABEL)
    labels.header["cal_min"], labels.header["cal_max"] = 0, int(volume.max()) if volume.size else 0
    return _save(labels, Path(target))


def write_nifti_from_frames(masks: Sequence[np.ndarray], target: str | Path,
                            pixel_spacing: tuple[float, float] | None = None,
                            slice_thickness: float | None = None) -> Path:
    """The masks of a 2D image or of the frames of a multi-frame file as one NIfTI label volume.

    Voxel axes are (row, column, frame) with a diagonal affine from the pixel spacing and slice
    thickness (1 mm when unknown): a voxel grid, not patient coordinates. Read back, slice k is
    mask k (`ukan_core.io.volumes` slices such a volume along its third axis).
    """
    import nibabel as nib

    if not masks:
        raise ValueError("no masks to write")
    size = np.asarray(masks[0]).shape
    stack = stack_masks(masks, len(masks), size, display_name(target), part="slice", source="a volume",
                        plane="slice")
    row_mm, column_mm = pixel_spacing or (1.0, 1.0)
    image = nib.Nifti1Image(np.moveaxis(stack, 0, 2), np.diag([row_mm, column_mm, slice_thickness or 1.0, 1.0]))
    image.header.set_xyzt_units("mm")
    image.header.set_intent(NIFTI_INTENT_LABEL)
    return _save(image, Path(target))


def nifti_target_name(source: str | Path) -> str:
    """`<name>.nii.gz` for `<name>.nii[.gz]`; `<stem>.nii.gz` for any other image."""
    from ukan_core.io.volumes import is_volume_name, volume_stem

    return f"{volume_stem(source) if is_volume_name(source) else Path(source).stem}.nii.gz"


def _save(image, target: Path) -> Path:
    data = image.to_bytes()
    if target.name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return atomic_write_bytes(target, data)
