"""One undo step per edit (stroke, fill, polygon, segment, clear) on one image's mask."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand

from ukan_studio.canvas.mask_edit import MaskEdit


class MaskEditTarget(Protocol):
    """What an undo step needs of the masks' owner (the Session), without importing it."""

    def status_and_model(self, name: str) -> tuple[str, str | None]: ...

    def apply_edit(self, name: str, edit: MaskEdit, status: str, model: str | None, *,
                   paint: bool = True) -> None: ...

    def revert_edit(self, name: str, edit: MaskEdit, status: str, model: str | None) -> None: ...


class MaskEditCommand(QUndoCommand):
    """Applies/reverts a MaskEdit through the session, restoring the image's status on undo.

    `already_applied` is for strokes: the canvas painted them live, so the first redo() (called
    by QUndoStack.push) only records the change instead of painting it again.
    """

    def __init__(self, session: MaskEditTarget, name: str, edit: MaskEdit, text: str, *,
                 status: str = "corrected", model: str | None = None, already_applied: bool = False) -> None:
        super().__init__(text)
        self._session, self._name, self._edit = session, name, edit
        self._status, self._model = status, model
        self._status_before, self._model_before = session.status_and_model(name)
        self._skip_apply = already_applied

    def redo(self) -> None:
        self._session.apply_edit(self._name, self._edit, self._status, self._model, paint=not self._skip_apply)
        self._skip_apply = False

    def undo(self) -> None:
        self._session.revert_edit(self._name, self._edit, self._status_before, self._model_before)
