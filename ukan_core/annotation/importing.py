"""Bring masks made elsewhere into a folder's annotation store, as status "imported".

    report = import_masks("dataset/")                      # images/ + masks/0/ (U-KAN), or BUSI's _mask.png
    report = import_masks("scans/", masks_from="labels/")   # a mask folder with the images' stems
    report.imported, report.kept, report.without_mask, report.problems

Where the masks are found (the layouts of `ukan_core.data.folders`):
- `folder` is a dataset root with `images/` + `masks/0/` (several classes: `masks/1/`, ...) or
  `images/` + `masks/`: the store is that of `folder/images`;
- `folder` holds BUSI's `<stem>_mask.png` (and `_mask_1.png` ...) beside the images;
- `masks_from` is a dataset root of those layouts or a plain folder of `<stem>.png` / `<stem>_mask.png`.
Masks are read by the official rule (`load_pair`: binary masks, 0..K label masks kept). A mask whose
size differs from its image is refused with one line (never stretched). Imported masks train like
corrected ones and Segment all never overwrites them (`statuses`). An image that already holds the
user's own mask (corrected, accepted, imported) is kept unless `replace=True`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ukan_core.annotation import statuses
from ukan_core.errors import DatasetError, StoreError, UkanError
from ukan_core.io.names import display_name


@dataclass
class ImportReport:
    """What an import did: masks imported, images whose own mask was kept, images without a mask,
    and one line per refused mask (size mismatch, unreadable file)."""

    folder: Path
    imported: int = 0
    kept: int = 0
    without_mask: int = 0
    problems: list[str] = field(default_factory=list)


def import_masks(folder: str | os.PathLike[str], masks_from: str | os.PathLike[str] | None = None, *,
                 replace: bool = False, model: str | None = None) -> ImportReport:
    """Import the masks of the images of `folder` (see the module docstring); UkanError for usage errors."""
    from ukan_core.annotation.store import AnnotationStore
    from ukan_core.data.folders import Pair, load_pair

    image_folder, pairs, unmatched = _find_pairs(Path(folder), None if masks_from is None else Path(masks_from))
    report = ImportReport(folder=image_folder, without_mask=unmatched)
    store = AnnotationStore.open(image_folder, writer=True)
    try:
        if store.read_only:
            raise StoreError(store.read_only)
        for pair in pairs:
            name = pair.image.name
            if not replace and store.status(name) != statuses.UNLABELLED \
                    and not statuses.segment_may_overwrite(store.status(name)):
                report.kept += 1
                continue
            try:
                _, mask = load_pair(Pair(image=pair.image, masks=pair.masks, id=pair.id, extra_masks=pair.extra_masks))
            except DatasetError as exc:
                report.problems.append(f"{exc}; not imported (masks are never stretched)"
                                       if "mask is" in str(exc) else f"{exc}; not imported")
                continue
            store.save_mask(name, mask, statuses.IMPORTED, model, write_index=False)
            report.imported += 1
        if report.imported:
            store.save_index()
    finally:
        store.close()
    return report


def _find_pairs(folder: Path, masks_from: Path | None):
    """(the folder whose store receives the masks, its pairs, how many images have no mask)."""
    from ukan_core.data.folders import Pair
    from ukan_core.io.listing import list_folder

    if not folder.is_dir():
        raise UkanError(f"{display_name(folder)}: not a folder")
    image_folder = folder / "images" if (folder / "images").is_dir() and (folder / "masks").is_dir() else folder
    if masks_from is None:
        if image_folder != folder:
            class_dirs = _class_folders(folder)
        else:
            return image_folder, *_busi_pairs(folder)
    else:
        if not masks_from.is_dir():
            raise UkanError(f"{display_name(masks_from)}: the --from mask folder does not exist")
        class_dirs = _class_folders(masks_from) if (masks_from / "masks").is_dir() else [masks_from]
    images = list_folder(image_folder).images
    if not images:
        raise UkanError(f"{display_name(image_folder)}: no images to import masks for")
    pairs, missing = [], 0
    for image in images:
        found = [_mask_for(class_dir, image) for class_dir in class_dirs]
        if all(m is not None for m in found):
            pairs.append(Pair(image=image, masks=tuple(found), id=image.stem))   # type: ignore[arg-type]
        else:
            missing += 1
    if not pairs:
        where = ", ".join(display_name(c) for c in class_dirs)
        raise UkanError(f"{display_name(image_folder)}: no mask in {where} has the stem of an image "
                        "(<stem>.png or <stem>_mask.png)")
    return image_folder, pairs, missing


def _class_folders(root: Path) -> list[Path]:
    masks = root / "masks"
    numbered = sorted((p for p in masks.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    return numbered or [masks]


def _mask_for(class_dir: Path, image: Path) -> Path | None:
    for name in (f"{image.stem}.png", f"{image.stem}_mask.png", image.name, f"{image.stem}_mask{image.suffix}"):
        candidate = class_dir / name
        if candidate.is_file() and candidate.resolve() != image.resolve():
            return candidate
    return None


def _busi_pairs(folder: Path):
    from ukan_core.data.folders import detect_layout, scan_labelled_folder
    from ukan_core.io.listing import list_folder

    try:
        layout = detect_layout(folder)
    except DatasetError:
        layout = None
    if layout != "busi-flat":
        raise UkanError(f"{display_name(folder)}: no masks found; give --from MASKS (a mask folder with the "
                        "images' stems, or a dataset with images/ + masks/0/), or put <stem>_mask.png beside the images")
    try:
        pairs = [p for p in scan_labelled_folder(folder) if p.image.parent == folder]
    except DatasetError as exc:
        raise UkanError(str(exc)) from None
    images = [p for p in list_folder(folder).images if "_mask" not in p.stem]
    return pairs, max(len(images) - len(pairs), 0)
