"""The session's save machinery: unsaved edits, the autosave tick, the writer thread, retries.

Every change is saved by a short one-shot timer, so at most the last second is at risk if the
process dies. The files (mask PNGs, the index) are written by a DiskWriter thread in order, so
a slow disk never freezes the window. A failed save is retried by a timer with back-off until it
succeeds; the failed edits stay in memory until then, and are only dropped by `discard`.
GUI thread only.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ukan_core.annotation import AnnotationStore, statuses
from ukan_core.errors import UkanError
from ukan_studio.disk_writer import DiskWriter
from ukan_studio.save_retry import SaveRetry

AUTOSAVE_MS = 300      # well inside the promised 1 s, with room for a slow disk's fsyncs
AUTOSAVE_BATCH_BYTES = 16_000_000   # masks copied per autosave turn (one 12 MP mask): Segment all of
                                    # large images never copies several of them in one go


class SavedState(Protocol):
    """What the saver reads of the session: the store, the live masks, the saved statuses."""

    store: AnnotationStore | None
    live_masks: dict[str, np.ndarray]

    def status_and_model(self, name: str) -> tuple[str, str | None]: ...


class MaskSaver(QObject):
    """Queues the session's unsaved masks and statuses and writes them in order, off the GUI thread."""

    failed = Signal(str)       # one line
    recovered = Signal(str)    # one line: saves that had failed went through

    def __init__(self, session: SavedState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.pending: dict[str, tuple[str, str | None]] = {}   # name -> (status, model) not saved yet
        self.index_dirty = False
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self._on_autosave_timeout)
        self._next_batch = QTimer(self)   # the rest of an autosave, at the next turn of the event loop
        self._next_batch.setSingleShot(True)
        self._next_batch.setInterval(0)
        self._next_batch.timeout.connect(self._on_autosave_timeout)
        self._writer = DiskWriter(self)
        self._writer.failed.connect(self._on_write_failed)
        self._retry = SaveRetry(self)
        self._retry.due.connect(self._on_retry_due)
        self._failing = False

    def mark(self, name: str, status: str, model: str | None) -> None:
        """`name`'s mask changed (now `status`): save it soon."""
        self.pending[name] = (status, model)
        self.schedule()

    def schedule(self) -> None:
        if not self._autosave.isActive():   # not restarted per edit: the first unsaved edit sets the deadline
            self._autosave.start()

    def unsaved_mask(self, name: str) -> np.ndarray | None:
        """The mask of `name` still queued for (or failing at) the disk, if any."""
        return self._writer.pending(self._mask_key(name))

    def flush(self, *, wait: bool = True, batch_bytes: int | None = None) -> bool:
        """Save every unsaved mask and the index; with `wait`, return once they are on disk.

        True when everything was saved (or, without `wait`, handed to the writer); failures are
        also reported by `failed`, and the failed edits stay unsaved so that the next save
        tries again. With `batch_bytes` (the autosave) about that many bytes of masks are handed
        over now and the rest at the next turn of the event loop.
        """
        self._autosave.stop()
        self._next_batch.stop()
        store = self._session.store
        if store is None:
            return True
        ok, copied = True, 0
        for name, (status, model) in list(self.pending.items()):
            if batch_bytes is not None and copied >= batch_bytes:
                self._next_batch.start()   # the rest at the next turn: the window answers meanwhile
                return ok
            mask = self._session.live_masks.get(name)
            self.pending.pop(name, None)
            if mask is None:
                continue
            try:
                store.record_mask(name, status, model)
            except UkanError as exc:
                ok = False
                self.failed.emit(str(exc))
                continue
            # a snapshot (the canvas keeps editing the live mask); the user's own work goes first
            self.write_mask(name, mask.copy(), first=not statuses.segment_may_overwrite(status))
            copied += mask.nbytes
        if self.index_dirty:
            text = store.index_text()
            self.index_dirty = False
            self._writer.submit(str(store.index_path), lambda: store.write_index_text(text), tag="", keep_last=True)
        if wait:
            self._writer.wait()
            ok = self._report_failures() and ok
        return ok

    def write_mask(self, name: str, mask: np.ndarray, *, first: bool = False) -> None:
        """Hand the mask file of `name` (with its record inside) to the writer thread; the index follows."""
        store = self._session.store
        assert store is not None
        self.index_dirty = True
        record = store.record(name)   # a snapshot taken on this thread: the writer never reads the records
        self._writer.submit(self._mask_key(name), lambda: store.write_mask_file(name, mask, record),
                            payload=mask, tag=name, first=first)

    @property
    def has_unsaved(self) -> bool:
        return bool(self.pending) or self.index_dirty or self._writer.busy

    def discard(self) -> None:
        """Forget the edits that could not be saved (the user chose to); the files keep what they hold."""
        self._retry.stop()
        self.clear()
        self._writer.wait(5)
        self._writer.take_failures()

    def clear(self) -> None:
        """Nothing is unsaved any more (the folder is being dropped, after a flush)."""
        self.pending.clear()
        self.index_dirty = False

    def stop_retrying(self) -> None:
        self._retry.stop()

    @Slot()
    def _on_autosave_timeout(self) -> None:
        self.flush(wait=False, batch_bytes=AUTOSAVE_BATCH_BYTES)

    @Slot()
    def _on_write_failed(self) -> None:
        self._report_failures()

    @Slot()
    def _on_retry_due(self) -> None:
        """Try the failed saves again; the outcome is checked once the writer is done."""
        self._failing = False
        self.flush(wait=False)
        QTimer.singleShot(50, self, self._check_recovered)

    @Slot()
    def _check_recovered(self) -> None:
        if self._writer.busy:
            QTimer.singleShot(100, self, self._check_recovered)
        elif self._report_failures() and not self._failing and self._session.store is not None:
            self._retry.succeeded()
            self.recovered.emit("The edits that could not be saved are saved now")

    def _report_failures(self) -> bool:
        """Mark the writes that failed as unsaved again and say so once; True when there were none."""
        failures = self._writer.take_failures()
        self._requeue(failures)
        if failures:
            self._failing = True
            self._retry.failed()
            self.failed.emit(failures[0].message if len(failures) == 1 else
                             f"{failures[0].message} (and {len(failures) - 1} more files not saved)")
        return not failures

    def _requeue(self, failures: list) -> None:
        """Mark the files of failed writes unsaved again, so the next flush writes them."""
        session = self._session
        for failure in failures:
            if not failure.tag:
                self.index_dirty = True
            elif failure.tag in session.live_masks and session.store is not None:
                self.pending.setdefault(failure.tag, session.status_and_model(failure.tag))
            elif session.store is not None:
                unsaved = self._writer.pending(self._mask_key(failure.tag))
                if unsaved is not None:   # an image without history (Segment all): keep its mask in memory
                    session.live_masks[failure.tag] = unsaved
                    self.pending.setdefault(failure.tag, session.status_and_model(failure.tag))

    def _mask_key(self, name: str) -> str:
        store = self._session.store
        assert store is not None
        return str(store.mask_path(name))
