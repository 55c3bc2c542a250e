"""Moving through the folder and showing the current image: the list, the filter, the canvas.

Also what the session says about saving (failed, recovered, renamed exports) reaches the user here.

The image list (filtered by status) and the session's current image follow each other; the
canvas shows the session's pixels and mask, and its edits go back into the session.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Signal, Slot
from PySide6.QtWidgets import QComboBox, QDockWidget

from ukan_studio.canvas.loading_note import LoadingNote
from ukan_core.annotation import statuses
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.feedback import Feedback
from ukan_studio.panels.image_list import ImageListModel, ImageListView, ImageStatusFilter, name_of
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings


class NavigationController(QObject):
    """Keeps the list selection, the session's current image and the canvas in step."""

    image_shown = Signal()   # the current image (or its absence) is on screen

    def __init__(self, session: Session, canvas: MaskCanvas, model: ImageListModel, image_filter: ImageStatusFilter,
                 image_list: ImageListView, status_filter: QComboBox, images_dock: QDockWidget,
                 settings: StudioSettings, feedback: Feedback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.canvas, self.model, self.image_filter = session, canvas, model, image_filter
        self.image_list, self.status_filter, self.images_dock = image_list, status_filter, images_dock
        self.settings, self.feedback = settings, feedback
        self.loading_note = LoadingNote(canvas)
        image_list.selectionModel().currentChanged.connect(self._on_list_current_changed)
        status_filter.currentIndexChanged.connect(self._on_status_filter_changed)
        session.current_changed.connect(self._on_session_current_changed)
        session.status_changed.connect(self.on_session_status_changed)
        session.mask_changed.connect(self._on_session_mask_changed)
        canvas.edit_made.connect(self._on_canvas_edit_made)
        canvas.stroke_active.connect(session.set_stroke_active)
        canvas.edit_refused.connect(self._on_canvas_edit_refused)
        session.save_failed.connect(feedback.show_error)
        session.save_recovered.connect(self._on_save_recovered)
        session.info.connect(self._on_session_info)

    def select_row(self, row: int) -> None:
        """Make image number `row` (in the folder's order) current, showing all images if it is filtered out."""
        if not 0 <= row < self.model.rowCount():
            return
        index = self.image_filter.mapFromSource(self.model.index(row))
        if not index.isValid():
            self.status_filter.setCurrentIndex(0)
            index = self.image_filter.mapFromSource(self.model.index(row))
        self.select_list_row(index.row())

    def select_list_row(self, row: int) -> None:
        """Make row `row` of the (filtered) list current."""
        if 0 <= row < self.image_filter.rowCount():
            index = self.image_filter.index(row, 0)
            self.image_list.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.image_list.scrollTo(index)

    @Slot()
    def next_image(self) -> None:
        self.select_list_row(self.image_list.currentIndex().row() + 1)

    @Slot()
    def previous_image(self) -> None:
        self.select_list_row(self.image_list.currentIndex().row() - 1)

    @Slot(QModelIndex, QModelIndex)
    def _on_list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            name = name_of(current)   # the real file name, not its displayed text
            if name == self.session.current:
                return   # the filter moved the row, not the user
            self.session.set_current(name)
            if self.session.folder is not None:
                self.settings.last_images[str(self.session.folder)] = name

    @Slot(int)
    def _on_status_filter_changed(self, _index: int) -> None:
        self.image_filter.set_status(self.status_filter.currentData())
        current = self.session.current
        if current in self.session.names:   # keep the current image selected when it is still listed
            index = self.image_filter.mapFromSource(self.model.index(self.session.names.index(current)))
            if index.isValid():
                self.image_list.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    @Slot(object)
    def _on_session_current_changed(self, name: str) -> None:
        s = self.session
        if s.loading:   # a large image is decoded in the background: this runs again once it is ready
            self.canvas.set_image(None)
            self.loading_note.show_for(s.display(s.loading))
            self.image_shown.emit()
            return
        self.loading_note.hide()
        if s.image is None:
            self.canvas.set_image(None)
            if s.image_error:
                self.feedback.show_error(s.image_error)
                self.model.mark_error(name)
        else:
            self.canvas.set_image(*display_pixels(s.image))
            self.canvas.set_mask(s.current_mask())
            self.feedback.hide_error()   # an error shown was about another image
        self.image_shown.emit()

    @Slot(object, str)
    def on_session_status_changed(self, _name: str = "", _status: str = "") -> None:
        """The Images dock's title counts the images holding the user's own masks (corrected, imported, ...)."""
        names = self.session.names
        done = sum(1 for n in names if statuses.used_by_retrain(self.session.status(n)))
        self.images_dock.setWindowTitle(f"Images · {done}/{len(names)} corrected" if names else "Images")

    @Slot(object, object)
    def _on_session_mask_changed(self, name: str, rect: Any) -> None:
        if name == self.session.current:
            self.canvas.refresh_mask(rect)

    @Slot(object, str)
    def _on_canvas_edit_made(self, edit: Any, text: str) -> None:
        self.session.push_edit(edit, text, already_applied=True)

    @Slot()
    def _on_canvas_edit_refused(self) -> None:
        self.feedback.show_error(self.session.read_only or "This mask cannot be edited")

    @Slot(str)
    def _on_save_recovered(self, text: str) -> None:
        self.feedback.show_notice(text, "success")

    @Slot(str)
    def _on_session_info(self, text: str) -> None:
        self.feedback.show_notice(text, "info", 15000)


def display_pixels(image: Any) -> tuple[np.ndarray, tuple[float, float] | None, bool]:
    """What the canvas shows: grey pixels as stored (windowed there), colour as 8-bit RGB."""
    pixels = image.pixels
    if pixels.ndim == 2:
        return pixels, getattr(image, "window", None), bool(getattr(image, "inverted", False))
    if pixels.dtype != np.uint8:
        from ukan_core.io.images import to_rgb8

        return to_rgb8(image), None, False
    return pixels, None, False
