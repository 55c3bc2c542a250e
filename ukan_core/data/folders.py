"""Labelled folders: find (image, mask) pairs in every layout we read, and split them.

Layouts (detected automatically by `detect_layout`):
- "official": `images/<id>.<ext>` + `masks/0/<id><ext>` (the U-KAN code's layout); BUSI's
  `masks/0/<id>_mask.png` too; several classes as `masks/0/`, `masks/1/`, ... (class k+1 in the
  combined label mask).
- "images-masks": `images/` + `masks/` holding `<stem>.png` or `<stem>_mask.png`.
- "studio": images directly in the folder, masks in the Studio's annotation store
  (`.ukan-studio/`); only images whose status is "corrected" count as labelled.
- "busi-flat": the BUSI download as published: `<stem>.png` beside `<stem>_mask.png` (and extra
  lesions in `<stem>_mask_1.png`, ... which are merged), in the folder or its sub-folders
  (`benign/`, `malignant/`, `normal/`).
Images are listed by `ukan_core.io.listing` (names and `stat`; the first bytes of a file without an
extension, for DICOM); pixels are read (and sizes checked) by `load_pair`.

Multi-class choice: a `Pair` holds one binary mask file per class (`masks[k]` is class k+1);
`load_pair` combines them into one label mask 0..K (a later class wins where two overlap).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ukan_core.errors import BadImageError, DatasetError
from ukan_core.io.images import read_image, to_rgb8
from ukan_core.io.listing import image_verdict, list_folder
from ukan_core.io.masks import read_mask
from ukan_core.io.names import display_name

if TYPE_CHECKING:
    from ukan_core.annotation.corrected import CorrectedItem

STUDIO_FOLDER = ".ukan-studio"
MAX_LABEL_VALUE = 20  # a single mask whose values are all <= 20 holds class labels, not grey levels


@dataclass(frozen=True)
class Pair:
    """One labelled image. `masks` holds one file per class (binary masks, class k+1 = masks[k]);
    `extra_masks` are more masks of class 1 merged into it (BUSI's `_mask_1.png` files); `frame`
    is the frame (page, slice; 0-based) of `image` that the masks label."""

    image: Path
    masks: tuple[Path, ...]
    id: str
    extra_masks: tuple[Path, ...] = ()
    frame: int = 0

    @property
    def mask(self) -> Path:
        """The (first) mask file."""
        return self.masks[0]


def detect_layout(folder: str | Path) -> str:
    """"official", "images-masks", "studio" or "busi-flat"; DatasetError when the folder has none."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    masks = root / "masks"
    if (root / "images").is_dir() and masks.is_dir():
        numbered = [p for p in masks.iterdir() if p.is_dir() and p.name.isdigit()]
        return "official" if numbered else "images-masks"
    if (root / STUDIO_FOLDER).is_dir() or _studio_fallback(root) is not None:
        return "studio"
    if _flat_mask_files(root):
        return "busi-flat"
    raise DatasetError(
        f"{root.name}: no image/mask pairs found; expected images/ + masks/0/ (official layout), "
        "images/ + masks/, or a folder annotated in UKAN Studio"
    )


def scan_labelled_folder(folder: str | Path) -> list[Pair]:
    """Every (image, mask) pair of `folder`, sorted by id. Raises DatasetError with one line."""
    root = Path(folder)
    layout = detect_layout(root)
    if layout == "studio":
        pairs = studio_corrected_pairs(root)
    elif layout == "busi-flat":
        pairs = _scan_flat(root)
    else:
        pairs = _scan_images_masks(root, layout)
    if not pairs:
        raise DatasetError(f"{root.name}: no image/mask pairs found ({layout} layout, no labelled image)")
    return pairs


def studio_corrected_pairs(folder: str | Path) -> list[Pair]:
    """Pairs of the images the user corrected in UKAN Studio (the annotation store of `folder`)."""
    from ukan_core.annotation import AnnotationStore

    store = AnnotationStore.open(Path(folder))
    return [corrected_pair(item) for item in store.corrected()]


def corrected_pair(item: CorrectedItem) -> Pair:
    """The training pair of one corrected store item (its frame included)."""
    return Pair(image=item.image, masks=(item.mask,), id=item.id, frame=item.frame)


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image (H, W, 3), uint8 label mask (H, W) with 0 background, k+1 for class k).

    The image is frame `pair.frame` of its file. A single mask file holding small values 0..K (0/1,
    or the Studio's multi-class labels) is kept as stored; otherwise each class file is made binary
    by the official rule (`mask_is_on`). Raises DatasetError naming the file for an unreadable file
    or a mask whose size differs from its image.
    """
    try:
        image = to_rgb8(read_image(pair.image, frame=pair.frame))
    except BadImageError as exc:
        raise DatasetError(str(exc)) from None
    label = np.zeros(image.shape[:2], np.uint8)
    files = [(k + 1, path) for k, path in enumerate(pair.masks)] + [(1, path) for path in pair.extra_masks]
    for value, mask_path in files:
        mask = _read_sized_mask(mask_path, pair.image, label.shape)
        if len(files) == 1 and mask.max() <= MAX_LABEL_VALUE:
            return image, mask  # 0/1 or label values 0..K (the Studio's masks): keep them
        label[mask_is_on(mask)] = value
    return image, label


def mask_is_on(mask: np.ndarray) -> np.ndarray:
    """Foreground of one binary mask file, as the official code reads it: the mask is divided by
    255 and, when its maximum is then below 1 (0/1 or 0/k masks), every non-zero pixel is on;
    otherwise (0..255 masks, e.g. with JPEG edges) pixels above 0.5 are on, as `iou_score` counts."""
    if int(mask.max()) < 255:
        return mask > 0
    return mask > 127


def split_pairs(pairs: Sequence[Pair], val_fraction: float = 0.2, seed: int = 2981) -> tuple[list[Pair], list[Pair]]:
    """Deterministic train/validation split (80/20 by default, seeded as the official dataseed)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    items = sorted(pairs, key=_order)
    random.Random(seed).shuffle(items)
    n_val = max(1, round(len(items) * val_fraction)) if len(items) > 1 else 0
    return items[n_val:], items[:n_val]


def kfold_pairs(pairs: Sequence[Pair], k: int, seed: int = 0) -> list[tuple[list[Pair], list[Pair]]]:
    """k (train, validation) folds that together hold out every pair once."""
    if not 2 <= k <= len(pairs):
        raise ValueError(f"k must be between 2 and the number of pairs ({len(pairs)}), got {k}")
    items = sorted(pairs, key=_order)
    random.Random(seed).shuffle(items)
    folds = [items[i::k] for i in range(k)]
    return [([p for j, f in enumerate(folds) if j != i for p in f], folds[i]) for i in range(k)]


def _order(pair: Pair) -> tuple[str, str]:
    return str(pair.id), str(pair.image)


# -- layouts -----------------------------------------------------------------------------------

def _scan_images_masks(root: Path, layout: str) -> list[Pair]:
    listing = list_folder(root / "images")
    _refuse_problems(listing.problems, "images/")
    images = listing.images
    if not images:
        raise DatasetError(f"{root.name}/images: no image files")
    if layout == "official":
        class_dirs = sorted((p for p in (root / "masks").iterdir() if p.is_dir() and p.name.isdigit()),
                            key=lambda p: int(p.name))
    else:
        class_dirs = [root / "masks"]
    pairs: list[Pair] = []
    missing: list[Path] = []
    for image in images:
        masks = []
        for class_dir in class_dirs:
            mask = _find_mask(class_dir, image)
            if mask is None:
                break
            masks.append(mask)
        if len(masks) != len(class_dirs):
            missing.append(image)
            continue
        pairs.append(Pair(image=image, masks=tuple(masks), id=image.stem))
    if missing:
        raise DatasetError(
            f"{display_name(missing[0])}: no mask in {'/'.join(class_dirs[0].relative_to(root).parts)}/"
            + (f" ({len(missing)} images without a mask)" if len(missing) > 1 else "")
        )
    return pairs


def _refuse_problems(problems: list[str], where: str) -> None:
    """A FIFO, broken link or folder named like an image among the images: one line naming it."""
    if problems:
        more = f" ({len(problems)} entries like it in {where})" if len(problems) > 1 else ""
        raise DatasetError(f"{where}{problems[0]}{more}; remove or replace it")


def _find_mask(class_dir: Path, image: Path) -> Path | None:
    for name in (image.name, f"{image.stem}.png", f"{image.stem}_mask.png", f"{image.stem}_mask{image.suffix}"):
        candidate = class_dir / name
        if candidate.is_file():
            return candidate
    return None


def _studio_fallback(root: Path) -> Path | None:
    """The per-user annotation folder of a read-only `root`, if it exists."""
    from ukan_core.annotation import fallback_location

    location = fallback_location(root)
    return location if location.is_dir() else None


def _read_sized_mask(mask_path: Path, image_path: Path, shape: tuple[int, ...]) -> np.ndarray:
    try:
        mask = read_mask(mask_path)
    except BadImageError as exc:
        raise DatasetError(str(exc)) from None
    if mask.shape != shape:
        raise DatasetError(
            f"{mask_path.name}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
            f"{image_path.name} is {shape[1]}x{shape[0]}"
        )
    return mask


_FLAT_MASK = re.compile(r"^(?P<stem>.+)_mask(?:_\d+)?$")


def _flat_mask_files(root: Path) -> list[Path]:
    """`*_mask.png` / `*_mask_<n>.png` files in `root` and its direct sub-folders (BUSI as published)."""
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(p for folder in folders for p in folder.iterdir()
                  if _FLAT_MASK.match(p.stem) and image_verdict(p)[0])


def _scan_flat(root: Path) -> list[Pair]:
    masks_by_image: dict[Path, list[Path]] = {}
    for mask in _flat_mask_files(root):
        stem = _FLAT_MASK.match(mask.stem).group("stem")  # type: ignore[union-attr]
        masks_by_image.setdefault(mask.parent / stem, []).append(mask)
    images: list[Path] = []
    for folder in sorted({stem.parent for stem in masks_by_image}):
        listing = list_folder(folder)
        _refuse_problems(listing.problems, f"{display_name(folder)}/" if folder != root else "")
        images += [p for p in listing.images if not _FLAT_MASK.match(p.stem)]
    images.sort()
    pairs: list[Pair] = []
    missing: list[Path] = []
    for image in images:
        masks = sorted(masks_by_image.get(image.parent / image.stem, []), key=lambda m: (len(m.stem), m.stem))
        if not masks:
            missing.append(image)
            continue
        pairs.append(Pair(image=image, masks=(masks[0],), id=image.stem, extra_masks=tuple(masks[1:])))
    if missing:
        raise DatasetError(
            f"{display_name(missing[0])}: no mask named {display_name(missing[0].stem + '_mask.png')} beside it"
            + (f" ({len(missing)} images without a mask)" if len(missing) > 1 else "")
        )
    return pairs
