"""Progress on an interactive terminal, and nothing extra anywhere else (pipes and logs stay clean).

`TerminalProgress` is a tqdm bar on stderr when stderr is a terminal; lines written through it
do not tear the bar. Some terminals (an editor's console, `script`, a CI pseudo-terminal) report
a size of 0 x 0, where tqdm would draw nothing at all (it hides bars below the last row): the
size then falls back to 80 x 24.
"""

from __future__ import annotations

import shutil
import sys

from ukan_core.progress import Progress


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal (the only place progress is drawn)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):   # replaced or closed stream
        return False


def status(line: str) -> None:
    """A status line on stderr, shown only on a terminal (e.g. "loading the model ...")."""
    if stderr_is_terminal():
        print(line, file=sys.stderr, flush=True)


class TerminalProgress:
    """A context manager: a tqdm bar of `total` `unit`s on a terminal, silence otherwise."""

    def __init__(self, total: int, *, unit: str, desc: str) -> None:
        self._bar = None
        if stderr_is_terminal():
            from tqdm import tqdm

            size = shutil.get_terminal_size(fallback=(80, 24))   # 0 x 0 becomes the fallback
            self._bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False,
                             ncols=size.columns or 80, nrows=size.lines or 24)

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def advance(self, n: int = 1) -> None:
        """`n` more units done."""
        if self._bar is not None:
            self._bar.update(n)

    def set_done(self, done: int) -> None:
        """`done` units done in all."""
        if self._bar is not None:
            self._bar.update(done - self._bar.n)

    def report(self, progress: Progress) -> None:
        """A library progress callback: `progress.done` units done in all."""
        self.set_done(progress.done)

    def error(self, line: str) -> None:
        """A line on stderr, always (not only on a terminal), written so the bar stays whole."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)
