"""Trust signals in the window: uncertainty badges and order, the uncertainty map, the out-of-domain notice.

Segment's worker measures each segmented image's uncertainty after its masks (see
`workers/segment.py`); the scores land here, are kept with the folder
(`ukan_core.annotation.uncertainty_scores`, tagged with the model) and feed the image list's
badges and its "Most uncertain first" order. Scores of another model than the selected one are
shown greyed (stale). When the images just segmented are out of the model's domain the window
says so once per folder and model, with the remedy. The uncertainty map of the current image is
computed on demand by a worker and drawn through the canvas's heatmap overlay (the one Explain
uses); it goes away when another image is shown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox

from ukan_core.annotation.uncertainty_scores import UncertaintyScores
from ukan_core.domain import THRESHOLD
from ukan_studio.canvas.overlay import HeatmapOverlay
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.panels.image_list import ImageListModel, ImageListView, ImageStatusFilter
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings
from ukan_studio.workers.base import Worker
from ukan_studio.workers.uncertainty_map import UncertaintyMapWorker

log = logging.getLogger(__name__)

MAP_KIND = "uncertainty_map"
SAVE_DELAY_MS = 500
MAP_MAX_ALPHA = 200   # the most uncertain pixels are this opaque (of 255); sure ones stay clear
OUT_OF_DOMAIN = ("These images look unlike the ones {model} was trained on (domain score {score:.2f}; "
                 "{threshold:.1f} or more means out of domain): expect poor masks. "
                 "Correct a few images, then Retrain.")


class TrustController(QObject):
    """Keeps the open folder's uncertainty scores and shows them; owns the uncertainty-map job."""

    def __init__(self, session: Session, jobs: JobController, models: ModelsPanel, canvas: MaskCanvas,
                 list_model: ImageListModel, image_filter: ImageStatusFilter, image_list: ImageListView,
                 order_combo: QComboBox, map_action: QAction, settings: StudioSettings, feedback: Feedback,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.jobs, self.models, self.canvas = session, jobs, models, canvas
        self.list_model, self.image_filter, self.image_list = list_model, image_filter, image_list
        self.order_combo, self.map_action, self.settings, self.feedback = order_combo, map_action, settings, feedback
        self.scores = UncertaintyScores(None)
        self.warnings_shown = 0
        self._folders: dict[int, Path | None] = {}   # worker id -> the folder it measured
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save)
        session.folder_opened.connect(self._on_folder_opened)
        session.current_changed.connect(self._on_current_changed)
        models.model_changed.connect(self._on_model_changed)
        order_combo.currentIndexChanged.connect(self._on_order_changed)
        map_action.toggled.connect(self._on_map_toggled)
        jobs.failed.connect(self._on_job_failed)
        jobs.job_finished.connect(self._on_job_finished)
        self._map_pending = False

    # -- scores ------------------------------------------------------------------------------
    def watch(self, worker: Worker) -> None:
        """Take the uncertainty and domain scores of a SegmentWorker about to run on the open folder."""
        self._folders[id(worker)] = self.session.folder
        worker.scored.connect(self._on_scored)
        worker.domain_measured.connect(self._on_domain_measured)

    def _from_open_folder(self) -> bool:
        folder = self._folders.get(id(self.sender()), None)
        return folder is not None and folder == self.session.folder

    @Slot(str, float, str)
    def _on_scored(self, name: str, score: float, model: str) -> None:
        if not self._from_open_folder():
            return   # another folder was opened meanwhile
        self.scores.set(name, score, model)
        self._save_timer.start()
        self.show_scores(resort=False)

    @Slot(object, str, int)
    def _on_domain_measured(self, score: float | None, model: str, n: int) -> None:
        self._folders.pop(id(self.sender()), None)
        if self.session.folder is None:
            return
        self.save()
        if self.image_filter.order == "uncertain":
            self.image_filter.resort()   # the new scores take their places once the job is done
        if score is None:
            log.info("no out-of-domain check for %s: the model has no recorded feature statistics", model)
            return
        log.info("domain score of %d image(s) under %s: %.3f", n, model, score)
        if score < THRESHOLD or self.scores.was_warned(model):
            return
        self.scores.mark_warned(model)
        self.save()
        self.warnings_shown += 1
        text = OUT_OF_DOMAIN.format(model=self.models.combo.currentText() or model, score=score,
                                    threshold=THRESHOLD)
        self.feedback.show_notice(text, "info", sticky=True)
        self.feedback.show_status(f"Out of domain (score {score:.2f}): correct a few images, then Retrain", 15000)

    @Slot()
    def save(self) -> None:
        """Write the scores now (they are also written shortly after each new one)."""
        self._save_timer.stop()
        try:
            self.scores.save()
        except OSError as exc:
            log.warning("could not save the uncertainty scores to %s: %s", self.scores.path, exc)

    def show_scores(self, *, resort: bool = True) -> None:
        """Hand the list the scores: current ones in colour, those of another model greyed."""
        current = self.models.current_ref()
        shown = {name: (score, self.scores.model_of(name) != current)
                 for name in self.scores.names()
                 if (score := self.scores.score(name)) is not None}
        self.list_model.set_scores(shown)
        if resort and self.image_filter.order == "uncertain":
            self.image_filter.resort()

    @Slot(object)
    def _on_folder_opened(self, _folder: str) -> None:
        self.save()   # the previous folder's pending scores
        store = self.session.store
        self.scores = UncertaintyScores(store.location if store is not None else None)
        self.show_scores()

    @Slot(str)
    def _on_model_changed(self, _ref: str) -> None:
        self.show_scores()

    @Slot(int)
    def _on_order_changed(self, _index: int) -> None:
        self.image_filter.set_order(self.order_combo.currentData() or "file")
        self._reselect_current()

    def _reselect_current(self) -> None:
        from PySide6.QtCore import QItemSelectionModel

        current = self.session.current
        if current in self.session.names:
            index = self.image_filter.mapFromSource(self.list_model.index(self.session.names.index(current)))
            if index.isValid():
                self.image_list.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.image_list.scrollTo(index)

    # -- the uncertainty map -----------------------------------------------------------------
    @Slot(bool)
    def _on_map_toggled(self, on: bool) -> None:
        if not on:
            self.canvas.set_heatmap(None)
            return
        name, model = self.session.current, self.models.current_ref()
        if name is None or self.session.image is None or not model:
            self.feedback.show_status("The uncertainty map needs an open image and a segmentation model")
            self._uncheck()
            return
        if self.jobs.is_busy(MAP_KIND):
            self._map_pending = True   # the previous image's map is still being computed: this one next
            return
        self._map_pending = False
        worker = UncertaintyMapWorker(name, self.session.image, model, self.settings.device)
        worker.measured.connect(self._on_map_measured)
        self.jobs.start(MAP_KIND, worker)

    @Slot(str, object, float)
    def _on_map_measured(self, name: str, pixel_map: Any, score: float) -> None:
        if name != self.session.current or not self.map_action.isChecked():
            return   # the user moved on (or turned the map off) meanwhile
        self.canvas.set_heatmap(uncertainty_overlay(pixel_map))
        self.feedback.show_status(f"Uncertainty map: brighter = less sure (image score {round(100 * score)} %)")

    @Slot(object)
    def _on_current_changed(self, _name: str) -> None:
        self._uncheck()   # the map belongs to the image it was computed on

    def _uncheck(self) -> None:
        if self.map_action.isChecked():
            self.map_action.setChecked(False)

    @Slot(str)
    def _on_job_finished(self, kind: str) -> None:
        if kind == MAP_KIND and self._map_pending:
            self._map_pending = False
            if self.map_action.isChecked():
                self._on_map_toggled(True)

    @Slot(str, str)
    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == MAP_KIND:
            self._uncheck()
            self.feedback.show_error(message)


def uncertainty_overlay(pixel_map: np.ndarray) -> HeatmapOverlay:
    """Heat colours (inferno) of a [0, 1] map, opacity growing with the uncertainty."""
    from ukan_core.explain.heatmaps import colorize

    m = np.clip(np.asarray(pixel_map, np.float32), 0.0, 1.0)
    rgb = colorize(m, "inferno")
    alpha = np.round(MAP_MAX_ALPHA * np.sqrt(m)).astype(np.uint8)[..., None]
    return HeatmapOverlay(np.concatenate([rgb, alpha], axis=2))
