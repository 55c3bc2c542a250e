"""Workers run off the GUI thread, report in order, cancel cleanly and never leave threads behind."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from PySide6.QtCore import QObject, Slot

from ukan_core.errors import UkanError
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker, WorkerRunner, running_threads


class CountingWorker(Worker):
    def __init__(self, steps: int = 3, fail: bool = False, delay: float = 0.0) -> None:
        super().__init__()
        self.steps, self.fail, self.delay = steps, fail, delay
        self.thread_ident: int | None = None

    def run(self) -> int:
        self.thread_ident = threading.get_ident()
        for i in range(self.steps):
            self.cancel_token.raise_if_cancelled()
            time.sleep(self.delay)
            self.report(Progress(i + 1, self.steps, f"step {i + 1}"))
        if self.fail:
            raise UkanError("model.safetensors: not a checkpoint")
        return self.steps


class Recorder(QObject):
    """A GUI-thread receiver, as the window's slots are."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[object] = []
        self.threads: set[int] = set()

    @Slot(object)
    def on_progress(self, progress: Progress) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(progress.done)

    @Slot(object)
    def on_succeeded(self, result: object) -> None:
        self.events.append(("ok", result))

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.events.append(("failed", message))

    @Slot()
    def on_cancelled(self) -> None:
        self.events.append("cancelled")


def _wire(worker: Worker, recorder: Recorder) -> None:
    worker.progress.connect(recorder.on_progress)
    worker.succeeded.connect(recorder.on_succeeded)
    worker.failed.connect(recorder.on_failed)
    worker.cancelled.connect(recorder.on_cancelled)


def test_worker_runs_on_its_own_thread_and_reports_in_order(qtbot) -> None:
    runner, recorder, worker = WorkerRunner(), Recorder(), CountingWorker()
    _wire(worker, recorder)
    with qtbot.waitSignals([worker.succeeded, worker.finished], order="strict", timeout=5000):
        runner.start("segment", worker)
    qtbot.waitUntil(lambda: not runner.is_busy("segment"), timeout=5000)
    assert recorder.events == [1, 2, 3, ("ok", 3)]
    assert worker.thread_ident != threading.get_ident()
    assert recorder.threads == {threading.get_ident()}, "slots run on the GUI thread"


def test_failure_and_cancel_arrive_as_signals(qtbot) -> None:
    runner, recorder = WorkerRunner(), Recorder()
    failing = CountingWorker(fail=True)
    _wire(failing, recorder)
    with qtbot.waitSignal(failing.finished, timeout=5000):
        runner.start("retrain", failing)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert recorder.events[-1] == ("failed", "model.safetensors: not a checkpoint")

    slow = CountingWorker(steps=200, delay=0.01)
    _wire(slow, recorder)
    with qtbot.waitSignal(slow.finished, timeout=5000):
        runner.start("retrain", slow)
        runner.cancel("retrain")
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert recorder.events[-1] == "cancelled"


def test_one_job_per_kind_and_shutdown_joins_threads(qtbot) -> None:
    runner = WorkerRunner()
    slow = CountingWorker(steps=500, delay=0.01)
    runner.start("segment_all", slow)
    with pytest.raises(RuntimeError, match="already running"):
        runner.start("segment_all", CountingWorker())
    runner.shutdown()
    assert running_threads() == []


def test_the_leak_guard_sees_a_running_worker_thread(qtbot) -> None:
    runner = WorkerRunner()
    slow = CountingWorker(steps=500, delay=0.01)
    runner.start("retrain", slow)
    qtbot.waitUntil(lambda: bool(running_threads()), timeout=5000)
    assert [t.objectName() for t in running_threads()] == ["retrain"]   # what the autouse fixture checks
    runner.shutdown()
    assert running_threads() == []


class NicenessWorker(Worker):
    """Reports the CPU niceness of its own thread and of a thread it starts."""

    def run(self) -> tuple[int, int]:
        import os

        seen = []
        child = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        child.start()
        child.join()
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), seen[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's; Qt's "
                    "LowPriority does the same job on Windows and macOS")
def test_workers_yield_the_cpu_to_the_gui_thread(qtbot) -> None:
    import os

    from ukan_studio.workers.base import WORKER_NICENESS

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    runner, recorder, worker = WorkerRunner(), Recorder(), NicenessWorker()
    _wire(worker, recorder)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        runner.start("segment", worker)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    own, child = recorder.events[-1][1]
    assert own == child == min(19, gui + WORKER_NICENESS)   # threads it starts (torch's) inherit it
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui   # the GUI thread is untouched
    worker.execute()   # run on the GUI thread itself (as some tests do): its priority stays
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui
