"""Export saved masks beside `classes.json` and `measurements.csv`: PNGs, NIfTI volumes or DICOM SEGs.

    export_store_masks(store, names, "out/", mode="labels")            # <stem>.png per image
    export_store_masks(store, names, "out/", format="nifti")           # one <stem>.nii.gz per source

`names` are the store's item keys (`keys.item_key`: a file name, or `<file name>/<k>` for frame k).
PNG (the default) writes `<stem>.png` per image, 0/255 ("binary") or the label values ("labels"),
and `<stem>_<k>.png` per saved frame of a multi-frame file; "nifti" and "dicom-seg" write each
source's frames as one file of labels through `formats.write_masks` (frames without a saved mask
are empty). Names follow `ukan segment` (`export_plan`): when two sources share a stem (`scan.png`,
`scan.jpg`) the later one gets its extension added (`scan_jpg.png`), and `renamed_exports` tells
which so the caller can say so. Every export also writes `classes.json` (the store's class names
and the palette of `classes`) and `measurements.csv` (area and maximum Feret diameter per label and
region of every exported image or frame, in mm with the source's pixel spacing when known, plus
"volume" rows for a multi-frame source). Never overwrites an existing file (masks, classes.json,
measurements.csv) unless asked: when one exists the whole export stops before writing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ukan_core.annotation.classes import CLASSES_FILE, class_names_of
from ukan_core.annotation.export_plan import SourcePlan, export_names, plan_sources, renamed_exports
from ukan_core.annotation.formats import (
    MASK_FORMATS,
    MEASUREMENTS_FILE,
    check_format,
    is_dicom_file,
    write_export_extras,
    write_masks,
)
from ukan_core.annotation.keys import display_item, display_name
from ukan_core.annotation.source_geometry import SourceGeometry, source_geometry
from ukan_core.annotation.store import AnnotationStore
from ukan_core.errors import BadImageError, UkanError
from ukan_core.measure import RegionMeasurement, measure_mask, measure_volume
from ukan_core.progress import Progress, ProgressCallback, no_progress

EXPORT_MODES = ("binary", "labels")
EXPORT_FORMATS = MASK_FORMATS
__all__ = ["EXPORT_FORMATS", "EXPORT_MODES", "ExportConflictError", "export_mask_pixels", "export_names",
           "export_store_masks", "planned_exports", "renamed_exports", "write_unsaved_masks"]


class ExportConflictError(UkanError):
    """Some target files already exist; `existing` lists them. Nothing was written."""

    def __init__(self, existing: list[Path]) -> None:
        first = existing[0]
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        super().__init__(f"{display_name(first.name)}{more}: already exist in {first.parent.name}; "
                         f"choose overwrite or another folder")
        self.existing = existing


def export_mask_pixels(mask: np.ndarray, mode: str) -> np.ndarray:
    """The pixels written for `mask`: 0/255 for "binary", the label values for "labels"."""
    if mode == "binary":
        return np.where(mask > 0, 255, 0).astype(np.uint8)
    if mode == "labels":
        return mask.astype(np.uint8, copy=False)
    raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")


def export_store_masks(store: AnnotationStore, names: Iterable[str], out_dir: str | Path, *,
                       overwrite: bool = False, mode: str = "binary", progress: ProgressCallback = no_progress,
                       on_error: Callable[[str], None] | None = None, format: str = "png") -> list[Path]:
    """Write the saved masks of the items `names` into `out_dir` in `format`; return the mask files written.

    `format` is "png" (`mode` "binary" or "labels"), "nifti" or "dicom-seg" (labels). `classes.json`
    and `measurements.csv` are written after the masks (they are not in the returned list).
    Raises ExportConflictError (writing nothing) when a target exists and `overwrite` is False.
    A source that cannot take the format (a DICOM SEG of a PNG) stops the export before anything
    is written, a saved mask that cannot be read stops it there (the files before it stay), unless
    `on_error` is given: it then gets one line naming the image and the export goes on with the
    others (the CLI's choice).
    `progress` hears of each item exported.
    """
    if mode not in EXPORT_MODES:
        raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")
    check_format(format)
    out = Path(out_dir)
    plans, geometry = planned_exports(store, names, format)
    plans = _sources_that_take(format, plans, store.folder, on_error)
    targets = [out / target for plan in plans for target in plan.targets] + [out / CLASSES_FILE,
                                                                               out / MEASUREMENTS_FILE]
    if not overwrite:
        existing = [target for target in targets if target.exists()]
        if existing:
            raise ExportConflictError(existing)
    out.mkdir(parents=True, exist_ok=True)
    class_names = class_names_of(store.classes)
    written: list[Path] = []
    measurements: dict[str, list[RegionMeasurement]] = {}
    done, total = 0, sum(len(plan.frames) for plan in plans)
    for plan in plans:
        masks: dict[int, np.ndarray] = {}
        for (frame, key), target in zip(plan.frames, plan.targets if format == "png" else [None] * len(plan.frames)):
            mask = _read_mask(store, key, on_error)
            if mask is not None:
                masks[frame] = mask
                if target is not None:
                    written.append(_write_png(out / target, export_mask_pixels(mask, mode)))
            done += 1
            progress(Progress(done, total, display_item(key)))
        if masks and format != "png":
            written += _write_source(format, store.folder / plan.file_name, plan, masks, geometry[plan.file_name],
                                     out, class_names, on_error)
        measurements.update(_measurements(plan, masks, geometry[plan.file_name]))
    write_export_extras(out, class_names, measurements)
    return written


def planned_exports(store: AnnotationStore, names: Iterable[str],
                    format: str = "png") -> tuple[list[SourcePlan], dict[str, SourceGeometry]]:
    """The sources an export of `names` writes (those with a saved mask), their file names, and the
    frame counts and pixel sizes read from the images' headers."""
    with_masks = [name for name in names if store.mask_path(name).is_file()]
    geometry = {plan.file_name: source_geometry(store.folder / plan.file_name, [f for f, _ in plan.frames])
                for plan in plan_sources(with_masks, format)}   # first the sources, then their frame counts
    return plan_sources(with_masks, format, {name: g.n_frames for name, g in geometry.items()}), geometry


def _sources_that_take(fmt: str, plans: list[SourcePlan], folder: Path,
                       on_error: Callable[[str], None] | None) -> list[SourcePlan]:
    """The plans whose source can be written in `fmt` (a DICOM SEG needs a DICOM source), checked
    before anything is written; the others raise BadImageError, or go to `on_error` and are left out."""
    if fmt != "dicom-seg":
        return plans
    kept = []
    for plan in plans:
        if is_dicom_file(folder / plan.file_name):
            kept.append(plan)
            continue
        line = (f"{display_name(plan.file_name)}: not a DICOM file, so no DICOM SEG can reference it; "
                "export png or nifti")
        if on_error is None:
            raise BadImageError(line)
        on_error(line)
    return kept


def _read_mask(store: AnnotationStore, key: str, on_error: Callable[[str], None] | None) -> np.ndarray | None:
    try:
        return store.mask(key)
    except (UkanError, OSError) as exc:
        if on_error is None:
            raise
        on_error(f"{display_item(key)}: its saved mask cannot be read ({_reason(exc)}); not exported")
        return None


def _write_png(target: Path, pixels: np.ndarray) -> Path:
    from ukan_core.io.masks import write_mask

    return Path(write_mask(target, pixels))


def _write_source(fmt: str, source: Path, plan: SourcePlan, masks: dict[int, np.ndarray], geometry: SourceGeometry,
                  out: Path, class_names: list[str], on_error: Callable[[str], None] | None) -> list[Path]:
    """All frames of one source as one NIfTI / DICOM SEG (frames without a saved mask are empty)."""
    first = next(iter(masks.values()))
    stack = [masks.get(frame, np.zeros_like(first)) for frame in range(plan.n_frames)]
    try:
        spacing = next((geometry.spacing(f) for f in sorted(masks) if geometry.spacing(f) is not None), None)
        return write_masks(fmt, source, stack, out, class_names=class_names, pixel_spacing=spacing,
                           slice_thickness=geometry.slice_thickness, names=list(plan.targets))
    except (UkanError, OSError, ValueError) as exc:
        if on_error is None:
            raise
        on_error(str(exc) if isinstance(exc, UkanError) else f"{display_name(plan.file_name)}: not exported "
                 f"({_reason(exc)})")
        return []


def _measurements(plan: SourcePlan, masks: dict[int, np.ndarray],
                  geometry: SourceGeometry) -> dict[str, list[RegionMeasurement]]:
    """Rows of `measurements.csv` for one source: per saved frame, and "volume" rows for a multi-frame one."""
    name = display_name(plan.file_name)
    rows: dict[str, list[RegionMeasurement]] = {}
    for frame, mask in sorted(masks.items()):
        label = name if plan.n_frames == 1 else f"{name} [{frame + 1}/{plan.n_frames}]"
        rows[label] = measure_mask(mask, geometry.spacing(frame))
    if plan.n_frames > 1 and masks:
        spacings = {geometry.spacing(frame) for frame in masks}
        same = spacings.pop() if len(spacings) == 1 else None
        rows[name] = measure_volume(list(masks.values()), same, geometry.slice_thickness if same else None)
    return rows


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def write_unsaved_masks(masks: dict[str, np.ndarray], out_dir: str | Path, mode: str = "labels") -> list[Path]:
    """Write in-memory masks (edits that could not be saved) as `<export name>` PNGs in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [_write_png(out / target, export_mask_pixels(masks[name], mode))
            for name, target in export_names(masks).items()]
