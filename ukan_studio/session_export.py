"""Which images of the open folder an export covers, and how to say that two shared a file name.

Plain functions over the session's state (GUI thread); the writing itself is
`ukan_core.annotation.export` (at once in `Session.export_masks`, or on a worker in the app).
"""

from __future__ import annotations

from typing import Protocol

from ukan_core.annotation import AnnotationStore, statuses
from ukan_core.annotation.export import renamed_exports
from ukan_core.annotation.keys import display_name
from ukan_core.errors import UkanError


class ExportSource(Protocol):
    """What an export reads of the session."""

    names: list[str]
    store: AnnotationStore | None

    def status(self, name: str) -> str: ...


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
