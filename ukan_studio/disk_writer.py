"""Files written off the GUI thread, one at a time, in the order they were asked for.

Encoding a mask PNG, fsync and rename take milliseconds on a local disk but can take far longer
on a network share or a sleeping USB drive; the window must not wait for them. Writes run on one
background thread in submission order (so an index written after its masks lands after them).
`pending(key)` gives the data of a write that has not finished yet, so readers never see a stale
file, and `wait()` is the barrier for the moments that need everything on disk (Retrain, export,
another folder, closing the window).
"""

from __future__ import annotations

import logging
import queue
import threading
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


class DiskWriter(QObject):
    """A single background writer thread; submit from the GUI thread, `wait()` for a barrier."""

    failed = Signal()   # some writes failed: collect them with take_failures() (queued to the GUI thread)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: queue.Queue[tuple[int, str, str, Callable[[], object]]] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._number = 0
        self._latest: dict[str, tuple[int, Any]] = {}   # key -> (job number, payload) still being written
        self._failures: list[WriteFailure] = []
        self._thread: threading.Thread | None = None

    def submit(self, key: str, write: Callable[[], object], *, payload: Any = None, tag: str = "") -> None:
        """Queue `write()`. `key` names the file (a later write of the same key supersedes the payload
        that `pending(key)` returns); `payload` is what the file will hold; `tag` names it in failures."""
        with self._lock:
            self._number += 1
            number = self._number
            self._unfinished += 1
            if payload is not None:
                self._latest[key] = (number, payload)
            self._jobs.put((number, key, tag, write))
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
            return self._unfinished > 0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted write has finished (True), or `timeout` seconds passed (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def take_failures(self) -> list[WriteFailure]:
        """The failures since the last call (each is reported once)."""
        with self._lock:
            failures, self._failures = self._failures, []
        return failures

    def _run(self) -> None:
        while True:
            try:
                number, key, tag, write = self._jobs.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:   # submit() queues under this lock, so no job can slip past the exit
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            failure = None
            try:
                write()
            except (UkanError, OSError) as exc:
                failure = WriteFailure(tag, str(exc) if isinstance(exc, UkanError) else f"{key}: {exc}")
            except Exception as exc:   # a bug must not kill the writer, and must not pass silently
                log.exception("writing %s failed", key)
                failure = WriteFailure(tag, f"{key}: cannot save ({type(exc).__name__}: {exc})")
            with self._idle:
                if failure is None and self._latest.get(key, (None,))[0] == number:
                    del self._latest[key]   # a failed write keeps its payload readable in memory
                if failure is not None:
                    self._failures.append(failure)
                self._unfinished -= 1
                self._idle.notify_all()
            if failure is not None:
                try:
                    self.failed.emit()
                except RuntimeError:   # the owner is gone (window closed); the failure is logged
                    log.warning("not saved: %s", failure.message)
