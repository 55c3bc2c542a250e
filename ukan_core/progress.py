"""Progress reports and cancellation without Qt, shared by the CLI, the library and the app."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ukan_core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: `done` of `total` units, a short message, optional extra facts."""

    done: int
    total: int
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class CancelToken:
    """A flag the caller sets (from any thread) and long-running code polls between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise `Cancelled` if `cancel()` was called."""
        if self._event.is_set():
            raise Cancelled("cancelled")


class _NeverCancelled(CancelToken):
    def cancel(self) -> None:  # pragma: no cover - guards against misuse of the shared token
        raise RuntimeError("NEVER is shared; create a CancelToken() to cancel")


NEVER: CancelToken = _NeverCancelled()
"""A token that is never cancelled, the default for callers that do not cancel."""
