"""Which images of the open folder an export covers, and how to say that two shared a file name.

Plain functions over the session's state (GUI thread); the writing itself is
`ukan_core.annotation.export` (at once in `Session.export_masks`, or on a worker in the app).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ukan_core.annotation import AnnotationStore, export_store_masks, statuses
from ukan_core.annotation.export import renamed_exports
from ukan_core.annotation.keys import display_name
from ukan_core.errors import UkanError


class ExportSource(Protocol):
    """What an export reads of the session."""

    names: list[str]
    store: AnnotationStore | None

    def status(self, name: str) -> str: ...

    def tell_renamed_exports(self, names: list[str]) -> None: ...


def export_now(session: ExportSource, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
               scope: str = "all", mode: str = "binary", selected: list[str] | None = None,
               format: str = "png") -> list[Path]:
    """Write the saved masks of `scope` into `out_dir` in `format` (png, nifti, dicom-seg) on this thread."""
    if session.store is None:
        return []
    names = export_scope_names(session, scope, selected)
    written = export_store_masks(session.store, names, out_dir, overwrite=overwrite, mode=mode, format=format)
    session.tell_renamed_exports(names)
    return written


def export_scope_names(session: ExportSource, scope: str, selected: list[str] | None = None) -> list[str]:
    """The images of `scope` ("all", "corrected", "selected", ...) in the folder's order."""
    if scope not in statuses.EXPORT_SCOPES:
        raise UkanError(f"export scope {scope!r}: unknown; use {', '.join(statuses.EXPORT_SCOPES)}")
    pool = (selected or []) if scope == "selected" else session.names
    return [n for n in pool if statuses.in_export_scope(session.status(n), scope)]


def renamed_exports_line(session: ExportSource, names: list[str]) -> str:
    """"Same names: exported a.png as a-2.png, ..." when images shared a stem; "" when none did."""
    store = session.store
    if store is None:
        return ""
    renamed = renamed_exports(n for n in names if store.mask_path(n).is_file())
    if not renamed:
        return ""
    shown = ", ".join(f"{display_name(n)} as {t}" for n, t in renamed[:3])
    more = f" and {len(renamed) - 3} more" if len(renamed) > 3 else ""
    return f"Same names: exported {shown}{more}"
