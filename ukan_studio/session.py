"""The open folder: image names, the annotation store, the masks being edited, undo and autosave.

The GUI thread owns the state. Edits arrive as MaskEdits (from the canvas or a Segment result)
wrapped in undo commands; every change is saved to the annotation store by a short one-shot timer
(at most the last second is at risk if the process dies), and at once when the user switches image,
exports, retrains or closes the window. A DiskWriter thread writes the files in order, so a slow
disk never freezes the window. A failed save is retried with back-off; the failed edits stay in
memory (`unsaved_masks`) until an explicit `discard_unsaved` (`ukan_studio.mask_saver`). A folder
that another app holds the lock of opens read-only: edits are refused with a message.
Image names are the store's item keys: a file name, or `<file name>/<k>` for frame k of a file.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoGroup, QUndoStack

from ukan_core.annotation import AnnotationStore, CorrectedItem, statuses
from ukan_core.annotation.keys import display_name, item_key
from ukan_core.io.items import ImageItem
from ukan_core.errors import StoreError, UkanError
from ukan_studio.canvas.mask_edit import MaskEdit, diff_edit
from ukan_studio.canvas.undo import MaskEditCommand
from ukan_studio.folder_scan import item_display, item_of, scan_items
from ukan_studio.session_export import export_now, renamed_exports_line
from ukan_studio.image_loader import ImageLoader, decodes_quickly, neighbour_items, read_now
from ukan_studio.mask_saver import MaskSaver

log = logging.getLogger(__name__)

MAX_UNDO_IMAGES = 12   # images that keep an undo history (and their mask) in memory


class Session(QObject):
    """State of one opened folder; every method runs on the GUI thread."""

    folder_opened = Signal(object)           # folder path (str)
    # Image names travel as `object`: a `str` signal would turn them into QStrings, which drop the
    # undecodable bytes of a file name that is not UTF-8 (the name would then match no file).
    current_changed = Signal(object)         # image name ("" for none)
    mask_changed = Signal(object, object)    # image name, changed rect (top, left, bottom, right) or None
    status_changed = Signal(object, str)     # image name, new status
    save_failed = Signal(str)            # one line
    save_recovered = Signal(str)         # one line: saves that had failed went through
    info = Signal(str)                   # one line worth telling the user (e.g. renamed export files)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.names: list[str] = []                  # item keys, in the folder's order
        self.items: dict[str, ImageItem] = {}       # item key -> (file, frame, frame count)
        self.store: AnnotationStore | None = None
        self.current: str | None = None
        self.image: Any = None             # ukan_core.io.images.ImageData of the current image
        self.image_error: str | None = None
        self.loading: str | None = None    # the current image while it is decoded in the background
        self.undo_group = QUndoGroup(self)
        self.live_masks: dict[str, np.ndarray] = {}   # the masks being edited, by image name (in place)
        self._stacks: OrderedDict[str, QUndoStack] = OrderedDict()
        self._stroke_active = False
        self._deferred: list[tuple[str, np.ndarray, str | None, bool]] = []
        self._saver = MaskSaver(self, self)
        self._saver.failed.connect(self.save_failed)
        self._saver.recovered.connect(self.save_recovered)
        self._loader = ImageLoader(self, mask_path_of=self._saved_mask_path)
        self._loader.loaded.connect(self._on_image_loaded)
        self._loader.load_failed.connect(self._on_image_load_failed)

    # -- folder and current image -----------------------------------------------------------
    def open_folder(self, folder: str | os.PathLike[str]) -> None:
        """Scan `folder` (names only) and open its annotation store; shows no image yet."""
        from ukan_core.assets import samples_dir

        path = Path(folder).expanduser()
        bundled = path.resolve() == samples_dir().resolve()
        items = scan_items(path)
        if not self.flush(wait=True) and self.has_unsaved:
            raise StoreError(f"{display_name(path.name)}: not opened, edits in the open folder could not be "
                             f"saved yet; free space (they are retried) or close the window to export them")
        self._drop_all_history()
        self._loader.reset()
        if self.store is not None:
            self.store.close()
        store = AnnotationStore.open(path, beside_images=not bundled, writer=True)   # never write into the install
        self.folder, self.store, self.names, self.items = path, store, list(items), items
        self.current, self.image, self.image_error, self.loading = None, None, None, None
        self.folder_opened.emit(str(path))

    def set_current(self, name: str | None) -> None:
        """Make image `name` (and its mask and undo history) current; a large file is decoded in the background.

        Until a background decode is done `image` is None and `loading` names the image (no mask to
        edit); `current_changed` is emitted again once it is shown. Switching again meanwhile makes the
        late result only warm the cache.
        """
        self.flush(wait=False)
        self.current, self.image, self.image_error, self.loading = name, None, None, None
        if name is None or self.folder is None:
            self.undo_group.setActiveStack(None)
            self.current_changed.emit(name or "")
            return
        item = self.item(name)
        neighbours = neighbour_items(self.items, self.names, name)
        image = self._loader.cached(item)
        if image is None and not decodes_quickly(item.path):
            self.loading = name
            self.undo_group.setActiveStack(None)
            self._loader.load(item, neighbours)
            self.current_changed.emit(name)
            return
        if image is None:
            image, self.image_error = read_now(item)
            if image is not None:
                self._loader.keep(item, image)
        self._loader.want_only([item, *neighbours])
        self._loader.prefetch([n for n in neighbours if not decodes_quickly(n.path)])
        self._show(name, image)

    def item(self, name: str) -> ImageItem:
        """The file and frame of image `name` (an item key)."""
        return item_of(self.items, self.folder or Path(), name)

    def display(self, name: str) -> str:
        """How the list and messages name image `name`: `scan.png`, or `cine.dcm [2/5]` for a frame."""
        return item_display(self.items, name)

    def _show(self, name: str, image: Any) -> None:
        """`image` (or None: unreadable) is the current image now: its mask and undo stack become active."""
        self.image, self.loading = image, None
        if image is not None:
            self._stack(name)
            self.mask_for(name)
            self.undo_group.setActiveStack(self._stacks[name])
        else:
            self.undo_group.setActiveStack(None)
        self.current_changed.emit(name)

    @Slot(object, object)
    def _on_image_loaded(self, item: ImageItem, image: Any) -> None:
        if self.loading is not None and item == self.items.get(self.loading):
            self._show(self.loading, image)

    @Slot(object, str)
    def _on_image_load_failed(self, item: ImageItem, message: str) -> None:
        if self.loading is not None and item == self.items.get(self.loading):
            self.image_error = message
            self._show(self.loading, None)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        if self.image is None:
            return None
        return int(self.image.pixels.shape[0]), int(self.image.pixels.shape[1])

    def current_mask(self) -> np.ndarray | None:
        """The live (H, W) uint8 mask of the current image (edited in place by the canvas)."""
        if self.current is None or self.image is None:
            return None
        return self.mask_for(self.current)

    def mask_for(self, name: str) -> np.ndarray:
        """The in-memory mask of `name`, loaded from the store (or zeros) on first use."""
        mask = self.live_masks.get(name)
        if mask is not None:
            return mask
        assert self.store is not None
        shape = self.image_shape if name == self.current else None
        unsaved = self._saver.unsaved_mask(name)
        mask = unsaved.copy() if unsaved is not None else self._saved_mask(name)
        if mask is not None and shape is not None and mask.shape != shape:
            import cv2

            log.warning("%s: stored mask %s resized to the image %s", name, mask.shape, shape)
            mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
        if mask is None:
            if shape is None:
                raise UkanError(f"{name}: no mask and the image size is unknown")
            mask = np.zeros(shape, np.uint8)
        self.live_masks[name] = np.ascontiguousarray(mask, dtype=np.uint8)
        return self.live_masks[name]

    def _saved_mask_path(self, item: ImageItem) -> Path | None:
        """Where the saved mask of `item` is (for the loader, which reads it along)."""
        return self.store.mask_path(item_key(item.path.name, item.frame)) if self.store is not None else None

    def _saved_mask(self, name: str) -> np.ndarray | None:
        """The saved mask of `name`: the copy the loader read in the background if the file is unchanged."""
        assert self.store is not None and self.folder is not None
        mask_path = self.store.mask_path(name)
        mask = self._loader.take_stored_mask(self.item(name), mask_path)
        return mask if mask is not None else self.store.mask(name)

    # -- statuses ----------------------------------------------------------------------------
    @property
    def read_only(self) -> str | None:
        """Why this folder may not be edited (another app holds its lock), or None."""
        return self.store.read_only if self.store is not None else None

    def status_and_model(self, name: str) -> tuple[str, str | None]:
        if name in self._saver.pending:
            return self._saver.pending[name]
        if self.store is None:
            return "unlabelled", None
        record = self.store.record(name)
        return str(record.get("status", "unlabelled")), record.get("model")

    def status(self, name: str) -> str:
        return self.status_and_model(name)[0]

    def names_with_status(self, *statuses: str) -> list[str]:
        return [n for n in self.names if self.status(n) in statuses]

    # -- edits -------------------------------------------------------------------------------
    def push_edit(self, edit: MaskEdit, text: str, *, status: str = "corrected", model: str | None = None,
                  already_applied: bool = False, name: str | None = None) -> None:
        """Record an edit of image `name` (default: the current one) as one undo step."""
        name = name or self.current
        if name is None:
            return
        if self.read_only:
            self.save_failed.emit(f"{display_name(name)}: edit refused, {self.read_only}")
            return
        command = MaskEditCommand(self, name, edit, text, status=status, model=model, already_applied=already_applied)
        self._stack(name).push(command)

    def apply_edit(self, name: str, edit: MaskEdit, status: str, model: str | None, *, paint: bool = True) -> None:
        """Called by MaskEditCommand.redo(): change the mask (unless painted already), then save soon."""
        if paint:
            edit.apply(self.mask_for(name))
        self._changed(name, edit, status, model)

    def revert_edit(self, name: str, edit: MaskEdit, status: str, model: str | None) -> None:
        """Called by MaskEditCommand.undo()."""
        edit.revert(self.mask_for(name))
        self._changed(name, edit, status, model)

    def clear_current(self) -> None:
        """Erase every label of the current image (one undo step)."""
        mask = self.current_mask()
        if mask is None:
            return
        edit = diff_edit(mask, np.zeros_like(mask))
        if edit is not None:
            self.push_edit(edit, "Clear mask")

    def can_accept(self) -> bool:
        """True when the current image shows a prediction the user may accept as it is."""
        return (self.current is not None and self.image is not None and not self.read_only
                and self.status(self.current) == statuses.PREDICTED)

    def accept_current(self) -> bool:
        """Mark the current prediction `accepted` (checked and right) without changing a pixel; one undo step."""
        if not self.can_accept():
            return False
        assert self.current is not None
        _status, model = self.status_and_model(self.current)
        unchanged = MaskEdit(0, 0, np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.uint8))
        self.push_edit(unchanged, "Accept mask", status=statuses.ACCEPTED, model=model)
        return True

    def set_prediction(self, name: str, mask: np.ndarray, model: str | None, *,
                       overwrite_corrected: bool = False) -> bool:
        """Store a predicted mask; a corrected image is left alone unless `overwrite_corrected`.

        For images with an undo history (the current one, recent ones) the prediction is an undo
        step, so a Segment that replaced a mask is one Ctrl+Z away.
        """
        if self.store is None or name not in self.names:
            return False
        if self.read_only:
            self.save_failed.emit(f"{display_name(name)}: prediction not stored, {self.read_only}")
            return False
        if self._stroke_active and name == self.current:
            # Never change the mask under a stroke in progress; apply when the button is released.
            self._deferred.append((name, mask, model, overwrite_corrected))
            return True
        if not statuses.segment_may_overwrite(self.status(name)) and not overwrite_corrected:
            return False
        mask = np.ascontiguousarray(mask, dtype=np.uint8)
        if name in self._stacks:
            current = self.mask_for(name)
            if current.shape == mask.shape:
                edit = diff_edit(current, mask)
                if edit is not None:
                    self.push_edit(edit, "Segment", status="predicted", model=model, name=name)
                else:
                    self._saver.mark(name, "predicted", model)
                    self.status_changed.emit(name, "predicted")
                return True
            self._forget_history(name)
        try:
            self.store.record_mask(name, "predicted", model)
        except UkanError as exc:
            self.save_failed.emit(str(exc))
            return False
        self._saver.write_mask(name, mask.copy())   # the index follows once per autosave tick, not per image
        self._saver.schedule()
        self.status_changed.emit(name, "predicted")
        return True

    @Slot(bool)
    def set_stroke_active(self, active: bool) -> None:
        """The canvas is (or no longer is) drawing on the current mask; predictions wait meanwhile."""
        self._stroke_active = active
        if not active:
            deferred, self._deferred = self._deferred, []
            for name, mask, model, overwrite in deferred:
                self.set_prediction(name, mask, model, overwrite_corrected=overwrite)

    # -- saving (ukan_studio.mask_saver) ------------------------------------------------------
    def flush(self, *, wait: bool = True) -> bool:
        """Save every unsaved mask and the index; with `wait`, return once they are on disk.

        True when everything was saved (or, without `wait`, handed to the writer); failures are
        also reported by `save_failed`, and the failed edits stay unsaved so that the next save
        tries again.
        """
        return self._saver.flush(wait=wait)

    @property
    def has_unsaved(self) -> bool:
        return self._saver.has_unsaved

    def unsaved_masks(self) -> dict[str, np.ndarray]:
        """Copies of the masks whose last save failed or has not happened yet, by image name."""
        return {name: self.live_masks[name].copy() for name in self._saver.pending if name in self.live_masks}

    def discard_unsaved(self) -> None:
        """Forget the edits that could not be saved (the user chose to); the files keep what they hold."""
        self._saver.discard()

    def corrected_items(self) -> list[CorrectedItem]:
        """Images the user corrected (saved first), for Retrain."""
        self.flush()
        return self.store.corrected() if self.store is not None else []

    # -- the folder's model --------------------------------------------------------------------
    def model_ref(self) -> str | None:
        """The model the open folder records (None: the bundled default, or no folder)."""
        return self.store.model_ref if self.store is not None else None

    def set_model_ref(self, ref: str | None) -> None:
        """Record `ref` as the open folder's model in the session's store (queued saves land first)."""
        if self.store is not None:
            self.flush(wait=True)   # an older index snapshot written later would drop the record
            self.store.set_model_ref(ref)

    def export_masks(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False, scope: str = "all",
                     mode: str = "binary", selected: list[str] | None = None, format: str = "png") -> list[Path]:
        """Save pending edits, then write the masks of `scope` named like the images (here, at once)."""
        self.flush()
        return export_now(self, out_dir, overwrite=overwrite, scope=scope, mode=mode, selected=selected, format=format)

    def tell_renamed_exports(self, names: list[str]) -> None:
        """Say (by `info`) which exported file holds which mask when two images shared a stem."""
        if line := renamed_exports_line(self, names):
            self.info.emit(line)

    def close(self) -> bool:
        """Save everything and drop the folder (releasing its lock); False, keeping all, when saves fail."""
        if not self.flush() and self.has_unsaved:
            return False
        self._saver.stop_retrying()
        self._loader.shutdown()
        self._drop_all_history()
        if self.store is not None:
            self.store.close()
        return True

    # -- helpers -----------------------------------------------------------------------------
    def _changed(self, name: str, edit: MaskEdit, status: str, model: str | None) -> None:
        previous = self.status(name)
        self._saver.mark(name, status, model)
        self.mask_changed.emit(name, edit.rect)
        if status != previous:
            self.status_changed.emit(name, status)

    def _stack(self, name: str) -> QUndoStack:
        stack = self._stacks.get(name)
        if stack is None:
            stack = QUndoStack(self.undo_group)
            stack.setUndoLimit(200)
            self._stacks[name] = stack
            while len(self._stacks) > MAX_UNDO_IMAGES:
                oldest = next(n for n in self._stacks if n != name and n != self.current)
                self._forget_history(oldest)
        self._stacks.move_to_end(name)
        return stack

    def _forget_history(self, name: str) -> None:
        self.flush(wait=False)   # until written, the writer still answers mask_for(name)
        stack = self._stacks.pop(name, None)
        if stack is not None:
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        self.live_masks.pop(name, None)

    def _drop_all_history(self) -> None:
        for name in list(self._stacks):
            self._forget_history(name)
        self.live_masks.clear()
        self._saver.clear()
