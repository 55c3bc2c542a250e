"""Mask files out, in the format the user asks for: PNG, a NIfTI label volume or a DICOM SEG.

    written = write_masks("nifti", source, masks, out_dir, class_names=["lesion"])
    write_export_extras(out_dir, ["lesion"], measurements)   # classes.json + measurements.csv

`masks` holds one (H, W) uint8 label mask per frame of `source`, in frame order (a single-frame
image has one). Formats:
- "png": `<stem>.png` for a single frame, `<stem>_<k>.png` (k from 1, zero-padded) per frame;
- "nifti": one volume `<name>.nii.gz` with the source's shape and affine for a NIfTI source
  (`nifti_masks`); another file gives a (row, column, frame) volume sized by its pixel spacing and
  slice thickness (one slice for a 2D image);
- "dicom-seg": `<stem>_seg.dcm` referencing the source's SOP Instance UID (`dicom_seg`); DICOM
  sources only.
Every file is written atomically. `source_measurements` gives the rows of `measurements.csv`:
regions per slice, and a "volume" row per label for a multi-frame source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ukan_core.annotation.classes import write_classes_json
from ukan_core.errors import BadImageError, UkanError
from ukan_core.io.names import display_name
from ukan_core.measure import RegionMeasurement, measure_mask, measure_volume, write_measurements_csv

MASK_FORMATS = ("png", "nifti", "dicom-seg")
MEASUREMENTS_FILE = "measurements.csv"


def check_format(fmt: str) -> str:
    """`fmt` when it is one of MASK_FORMATS, else UkanError naming the choices."""
    if fmt not in MASK_FORMATS:
        raise UkanError(f"mask format {fmt!r}: unknown; use one of {', '.join(MASK_FORMATS)}")
    return fmt


def target_names(fmt: str, source: str | Path, n_frames: int = 1) -> list[str]:
    """The file names `write_masks` writes for `source` (before any folder)."""
    from ukan_core.annotation.dicom_seg import dicom_seg_target_name
    from ukan_core.annotation.nifti_masks import nifti_target_name

    check_format(fmt)
    if fmt == "nifti":
        return [nifti_target_name(source)]
    if fmt == "dicom-seg":
        return [dicom_seg_target_name(source)]
    stem = Path(source).stem
    if n_frames == 1:
        return [f"{stem}.png"]
    width = len(str(n_frames))
    return [f"{stem}_{k + 1:0{width}d}.png" for k in range(n_frames)]


def write_masks(fmt: str, source: str | Path, masks: Sequence[np.ndarray], out_dir: str | Path, *,
                class_names: Sequence[str], pixel_spacing: tuple[float, float] | None = None,
                slice_thickness: float | None = None, names: Sequence[str] | None = None,
                binary: bool = False) -> list[Path]:
    """Write the masks of one source file in format `fmt` into `out_dir`; return the files written.

    `pixel_spacing` and `slice_thickness` size the NIfTI of a source that is not a NIfTI itself.
    `names` overrides `target_names` (e.g. to make names unique across sources). `binary=True`
    writes PNGs as 0/255 (one-class masks other tools read); NIfTI and SEG always hold labels.
    Raises BadImageError with one line when the source cannot take this format.
    """
    from ukan_core.annotation.dicom_seg import write_dicom_seg
    from ukan_core.annotation.nifti_masks import write_nifti_from_frames, write_nifti_labels
    from ukan_core.io.masks import write_mask
    from ukan_core.io.volumes import is_volume_name

    source = Path(source)
    out = Path(out_dir)
    targets = [out / n for n in (names or target_names(fmt, source, len(masks)))]
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        if len(targets) != len(masks):
            raise UkanError(f"{display_name(source)}: {len(masks)} masks but {len(targets)} file names")
        return [write_mask(t, np.where(m > 0, 255, 0).astype(np.uint8) if binary else m)
                for t, m in zip(targets, masks)]
    if fmt == "nifti":
        if is_volume_name(source):
            return [write_nifti_labels(source, masks, targets[0])]
        return [write_nifti_from_frames(masks, targets[0], pixel_spacing, slice_thickness)]
    if fmt == "dicom-seg":
        if not is_dicom_file(source):
            raise BadImageError(f"{display_name(source)}: not a DICOM file, so no DICOM SEG can reference it; "
                                "use png or nifti")
        return [write_dicom_seg(source, masks, class_names, targets[0])]
    check_format(fmt)
    return []


def source_measurements(name: str, masks: Sequence[np.ndarray],
                        spacings: Sequence[tuple[float, float] | None],
                        slice_thickness: float | None = None,
                        frame_names: Sequence[str] | None = None) -> dict[str, list[RegionMeasurement]]:
    """Measurement rows of one source: per frame (`frame_names[k]`, default `name [k/N]`) and, for
    more than one frame, `name`'s "volume" rows (voxel count x pixel spacing x slice thickness)."""
    n = len(masks)
    labels = list(frame_names) if frame_names else ([name] if n == 1 else [f"{name} [{k + 1}/{n}]" for k in range(n)])
    rows: dict[str, list[RegionMeasurement]] = {}
    for label, mask, spacing in zip(labels, masks, spacings):
        rows[label] = measure_mask(np.asarray(mask), spacing)
    if n > 1:
        same = spacings[0] if spacings and all(s == spacings[0] for s in spacings) else None
        rows.setdefault(name, [])
        rows[name] = rows[name] + measure_volume(masks, same, slice_thickness if same else None)
    return rows


def write_export_extras(out_dir: str | Path, class_names: Sequence[str],
                        measurements: Mapping[str, Sequence[RegionMeasurement]]) -> list[Path]:
    """`classes.json` and `measurements.csv` in `out_dir` (written beside every export)."""
    out = Path(out_dir)
    return [write_classes_json(out, class_names), write_measurements_csv(out / MEASUREMENTS_FILE, measurements)]


def is_dicom_file(path: str | Path) -> bool:
    """True when `path` is a regular file whose first bytes are DICOM (with or without an extension)."""
    from ukan_core.io.regular_files import open_regular_file
    from ukan_core.io.sniff import HEAD_BYTES, is_dicom_content

    try:
        with open_regular_file(path) as stream:
            return is_dicom_content(stream.read(HEAD_BYTES))
    except (BadImageError, OSError):
        return False
