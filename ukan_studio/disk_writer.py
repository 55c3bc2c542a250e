"""Files written off the GUI thread, one at a time, newest data only.

Encoding a mask PNG, fsync and rename take milliseconds on a local disk but can take far longer
on a network share or a sleeping USB drive; the window must not wait for them. Writes run on one
background thread in submission order (so an index written after its masks lands after them).
A write of a key that is still queued is superseded by a newer one (coalescing): only the newest
state of each file is written, so on a slow disk the backlog stays one write per file instead of
one per edit, and the newest edit reaches the disk soonest. `pending(key)` gives the data of a
write that has not finished yet, so readers never see a stale file, and `wait()` is the barrier
for the moments that need everything on disk (Retrain, export, another folder, closing).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ukan_core.errors import UkanError

log = logging.getLogger(__name__)

IDLE_EXIT_S = 2.0   # the thread ends after this long without work; the next submit starts another


@dataclass(frozen=True)
class WriteFailure:
    """A write that failed: its tag (what the caller wants to know, e.g. an image name) and why."""

    tag: str
    message: str


@dataclass
class _Job:
    number: int
    key: str
    tag: str
    write: Callable[[], object]


class DiskWriter(QObject):
    """A single background writer thread; submit from the GUI thread, `wait()` for a barrier."""

    failed = Signal()   # some writes failed: collect them with take_failures() (queued to the GUI thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: OrderedDict[str, _Job] = OrderedDict()   # key -> its newest queued (not started) write
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._running = 0            # 1 while a write is in progress
        self._number = 0
        self._latest: dict[str, tuple[int, Any]] = {}   # key -> (job number, payload) still being written
        self._failures: list[WriteFailure] = []
        self._thread: threading.Thread | None = None
        self.superseded = 0          # writes dropped because a newer one of the same file came first

    def submit(self, key: str, write: Callable[[], object], *, payload: Any = None, tag: str = "",
               keep_last: bool = False, first: bool = False) -> None:
        """Queue `write()` for file `key`, replacing a queued, not yet started write of the same key.

        The replacement takes the old one's place in the order, or with `keep_last` moves to the end
        (for a file that must land after everything submitted before it, like the index after its
        masks); `first` puts it ahead of every queued write (the user's own edit ahead of a backlog
        of predictions). `payload` is what the file will hold (`pending(key)` returns it); `tag`
        names it in failures.
        """
        with self._lock:
            self._number += 1
            job = _Job(self._number, key, tag, write)
            if key in self._queue:
                self.superseded += 1
                if keep_last:
                    del self._queue[key]
            self._queue[key] = job
            if first:
                self._queue.move_to_end(key, last=False)
            if payload is not None:
                self._latest[key] = (job.number, payload)
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ukan-disk-writer", daemon=True)
                self._thread.start()

    def pending(self, key: str) -> Any:
        """The payload of the newest write of `key` that has not reached the disk (unfinished or failed),
        or None when the file is up to date."""
        with self._lock:
            entry = self._latest.get(key)
        return entry[1] if entry is not None else None

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._queue) or self._running > 0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted write has finished (True), or `timeout` seconds passed (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._running, timeout)

    def take_failures(self) -> list[WriteFailure]:
        """The failures since the last call (each is reported once)."""
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._queue:
                    self._changed.wait_for(lambda: bool(self._queue), IDLE_EXIT_S)
                if not self._queue:   # submit() queues under this lock, so no job can slip past the exit
                    self._thread = None
                    return
                _, job = self._queue.popitem(last=False)
                self._running = 1
            failure = self._do(job)
            with self._changed:
                if failure is None and self._latest.get(job.key, (None,))[0] == job.number:
                    del self._latest[job.key]   # a failed write keeps its payload readable in memory
                if failure is not None:
                    self._failures.append(failure)
                self._running = 0
                self._changed.notify_all()
            if failure is not None:
                try:
                    self.failed.emit()
                except RuntimeError:   # the owner is gone (window closed); the failure is logged
                    log.warning("not saved: %s", failure.message)

    @staticmethod
    def _do(job: _Job) -> WriteFailure | None:
        try:
            job.write()
        except (UkanError, OSError) as exc:
            return WriteFailure(job.tag, str(exc) if isinstance(exc, UkanError) else f"{job.key}: {exc}")
        except Exception as exc:   # a bug must not kill the writer, and must not pass silently
            log.exception("writing %s failed", job.key)
            return WriteFailure(job.tag, f"{job.key}: cannot save ({type(exc).__name__}: {exc})")
        return None
