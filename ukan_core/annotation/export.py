"""Export saved masks as plain PNGs named like their images (binary 0/255 or label values).

Names follow `ukan segment`: `<stem>.png`; when two exported images share a stem (`scan.png`,
`scan.jpg`) the later one gets its extension added (`scan_jpg.png`), and `export_names` tells
which were renamed so the caller can say so. Never overwrites an existing file unless asked;
when files exist the whole export stops before writing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ukan_core.annotation.keys import display_name
from ukan_core.annotation.store import AnnotationStore
from ukan_core.errors import UkanError
from ukan_core.progress import Progress, ProgressCallback, no_progress

EXPORT_MODES = ("binary", "labels")


class ExportConflictError(UkanError):
    """Some target files already exist; `existing` lists them. Nothing was written."""

    def __init__(self, existing: list[Path]) -> None:
        first = existing[0]
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        super().__init__(f"{display_name(first.name)}{more}: already exist in {first.parent.name}; "
                         f"choose overwrite or another folder")
        self.existing = existing


def export_names(names: Iterable[str]) -> dict[str, str]:
    """The exported file name of each image name, unique ignoring case (the rule of `ukan segment`)."""
    used: set[str] = set()
    targets = {}
    for name in names:
        path = Path(name)
        stem = path.stem
        if stem.lower() in used:
            stem = f"{path.stem}_{path.suffix.lstrip('.').lower()}"
            base, n = stem, 2
            while stem.lower() in used:
                stem, n = f"{base}_{n}", n + 1
        used.add(stem.lower())
        targets[name] = f"{stem}.png"
    return targets


def renamed_exports(names: Iterable[str]) -> list[tuple[str, str]]:
    """(image name, exported name) for the images whose export name is not simply `<stem>.png`."""
    return [(n, t) for n, t in export_names(names).items() if t != f"{Path(n).stem}.png"]


def export_mask_pixels(mask: np.ndarray, mode: str) -> np.ndarray:
    """The pixels written for `mask`: 0/255 for "binary", the label values for "labels"."""
    if mode == "binary":
        return np.where(mask > 0, 255, 0).astype(np.uint8)
    if mode == "labels":
        return mask.astype(np.uint8, copy=False)
    raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")


def export_store_masks(store: AnnotationStore, names: Iterable[str], out_dir: str | Path, *,
                       overwrite: bool = False, mode: str = "binary", progress: ProgressCallback = no_progress,
                       on_error: Callable[[str], None] | None = None) -> list[Path]:
    """Write `<out_dir>/<export name>` for each image in `names` that has a saved mask.

    Raises ExportConflictError (writing nothing) when a target exists and `overwrite` is False.
    A saved mask that cannot be read stops the export, unless `on_error` is given: it then gets
    one line naming the mask's image and the export goes on with the others (the CLI's choice).
    `progress` hears of each mask written.
    """
    from ukan_core.io.masks import write_mask

    if mode not in EXPORT_MODES:
        raise UkanError(f"export mode {mode!r}: unknown; use one of {', '.join(EXPORT_MODES)}")
    out = Path(out_dir)
    with_masks = [name for name in names if store.mask_path(name).is_file()]
    plan = [(name, out / target) for name, target in export_names(with_masks).items()]
    if not overwrite:
        existing = [target for _, target in plan if target.exists()]
        if existing:
            raise ExportConflictError(existing)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for done, (name, target) in enumerate(plan, 1):
        try:
            mask = store.mask(name)
        except (UkanError, OSError) as exc:
            if on_error is None:
                raise
            on_error(f"{display_name(name)}: its saved mask cannot be read ({_reason(exc)}); not exported")
            mask = None
        if mask is not None:
            written.append(Path(write_mask(target, export_mask_pixels(mask, mode))))
        progress(Progress(done, len(plan), display_name(name)))
    return written


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def write_unsaved_masks(masks: dict[str, np.ndarray], out_dir: str | Path, mode: str = "labels") -> list[Path]:
    """Write in-memory masks (edits that could not be saved) as `<export name>` PNGs in `out_dir`."""
    from ukan_core.io.masks import write_mask

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [Path(write_mask(out / target, export_mask_pixels(masks[name], mode)))
            for name, target in export_names(masks).items()]
