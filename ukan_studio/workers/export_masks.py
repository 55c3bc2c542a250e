"""Write the folder's masks named like the images, off the GUI thread, file by file.

The same function as `ukan export` (`ukan_core.annotation.export`), with progress per file and a
cancel check between files. Existing targets are reported (and
nothing is written) unless `overwrite`, so the window can ask first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from typing import Any

from ukan_core.errors import UkanError
from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker


@dataclass(frozen=True)
class ExportOutcome:
    """What an export did: the files written, or (nothing written) the targets that exist already."""

    out_dir: Path
    written: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)


class ExportMasksWorker(Worker):
    """Exports the saved masks of `names` into `out_dir` (the session flushed them first).

    It calls the very function `ukan export` calls (`ukan_core.annotation.export.export_store_masks`),
    so the app and the command line write the same files (masks, `classes.json`, `measurements.csv`);
    progress comes per file and Cancel is honoured between files.
    """

    name = "Export"

    def __init__(self, store: Any, names: list[str], out_dir: str | Path, *, mode: str = "binary",
                 overwrite: bool = False, format: str = "png") -> None:
        super().__init__()
        self._store, self._names, self._out = store, list(names), Path(out_dir)
        self._mode, self._overwrite, self._format = mode, overwrite, format

    def run(self) -> ExportOutcome:
        from ukan_core.annotation.export import ExportConflictError, export_store_masks

        def progress(step: Progress) -> None:
            self.cancel_token.raise_if_cancelled()
            self.report(step)

        try:
            written = export_store_masks(self._store, self._names, self._out, overwrite=self._overwrite,
                                         mode=self._mode, format=self._format, progress=progress)
        except ExportConflictError as exc:
            return ExportOutcome(self._out, conflicts=list(exc.existing))
        except OSError as exc:   # a full disk, a pulled drive: one line naming the folder
            raise UkanError(f"{self._out}: cannot write ({exc.strerror or exc})") from exc
        self.report(Progress(len(written), max(len(written), 1), f"{len(written)} mask(s) written"))
        return ExportOutcome(self._out, written=[Path(p) for p in written])
