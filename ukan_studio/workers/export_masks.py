"""Write the folder's masks as PNGs named like the images, off the GUI thread, file by file.

The same naming, pixel modes and PNG writer as `ukan export` (`ukan_core.annotation.export`),
with progress per file and a cancel check between files. Existing targets are reported (and
nothing is written) unless `overwrite`, so the window can ask first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
    """Exports the saved masks into `out_dir` (the session flushed them first).

    `sources` pairs each image name with its mask file (`AnnotationStore.mask_path`, taken on the
    GUI thread, so the worker never reads the store's records).
    """

    name = "Export"

    def __init__(self, sources: list[tuple[str, Path]], out_dir: str | Path, *, mode: str = "binary",
                 overwrite: bool = False) -> None:
        super().__init__()
        self._sources, self._out = list(sources), Path(out_dir)
        self._mode, self._overwrite = mode, overwrite

    def run(self) -> ExportOutcome:
        from ukan_core.annotation.export import export_mask_pixels, export_names
        from ukan_core.io.masks import read_mask, write_mask

        export_mask_pixels(np.zeros((1, 1), np.uint8), self._mode)   # an unknown mode fails before any file
        files = {name: path for name, path in self._sources if path.is_file()}
        plan = [(name, self._out / target) for name, target in export_names(list(files)).items()]
        if not self._overwrite:
            existing = [target for _, target in plan if target.exists()]
            if existing:
                return ExportOutcome(self._out, conflicts=existing)
        try:
            self._out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UkanError(f"{self._out}: cannot create the folder ({exc.strerror or exc})") from exc
        written: list[Path] = []
        for done, (name, target) in enumerate(plan):
            self.cancel_token.raise_if_cancelled()
            self.report(Progress(done, len(plan), target.name))
            try:
                mask = read_mask(files[name])
                written.append(Path(write_mask(target, export_mask_pixels(mask, self._mode))))
            except OSError as exc:   # a full disk, a pulled drive: one line naming the file
                raise UkanError(f"{target}: cannot write ({exc.strerror or exc})") from exc
        self.report(Progress(len(plan), len(plan), f"{len(written)} mask(s) written"))
        return ExportOutcome(self._out, written=written)
