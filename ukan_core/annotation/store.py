"""The annotation store of one image folder: a mask PNG per image and frame, plus a JSON index.

Layout: `<folder>/.ukan-studio/masks/<mask key>` (uint8 labels 0..K; the key is the image's file
name + frame, see `keys.py`) and `<folder>/.ukan-studio/annotations.json` = `{"version": 2,
"images": {"<item key>": {"status": ..., "model": ..., "updated": ISO time, "mask": key}}}`
(plus `"classes": [names]` and `"model": ref`, the model this folder uses). Every `name` below is an
item key: the image's file name for frame 0 (a single-frame image: as before frames), `<file name>/<k>`
for frame k of a multi-frame file (`keys.item_key`), so each frame has its own mask, status and record.
Each mask also carries its own record in a PNG text chunk
(`ukan-status`), written in the same atomic rename as its pixels, so the masks are the truth: on
open, a mask newer than the index (a crash between the two writes) gives its status back. When
the folder cannot be written the same layout lives under `user_data_dir()/annotations/<hash>/`
and is merged back once the folder is writable. Torch-free and Qt-free: the Studio, the CLI and
training (`ukan_core.data.folders.studio_corrected_pairs`) share it.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.annotation import lock as folder_lock
from ukan_core.annotation import statuses
from ukan_core.annotation.corrected import CorrectedItem
from ukan_core.annotation.keys import display_item, display_name, item_mask_file_name, split_item_key
from ukan_core.annotation.location import fallback_location
from ukan_core.annotation.location import is_writable as _is_writable
from ukan_core.annotation.migration import UNASSIGNED_FOLDER, plan_migration, unlabel_ambiguous
from ukan_core.annotation.recovery import STATUS_CHUNK, chunk_text, records_from_masks, wins_over
from ukan_core.atomic import atomic_write_text, remove_stale_partials
from ukan_core.errors import StoreError

STORE_FOLDER = ".ukan-studio"
INDEX_FILE = "annotations.json"
MASKS_FOLDER = "masks"
STATUSES = statuses.STATUSES
FORMAT_VERSION = 2
DEFAULT_CLASSES = ("background", "foreground")


def now() -> str:
    """The time stamp of a record (UTC, milliseconds: two saves in one second still order)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class AnnotationStore:
    """Masks and statuses of the images in one folder; open it with `AnnotationStore.open(folder)`.

    A store opened with `writer=True` holds the folder lock and repairs the folder on disk
    (migration, crash leftovers, fallback merge); `read_only` then says why it may not write
    when another app holds the lock. `notes` are one-line messages for the user about what
    happened on open.
    """

    def __init__(self, folder: Path, location: Path) -> None:
        self.folder = Path(folder)
        self.location = Path(location)
        self.read_only: str | None = None
        self.notes: list[str] = []
        self.locked = False
        self._records: dict[str, dict[str, Any]] = {}
        self._sources: dict[str, Path] = {}    # image name -> mask file not (yet) at its key path
        self._classes: list[str] = list(DEFAULT_CLASSES)
        self._model_ref: str | None = None
        self._ambiguous: dict[Path, list[str]] = {}
        self._merged_from: Path | None = None
        self._needs_index = False
        self._load_index()
        self._reconcile_with_masks()

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, beside_images: bool = True,
             writer: bool = False) -> AnnotationStore:
        """Open (or prepare) the store of `folder`; falls back to a per-user location if read-only.

        `beside_images=False` always uses the per-user location (e.g. for bundled samples).
        `writer=True` (the app) takes the folder lock and fixes the folder on disk; without it
        (the CLI, training) the store only reads, and repairs are made in memory.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise StoreError(f"{display_name(folder.name) or folder}: not a folder")
        in_place = folder / STORE_FOLDER
        fallback = fallback_location(folder)
        writable = beside_images and (_is_writable(in_place) if in_place.is_dir() else
                                      not in_place.exists() and _is_writable(folder))
        if writable:
            store = cls(folder, in_place)
            in_use = folder_lock.read_owner(fallback / folder_lock.LOCK_FILE)
            if (fallback / INDEX_FILE).is_file() and folder_lock.is_stale(in_use):   # not while an app writes there
                store._take_fallback(cls(folder, fallback))
        else:
            store = cls(folder, fallback)
            if (in_place / INDEX_FILE).is_file() and not (fallback / INDEX_FILE).is_file():
                store._take_fallback(cls(folder, in_place), merged_note=False)   # carry the folder's annotations over
            if beside_images:
                store.notes.append(f"{display_name(folder.name)} is read-only: edits are saved in {fallback} "
                                   f"and merged back into the folder once it is writable")
        if writer:
            store._become_writer()
        return store

    # -- writer duties -----------------------------------------------------------------------
    def _become_writer(self) -> None:
        """Take the folder lock; then migrate, clean and merge on disk (or go read-only)."""
        self.location.mkdir(parents=True, exist_ok=True)
        owner = folder_lock.acquire(self.location)
        if owner is not None:
            self.read_only = (f"{display_name(self.folder.name)} is open in another UKAN Studio ({owner.describe()}): "
                              f"opened read-only, edits are refused; close the other window to edit here")
            self.notes.append(self.read_only)
            return
        self.locked = True
        for folder in (self.location, self.location / MASKS_FOLDER):
            remove_stale_partials(folder)
        try:
            self._apply_repairs()
        except StoreError:
            self.close()   # a store that could not be repaired is not opened: give the folder back
            raise
        self.finish_merge()

    def _apply_repairs(self) -> None:
        """Put migrated and merged masks at their key paths and write the index (format 2)."""
        masks = self.location / MASKS_FOLDER
        for name, source in list(self._sources.items()):
            mask = self._read(source)
            self._sources.pop(name, None)
            if mask is not None:
                self.write_mask_file(name, mask, self.record(name))
            if source.parent == masks and source.name != item_mask_file_name(name):
                with contextlib.suppress(OSError):
                    source.unlink()   # the old stem-named file, now at its key
        if self._needs_index:
            self._write_index()
            self._needs_index = False
        for path in self._ambiguous:   # only once the index no longer points at them
            aside = self.location / UNASSIGNED_FOLDER / path.name
            with contextlib.suppress(OSError):
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, aside)
        self._ambiguous = {}

    def close(self) -> None:
        """Release the folder lock (the store can still be read)."""
        if self.locked:
            folder_lock.release(self.location)
            self.locked = False

    # -- reading -----------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.location / INDEX_FILE

    def mask_path(self, name: str) -> Path:
        """The PNG that holds the mask of image file `name` (it may not exist yet)."""
        source = self._sources.get(name)
        return source if source is not None else self.location / MASKS_FOLDER / item_mask_file_name(name)

    def status(self, name: str) -> str:
        """One of `statuses.STATUSES` ("unlabelled" when the image has no record)."""
        record = self._records.get(name)
        return str(record.get("status", statuses.UNLABELLED)) if record else statuses.UNLABELLED

    def record(self, name: str) -> dict[str, Any]:
        """A copy of the stored facts about image `name` (status, model, updated)."""
        return dict(self._records.get(name, {"status": statuses.UNLABELLED}))

    def names(self) -> list[str]:
        """Image file names that have a record, sorted."""
        return sorted(self._records)

    def mask(self, name: str) -> np.ndarray | None:
        """The saved (H, W) uint8 label mask of image `name`, or None when there is none."""
        return self._read(self.mask_path(name))

    @staticmethod
    def _read(path: Path) -> np.ndarray | None:
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
        """Images whose status Retrain uses (see `statuses`) and whose mask file exists, sorted by name."""
        items = []
        for name in sorted(self._records):
            if not statuses.used_by_retrain(self.status(name)):
                continue
            mask = self.mask_path(name)
            if mask.is_file():
                file_name, frame = split_item_key(name)
                items.append(CorrectedItem(image=self.folder / file_name, mask=mask, name=name, frame=frame))
        return items

    @property
    def model_ref(self) -> str | None:
        """The model this folder uses (a name, name/version or checkpoint path); None = the bundled default."""
        return self._model_ref

    def set_model_ref(self, ref: str | None) -> None:
        """Record the model this folder uses (None: back to the bundled default) and save the index."""
        if ref is not None and (not isinstance(ref, str) or not ref.strip()):
            raise StoreError(f"{INDEX_FILE}: a model reference must be a non-empty name or path, got {ref!r}")
        self._model_ref = ref.strip() if ref is not None else None
        self._write_index()

    # -- writing -----------------------------------------------------------------------------
    def save_mask(self, name: str, mask: np.ndarray, status: str, model: str | None = None, *,
                  write_index: bool = True) -> Path:
        """Write the mask of image `name` and its status atomically; returns the mask path.

        `write_index=False` defers the JSON index (call `save_index()` soon): saving many
        predictions then costs one index write instead of one per image.
        """
        self.record_mask(name, status, model)
        path = self.write_mask_file(name, mask, self.record(name))
        if write_index:
            self._write_index()
        return path

    def record_mask(self, name: str, status: str, model: str | None = None) -> None:
        """Note in memory that image `name` has a mask of `status` (the index is written later).

        With `write_mask_file` and `index_text`/`write_index_text` this lets a caller do the file
        writes elsewhere (a background thread) while the records stay on its own thread.
        """
        self._check_writable(name)
        if not statuses.is_known(status):
            raise StoreError(f"{display_item(name)}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
        record: dict[str, Any] = {"status": status, "updated": now(), "mask": item_mask_file_name(name)}
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
        if self._model_ref is not None:
            document["model"] = self._model_ref
        return json.dumps(document, indent=1, sort_keys=True)   # ASCII: undecodable names as \\udcXX

    def write_index_text(self, text: str) -> None:
        """Write an `index_text()` snapshot atomically (safe from another thread).

        The folder is not fsynced: an index rename lost in a power cut is rebuilt from the masks'
        own records on the next open, so one fsync per save is saved on slow disks.
        """
        self._check_writable(INDEX_FILE)
        try:
            atomic_write_text(self.index_path, text, sync_folder=False)
        except OSError as exc:
            raise StoreError(f"{INDEX_FILE}: cannot save the annotation index ({exc.strerror or exc})") from exc

    def set_status(self, name: str, status: str) -> None:
        """Change only the status of image `name` (e.g. back to "predicted")."""
        self._check_writable(name)
        if not statuses.is_known(status):
            raise StoreError(f"{display_item(name)}: unknown status {status!r}; use one of {', '.join(STATUSES)}")
        record = dict(self._records.get(name, {}))
        record.update(status=status, updated=now())
        self._records[name] = record
        mask = self.mask(name) if statuses.rules(status).has_mask else None
        if mask is not None:
            self.write_mask_file(name, mask, record)
        self._write_index()

    def forget(self, name: str) -> None:
        """Remove the mask and record of image `name` (it becomes "unlabelled")."""
        self._check_writable(name)
        with contextlib.suppress(FileNotFoundError):
            self.mask_path(name).unlink()
        self._sources.pop(name, None)
        if self._records.pop(name, None) is not None:
            self._write_index()

    # -- files -------------------------------------------------------------------------------
    def write_mask_file(self, name: str, mask: np.ndarray, record: dict[str, Any] | None = None) -> Path:
        """Write only the mask PNG of image `name` with `record` inside it, atomically (any thread)."""
        from ukan_core.io.masks import write_mask

        self._check_writable(name)
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise StoreError(f"{display_item(name)}: a mask must be 2-D (H, W), got shape {mask.shape}")
        mask = mask.astype(np.uint8, copy=False)
        path = self.location / MASKS_FOLDER / item_mask_file_name(name)
        text = {STATUS_CHUNK: chunk_text(name, record or self.record(name))}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_mask(path, mask, text=text)
        except OSError as exc:
            raise StoreError(f"{display_item(name)}: cannot save the mask in {path.parent} "
                             f"({exc.strerror or exc}); free space or check permissions") from exc

    def _check_writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"{display_item(what)}: not saved, {self.read_only}")

    def _write_index(self) -> None:
        self.write_index_text(self.index_text())

    def _load_index(self) -> None:
        path = self.index_path
        if not path.is_file():
            return
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: unreadable annotation index ({exc}); move it aside to start afresh") from exc
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, dict):
            raise StoreError(f"{INDEX_FILE}: no 'images' table; the file is not a UKAN Studio index")
        self._records = {str(k): dict(v) for k, v in images.items() if isinstance(v, dict)}
        classes = document.get("classes")
        if isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes):
            self._classes = list(classes)
        model = document.get("model")
        self._model_ref = model if isinstance(model, str) and model.strip() else None
        if int(document.get("version", 1) or 1) < FORMAT_VERSION:
            self._migrate_in_memory()

    def _migrate_in_memory(self) -> None:
        plan = plan_migration(self._records, self.location / MASKS_FOLDER)
        self._sources.update(plan.owners)
        for name in plan.owners:
            self._records[name]["mask"] = item_mask_file_name(name)
        unlabel_ambiguous(self._records, plan, now())
        self._ambiguous = dict(plan.ambiguous)
        self.notes.extend(plan.notes())
        self._needs_index = True

    def _reconcile_with_masks(self) -> None:
        """Masks written after the index (a crash in between) or missing from it give their own record."""
        try:
            index_time = self.index_path.stat().st_mtime
        except OSError:
            index_time = 0.0
        known = {str(record.get("mask")) for record in self._records.values()}
        for name, record in records_from_masks(self.location / MASKS_FOLDER, index_time, known).items():
            if self._records.get(name) != record:
                self._records[name] = record
                self._sources.pop(name, None)
                self._needs_index = True

    def _take_fallback(self, other: AnnotationStore, *, merged_note: bool = True) -> None:
        """Merge the records of `other` (newest per image wins; the user's work beats a prediction)."""
        taken = []
        for name, theirs in other._records.items():
            if not wins_over(theirs, self._records.get(name)):
                continue
            source = other.mask_path(name)
            if statuses.rules(str(theirs.get("status"))).has_mask and not source.is_file():
                continue
            self._records[name] = dict(theirs, mask=item_mask_file_name(name))
            if source.is_file():
                self._sources[name] = source
            taken.append(name)
        self._classes = other._classes if self._classes == list(DEFAULT_CLASSES) else self._classes
        self._model_ref = self._model_ref or other._model_ref
        self._needs_index = self._needs_index or bool(taken)
        if merged_note:
            self.notes.append(f"{len(taken)} edits saved in {other.location} while {display_name(self.folder.name)} "
                              f"was read-only were merged back into the folder" if taken else
                              f"the per-user copy {other.location} holds nothing newer than the folder")
            self._merged_from = other.location

    def finish_merge(self) -> None:
        """After the merged masks are on disk: keep the per-user copy as a dated backup, never merged again."""
        source = self._merged_from
        if source is None or not self.locked:
            return
        with contextlib.suppress(OSError):
            os.replace(source, source.with_name(f"{source.name}.merged-{datetime.now().strftime('%Y%m%dT%H%M%S')}"))
        self._merged_from = None

