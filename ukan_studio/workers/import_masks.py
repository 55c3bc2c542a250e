"""Import masks made elsewhere into a folder's annotations, off the GUI thread (it reads every mask file).

The same rules as `ukan import-masks` (`ukan_core.annotation.importing.import_masks`): masks come in
as status "imported", a mask whose size differs from its image is refused with one line, and the
user's own masks are kept.
"""

from __future__ import annotations

from pathlib import Path

from ukan_core.progress import Progress
from ukan_studio.workers.base import Worker


class ImportMasksWorker(Worker):
    """Runs `import_masks(folder, masks_from)` and returns its ImportReport."""

    name = "Load masks"

    def __init__(self, folder: str | Path, masks_from: str | Path | None = None) -> None:
        super().__init__()
        self._folder = Path(folder)
        self._masks_from = None if masks_from is None else Path(masks_from)

    def run(self):   # -> ImportReport
        from ukan_core.annotation.importing import import_masks

        self.report(Progress(0, 1, "reading masks…"))
        report = import_masks(self._folder, self._masks_from)
        self.report(Progress(1, 1, f"{report.imported} mask(s) imported"))
        return report
