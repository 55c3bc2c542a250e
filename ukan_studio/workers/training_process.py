"""Run a fine-tune in a child process, so the window's thread never waits for the GIL.

Training runs Python-heavy code (model building, data loading, optimizer set-up) for minutes;
in a thread of the app it would hold the GIL often enough to freeze the window for hundreds of
milliseconds. The RetrainWorker thread starts this process and relays its messages as signals.
Qt-free: the child imports only ukan_core. Messages on the pipe are (kind, payload) tuples:
("progress", Progress), ("done", FinetuneReport), ("cancelled", None), ("failed", one line).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

from ukan_core.errors import Cancelled, UkanError
from ukan_core.progress import CancelToken, Progress

log = logging.getLogger(__name__)


class ProcessCancelToken(CancelToken):
    """Cancelled when the parent sets the shared event, or when the parent process is gone."""

    def __init__(self, event: Any, parent_pid: int) -> None:
        super().__init__()
        self._shared, self._parent_pid = event, parent_pid

    @property
    def cancelled(self) -> bool:
        return self._shared.is_set() or os.getppid() != self._parent_pid

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")


def finetune_in_child(conn: Connection, cancel_event: Any, parent_pid: int, base: str,
                      pairs: list[Any], options: dict[str, Any]) -> None:
    """Child entry point: run finetune and send its outcome on `conn`."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    from ukan_core.training.finetune import finetune

    def send_progress(progress: Progress) -> None:
        conn.send(("progress", progress))

    try:
        report = finetune(base, pairs, progress=send_progress, cancel=ProcessCancelToken(cancel_event, parent_pid),
                          **options)
    except Cancelled:
        conn.send(("cancelled", None))
    except UkanError as exc:
        conn.send(("failed", str(exc)))
    except Exception as exc:  # the child's log has the traceback; the window gets one line
        log.exception("fine-tune crashed")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        conn.send(("failed", f"Retrain failed: {type(exc).__name__}: {first}"))
    else:
        conn.send(("done", report))
    finally:
        conn.close()


class TrainingProcess:
    """A started child process running finetune; poll() returns its messages one by one."""

    def __init__(self, base: str, pairs: list[Any], options: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")   # no fork of a process that runs Qt threads
        self._receive, send = context.Pipe(duplex=False)
        self._cancel = context.Event()
        self._process = context.Process(target=finetune_in_child, name="ukan-retrain", daemon=True,
                                        args=(send, self._cancel, os.getpid(), base, pairs, options))
        self._process.start()
        send.close()   # the child holds the only writing end now: EOF means it is gone

    def cancel(self) -> None:
        self._cancel.set()

    def poll(self, timeout_s: float) -> tuple[str, Any] | None:
        """The next message, None when none came within `timeout_s`; ("failed", ...) if the child died."""
        try:
            if self._receive.poll(timeout_s):
                return self._receive.recv()
        except (EOFError, OSError):
            self._process.join(5)
            return "failed", f"the training process stopped unexpectedly (exit code {self._process.exitcode})"
        return None

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait for the child to exit (it was told to cancel, or it finished); kill it if it hangs."""
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._receive.close()
