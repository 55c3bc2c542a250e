"""A QObject worker with progress/cancel signals, and the runner that owns one thread per job.

Each worker's run() executes on its own QThread. Results travel back as signals; connect them to
@Slot methods of GUI-thread QObjects (never to lambdas, which Qt would call on the worker thread).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ukan_core.errors import Cancelled, UkanError
from ukan_core.progress import CancelToken, Progress

log = logging.getLogger(__name__)

_live_threads: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Worker threads still running (a test fixture fails a test that leaves any behind)."""
    alive = []
    for thread in list(_live_threads):
        try:
            if thread.isRunning():
                alive.append(thread)
        except RuntimeError:  # the C++ object is already gone
            continue
    return alive


def limit_torch_threads() -> None:
    """Torch threads in workers: ukan_core.device.studio_threads() (2 on 2 cores, else cores - 1)."""
    import torch

    from ukan_core.device import studio_threads

    torch.set_num_threads(studio_threads())


WORKER_NICENESS = 10   # how much lower than the GUI thread a worker runs on Linux (see `lower_this_thread`)


def lower_this_thread() -> bool:
    """Give the calling worker thread (and the torch threads it starts) a lower CPU priority.

    So that when the cores are busy with a model, the GUI thread still gets one as soon as it
    has work: a frame to paint, a stroke, a result to show. Qt's `QThread.LowPriority` does
    this on Windows and macOS but has no effect on Linux, where every thread has its own nice
    value: raise this thread's by `WORKER_NICENESS` (threads it creates later inherit it). True
    when it was changed; never fatal (a sandbox may forbid it).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is threading.main_thread():
        return False   # never the GUI thread itself (a worker run synchronously, as some tests do)
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS))
    except (OSError, AttributeError):
        return False
    return True


class Worker(QObject):
    """Subclasses implement run(); it executes on the worker thread, never on the GUI thread."""

    progress = Signal(object)      # ukan_core.progress.Progress
    succeeded = Signal(object)     # whatever run() returned
    failed = Signal(str)           # one line, ready for the status bar
    cancelled = Signal()
    finished = Signal()            # always last

    name = "job"

    def __init__(self) -> None:
        super().__init__()
        self.cancel_token = CancelToken()

    def cancel(self) -> None:
        """Safe from any thread: only sets the flag that run() polls."""
        self.cancel_token.cancel()

    def run(self) -> Any:
        raise NotImplementedError

    def report(self, progress: Progress) -> None:
        """Pass as the progress callback of ukan_core functions."""
        self.progress.emit(progress)

    @Slot()
    def execute(self) -> None:
        lower_this_thread()
        try:
            result = self.run()
        except Cancelled:
            self.cancelled.emit()
        except UkanError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # last line of defence: the log keeps the traceback
            log.exception("%s crashed", type(self).__name__)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.failed.emit(f"{self.name} failed: {first}")
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()


class WorkerRunner(QObject):
    """Owns the threads: at most one job per kind; cancels and joins them all on shutdown."""

    busy_changed = Signal(str, bool)   # kind, busy

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: dict[str, tuple[Worker, QThread]] = {}

    def is_busy(self, kind: str | None = None) -> bool:
        return bool(self._jobs) if kind is None else kind in self._jobs

    def kinds(self) -> list[str]:
        return list(self._jobs)

    def start(self, kind: str, worker: Worker) -> None:
        """Run `worker` on a new thread; raises RuntimeError when a `kind` job is running."""
        if kind in self._jobs:
            raise RuntimeError(f"a {kind} job is already running")
        thread = QThread()
        thread.setObjectName(kind)
        worker.moveToThread(thread)
        thread.started.connect(worker.execute)
        worker.finished.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._jobs[kind] = (worker, thread)
        _live_threads.add(thread)
        thread.start(QThread.Priority.LowPriority)
        self.busy_changed.emit(kind, True)

    def cancel(self, kind: str | None = None) -> None:
        """Ask one job (or every job) to stop at its next check."""
        for job_kind, (worker, _) in list(self._jobs.items()):
            if kind is None or job_kind == kind:
                worker.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel every job and wait for its thread (the window is closing)."""
        for worker, thread in list(self._jobs.values()):
            worker.cancel()
        for kind, (worker, thread) in list(self._jobs.items()):
            thread.quit()
            if not thread.wait(timeout_ms):
                log.error("%s job did not stop within %d ms", kind, timeout_ms)
            self._jobs.pop(kind, None)
            worker.deleteLater()
            thread.deleteLater()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self.sender()
        for kind, (worker, job_thread) in list(self._jobs.items()):
            if job_thread is thread:
                self._jobs.pop(kind)
                worker.deleteLater()
                job_thread.deleteLater()
                self.busy_changed.emit(kind, False)
                return
