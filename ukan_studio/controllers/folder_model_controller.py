"""Each folder uses its own model: opening a folder selects the model its annotations record
(else the bundled default), and a model the user picks is recorded for the open folder.

The record goes through the session's own annotation store (`AnnotationStore.set_model_ref`), so
the session's next index save keeps it; nothing writes the folder's index behind its back.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Slot

from ukan_core.errors import UkanError
from ukan_studio.feedback import Feedback
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.session import Session

log = logging.getLogger(__name__)


class FolderModelController(QObject):
    """Keeps the Model panel on the open folder's model and the folder's record on the user's choice."""

    def __init__(self, session: Session, models: ModelsPanel, feedback: Feedback,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.models, self.feedback = session, models, feedback
        self._applying = False
        models.user_chose.connect(self.record_choice)

    @Slot()
    def apply_folder_model(self) -> None:
        """The folder was just opened: show its recorded model, else the bundled default."""
        self._applying = True
        try:
            self.models.show_folder_model(self.session.model_ref())
        finally:
            self._applying = False

    @Slot(str)
    def record_choice(self, ref: str) -> None:
        """The user picked `ref`: the open folder uses it from now on (also after a reopen)."""
        if self._applying or not ref or self.session.store is None:
            return
        if self.session.model_ref() == ref:
            return
        try:
            self.session.set_model_ref(ref)
        except (UkanError, OSError) as exc:   # e.g. a read-only folder: the choice holds for this session
            log.warning("model choice not recorded: %s", exc)
            self.feedback.show_status(f"The model choice is not saved for this folder: {exc}", 8000)
