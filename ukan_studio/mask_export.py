"""Export saved masks as plain PNGs named like their images (binary 0/255 or label values).

Qt-free, so the GUI, the tests and a script share one rule: never overwrite an existing file
unless asked; when files exist the whole export stops before writing anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ukan_core.annotations import AnnotationStore
from ukan_core.errors import UkanError

EXPORT_MODES = ("binary", "labels")
EXPORT_SCOPES = ("all", "corrected", "selected")


class ExportConflictError(UkanError):
    """Some target files already exist; `existing` lists them. Nothing was written."""

    def __init__(self, existing: list[Path]) -> None:
        first = existing[0]
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        super().__init__(f"{first.name}{more}: already exist in {first.parent.name}; choose overwrite or another folder")
        self.existing = existing


def export_mask_pixels(mask: np.ndarray, mode: str) -> np.ndarray:
    """The pixels written for `mask`: 0/255 for "binary", the label values for "labels"."""
    if mode == "binary":
        return np.where(mask > 0, 255, 0).astype(np.uint8)
    if mode == "labels":
        return mask.astype(np.uint8, copy=False)
    raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")


def export_store_masks(store: AnnotationStore, names: Iterable[str], out_dir: str | Path, *,
                       overwrite: bool = False, mode: str = "binary") -> list[Path]:
    """Write `<out_dir>/<image stem>.png` for each image in `names` that has a saved mask.

    Raises ExportConflictError (writing nothing) when a target exists and `overwrite` is False.
    """
    from ukan_core.io.masks import write_mask

    if mode not in EXPORT_MODES:
        raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")
    out = Path(out_dir)
    plan = [(name, out / f"{Path(name).stem}.png") for name in names if store.mask_path(name).is_file()]
    if not overwrite:
        existing = [target for _, target in plan if target.exists()]
        if existing:
            raise ExportConflictError(existing)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in plan:
        mask = store.mask(name)
        if mask is None:
            continue
        written.append(Path(write_mask(target, export_mask_pixels(mask, mode))))
    return written
