"""The annotation store of one image folder: a mask PNG per image plus a JSON of statuses.

Layout: `<folder>/.ukan-studio/masks/<image stem>.png` (uint8 labels 0..K) and
`<folder>/.ukan-studio/annotations.json` = `{"version": 1, "images": {"<image file name>":
{"status": "unlabelled|predicted|corrected", "model": ..., "updated": ISO time}}}` (plus
`"classes": [names]` when the labels were renamed or added). When the
folder cannot be written, the same layout lives under
`user_data_dir()/annotations/<hash of the folder path>/`. Every save is atomic (temp file +
rename), so a crash leaves either the old or the new file, never half of one. Torch-free: the
Studio and the training engine (`ukan_core.data.folders.studio_corrected_pairs`) share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.atomic import atomic_write_text
from ukan_core.errors import StoreError
from ukan_core.paths import user_data_dir

STORE_FOLDER = ".ukan-studio"
INDEX_FILE = "annotations.json"
MASKS_FOLDER = "masks"
STATUSES = ("unlabelled", "predicted", "corrected")
FORMAT_VERSION = 1
DEFAULT_CLASSES = ("background", "foreground")


@dataclass(frozen=True)
class CorrectedItem:
    """One image the user corrected, with the saved mask that goes with it.

    Shaped like `ukan_core.data.folders.Pair` (image, mask, id), so training code takes either.
    """

    image: Path
    mask: Path
    name: str

    @property
    def id(self) -> str:
        return Path(self.name).stem


def fallback_location(folder: Path) -> Path:
    """Where the annotations of a read-only `folder` live: a per-user folder named by its path hash."""
    digest = hashlib.sha256(str(Path(folder).resolve()).encode("utf-8")).hexdigest()[:16]
    return user_data_dir() / "annotations" / digest


def _is_writable(folder: Path) -> bool:
    """True when a file can really be created in `folder` (os.access lies on some mounts)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".write-test.", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class AnnotationStore:
    """Masks and statuses of the images in one folder; open it with `AnnotationStore.open(folder)`."""

    def __init__(self, folder: Path, location: Path) -> None:
        self.folder = Path(folder)
        self.location = Path(location)
        self._records: dict[str, dict[str, Any]] = {}
        self._classes: list[str] = list(DEFAULT_CLASSES)
        self._load_index()

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, beside_images: bool = True) -> AnnotationStore:
        """Open (or prepare) the store of `folder`; falls back to a per-user location if read-only.

        `beside_images=False` always uses the per-user location (e.g. for bundled samples).
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise StoreError(f"{folder.name or folder}: not a folder")
        in_place = folder / STORE_FOLDER
        if beside_images and in_place.is_dir() and _is_writable(in_place):
            return cls(folder, in_place)
        if beside_images and not in_place.exists() and _is_writable(folder):
            return cls(folder, in_place)  # the .ukan-studio folder is created on the first save
        fallback = fallback_location(folder)
        if (in_place / INDEX_FILE).is_file() and not (fallback / INDEX_FILE).is_file():
            # A read-only folder that already holds annotations: carry them over once.
            return cls._copied(folder, in_place, fallback)
        return cls(folder, fallback)

    @classmethod
    def _copied(cls, folder: Path, source: Path, target: Path) -> AnnotationStore:
        """Start a per-user store from the annotations already inside a read-only folder."""
        store = cls(folder, source)
        masks = {name: store.mask(name) for name in store._records}
        store.location = target
        for name, mask in masks.items():
            if mask is not None:
                store.write_mask_file(name, mask)
        store._write_index()
        return store

    # -- reading -----------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.location / INDEX_FILE

    def mask_path(self, name: str) -> Path:
        """The PNG that holds the mask of image file `name` (it may not exist yet)."""
        return self.location / MASKS_FOLDER / f"{Path(name).stem}.png"

    def status(self, name: str) -> str:
        """"unlabelled", "predicted" or "corrected"."""
        record = self._records.get(name)
        return str(record.get("status", "unlabelled")) if record else "unlabelled"

    def record(self, name: str) -> dict[str, Any]:
        """A copy of the stored facts about image `name` (status, model, updated)."""
        return dict(self._records.get(name, {"status": "unlabelled"}))

    def names(self) -> list[str]:
        """Image file names that have a record, sorted."""
        return sorted(self._records)

    def mask(self, name: str) -> np.ndarray | None:
        """The saved (H, W) uint8 label mask of image `name`, or None when there is none."""
        path = self.mask_path(name)
        if not path.is_file():
            return None
        from ukan_core.io.masks import read_mask

        return read_mask(path)

    @property
    def classes(self) -> list[str]:
        """Label names by value (0 is the background); binary by default."""
        return list(self._classes)

    def set_classes(self, names: list[str]) -> None:
        """Name the labels 0..K (at least background and one class) and save the index."""
        if len(names) < 2 or not all(isinstance(n, str) and n.strip() for n in names):
            raise StoreError(f"{INDEX_FILE}: need at least two non-empty class names, got {names!r}")
        self._classes = [n.strip() for n in names]
        self._write_index()

    def corrected(self) -> list[CorrectedItem]:
        """Images with status "corrected" whose mask file exists, sorted by name."""
        items = []
        for name in sorted(self._records):
            if self.status(name) != "corrected":
                continue
            mask = self.mask_path(name)
            if mask.is_file():
                items.append(CorrectedItem(image=self.folder / name, mask=mask, name=name))
        return items

    # -- writing -----------------------------------------------------------------------------
    def save_mask(self, name: str, mask: np.ndarray, status: str, model: str | None = None, *,
                  write_index: bool = True) -> Path:
        """Write the mask of image `name` and its status atomically; returns the mask path.

        `write_index=False` defers the JSON index (call `save_index()` soon): saving many
        predictions then costs one index write instead of one per image.
        """
        if status not in STATUSES:
            raise StoreError(f"{name}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
        path = self.write_mask_file(name, mask)
        self.record_mask(name, status, model)
        if write_index:
            self._write_index()
        return path

    def record_mask(self, name: str, status: str, model: str | None = None) -> None:
        """Note in memory that image `name` has a mask of `status` (the index is written later).

        With `write_mask_file` and `index_text`/`write_index_text` this lets a caller do the file
        writes elsewhere (a background thread) while the records stay on its own thread.
        """
        if status not in STATUSES:
            raise StoreError(f"{name}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
        record: dict[str, Any] = {"status": status, "updated": _now()}
        previous_model = self._records.get(name, {}).get("model")
        if model is not None or previous_model is not None:
            record["model"] = model if model is not None else previous_model
        self._records[name] = record

    def save_index(self) -> None:
        """Write the JSON index now (after `save_mask(..., write_index=False)`)."""
        self._write_index()

    def index_text(self) -> str:
        """The JSON index as it would be written now (a snapshot of the records)."""
        document: dict[str, Any] = {"version": FORMAT_VERSION, "images": self._records}
        if self._classes != list(DEFAULT_CLASSES):
            document["classes"] = self._classes
        return json.dumps(document, indent=1, sort_keys=True)

    def write_index_text(self, text: str) -> None:
        """Write an `index_text()` snapshot atomically (safe from another thread)."""
        try:
            atomic_write_text(self.index_path, text)
        except OSError as exc:
            raise StoreError(f"{INDEX_FILE}: cannot save the annotation index ({exc.strerror or exc})") from exc

    def set_status(self, name: str, status: str) -> None:
        """Change only the status of image `name` (e.g. back to "predicted")."""
        if status not in STATUSES:
            raise StoreError(f"{name}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
        record = dict(self._records.get(name, {}))
        record.update(status=status, updated=_now())
        self._records[name] = record
        self._write_index()

    def forget(self, name: str) -> None:
        """Remove the mask and record of image `name` (it becomes "unlabelled")."""
        with contextlib.suppress(FileNotFoundError):
            self.mask_path(name).unlink()
        if self._records.pop(name, None) is not None:
            self._write_index()

    # -- files -------------------------------------------------------------------------------
    def write_mask_file(self, name: str, mask: np.ndarray) -> Path:
        """Write only the mask PNG of image `name`, atomically (safe from another thread)."""
        from ukan_core.io.masks import write_mask

        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise StoreError(f"{name}: a mask must be 2-D (H, W), got shape {mask.shape}")
        mask = mask.astype(np.uint8, copy=False)
        path = self.mask_path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_mask(path, mask)
        except OSError as exc:
            raise StoreError(f"{path.name}: cannot save the mask ({exc.strerror or exc})") from exc

    def _write_index(self) -> None:
        self.write_index_text(self.index_text())

    def _load_index(self) -> None:
        path = self.index_path
        if not path.is_file():
            return
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{INDEX_FILE}: unreadable annotation index ({exc})") from exc
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, dict):
            raise StoreError(f"{INDEX_FILE}: no 'images' table; the file is not a UKAN Studio index")
        self._records = {str(k): dict(v) for k, v in images.items() if isinstance(v, dict)}
        classes = document.get("classes")
        if isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes):
            self._classes = list(classes)
