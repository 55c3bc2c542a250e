"""The main window: wires the image list, canvas, panels and jobs to the session.

It holds no data of its own: the session owns the folder and masks, the job controller owns
the workers, the panels emit intents. Every worker result reaches it through @Slot methods.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QLabel, QMainWindow, QMenu, QProgressBar, QPushButton, QScrollArea,
    QStackedWidget, QVBoxLayout, QWidget,
)

from ukan_core.errors import UkanError
from ukan_studio.actions import build_menus, build_toolbar, create_actions
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.central import CentralArea, FirstRunHint
from ukan_studio.jobs import JobController
from ukan_studio.main_window_jobs import MainWindowJobs
from ukan_studio.main_window_view import MainWindowView
from ukan_studio.notice import NoticeBar
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.panels.generate import GeneratePanel
from ukan_studio.panels.history import HistoryView
from ukan_studio.panels.image_list import ImageListModel, ImageListView, ImageStatusFilter, name_of
from ukan_studio.panels.labels import LabelsPanel
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.panels.retrain import RetrainPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings, save_settings

CANVAS_HINT = "Left drag: draw · Space or middle drag: pan · wheel: zoom · right drag: window/level"

SCROLLED_DOCKS = ("retrainDock", "explainDock", "generateDock")


class MainWindow(MainWindowJobs, MainWindowView, QMainWindow):
    """UKAN Studio's window. Test contract: open_folder, current_mask, export_masks, jobFinished."""

    jobFinished = Signal(str)

    def __init__(self, settings: StudioSettings) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("UKAN Studio")
        self.resize(1400, 880)
        self.settings = settings
        self.session = Session(self)
        self.jobs = JobController(self.session, self)
        self.actions = create_actions(self)
        self._build_central()
        self._build_docks()
        self._build_toolbar()
        self._build_status_bar()
        self.recent_menu = QMenu("Open &Recent", self)
        build_menus(self, self.actions, self.recent_menu)
        view_menu = next(a.menu() for a in self.menuBar().actions() if a.text() == "&View")
        view_menu.addSeparator()
        for dock_name in ("retrainDock", "explainDock", "generateDock"):
            view_menu.addAction(self._docks[dock_name].toggleViewAction())
        self._connect()
        self._apply_settings()
        self.models_panel.refresh(prefer=settings.model or None)
        self._update_enabled()

    # -- building ----------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.canvas = MaskCanvas(self)
        self.notice = NoticeBar(self)
        empty = QWidget(self)
        empty_layout = QVBoxLayout(empty)
        self.empty_label = QLabel("Open a folder of images to start\n(PNG, JPEG, TIFF, DICOM)", empty)
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        open_button = QPushButton("Open Folder…", empty)
        open_button.setObjectName("primaryButton")
        open_button.clicked.connect(self.actions["actionOpenFolder"].trigger)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(open_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(empty)
        self.stack.addWidget(self.canvas)
        self.first_run_hint = FirstRunHint(self._hint_shortcuts(), self)
        self.setCentralWidget(CentralArea(self.stack, self.notice, self.first_run_hint, self))

    def _hint_shortcuts(self) -> dict[str, str]:
        keys = {"segment": "actionSegment", "segment_all": "actionSegmentAll", "retrain": "actionRetrain",
                "brush": "actionToolBrush", "eraser": "actionToolEraser", "polygon": "actionToolPolygon",
                "lasso": "actionToolLasso", "undo": "actionUndo"}
        return {k: self.actions[name].shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                for k, name in keys.items()}

    def _build_docks(self) -> None:
        self.image_model = ImageListModel(self.session, self)
        self.image_filter = ImageStatusFilter(self)
        self.image_filter.setSourceModel(self.image_model)
        self.image_list = ImageListView(self.image_filter, self)
        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        for text, status in (("All images", None), ("Unlabelled", "unlabelled"), ("Predicted", "predicted"),
                             ("Corrected", "corrected")):
            self.status_filter.addItem(text, status)
        images_panel = QWidget(self)
        images_layout = QVBoxLayout(images_panel)
        images_layout.setContentsMargins(0, 0, 0, 0)
        images_layout.setSpacing(0)
        images_layout.addWidget(self.status_filter)
        images_layout.addWidget(self.image_list, 1)
        self.labels_panel = LabelsPanel(self)
        self.models_panel = ModelsPanel(self)
        self.retrain_panel = RetrainPanel(self)
        self.explain_panel = ExplainPanel(self)
        self.generate_panel = GeneratePanel(self)
        self.history_view = HistoryView(self.session.undo_group, self)
        self._docks: dict[str, QDockWidget] = {}
        for title, widget, area, name in (
            ("Images", images_panel, Qt.DockWidgetArea.LeftDockWidgetArea, "imagesDock"),
            ("Labels", self.labels_panel, Qt.DockWidgetArea.RightDockWidgetArea, "labelsDock"),
            ("History", self.history_view, Qt.DockWidgetArea.RightDockWidgetArea, "historyDock"),
            ("Model", self.models_panel, Qt.DockWidgetArea.RightDockWidgetArea, "modelDock"),
            ("Retrain", self.retrain_panel, Qt.DockWidgetArea.RightDockWidgetArea, "retrainDock"),
            ("Explain", self.explain_panel, Qt.DockWidgetArea.RightDockWidgetArea, "explainDock"),
            ("Generate", self.generate_panel, Qt.DockWidgetArea.RightDockWidgetArea, "generateDock"),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            if name in SCROLLED_DOCKS:  # tall panels scroll, so the window still fits a laptop screen
                scroller = QScrollArea(dock)
                scroller.setWidgetResizable(True)
                scroller.setFrameShape(QScrollArea.Shape.NoFrame)
                scroller.setWidget(widget)
                widget = scroller
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(area, dock)
            self._docks[name] = dock
        self.tabifyDockWidget(self._docks["labelsDock"], self._docks["historyDock"])
        self._docks["labelsDock"].raise_()
        self.tabifyDockWidget(self._docks["retrainDock"], self._docks["explainDock"])
        self.tabifyDockWidget(self._docks["explainDock"], self._docks["generateDock"])
        self._docks["retrainDock"].raise_()
        self.resizeDocks([self._docks["labelsDock"], self._docks["modelDock"], self._docks["retrainDock"]],
                         [150, 150, 420], Qt.Orientation.Vertical)
        self.resizeDocks([self._docks["imagesDock"], self._docks["labelsDock"]], [250, 300],
                         Qt.Orientation.Horizontal)

    def _build_toolbar(self) -> None:
        self.toolbar, self.brush_spin, self.opacity_slider = build_toolbar(self, self.actions)
        self.addToolBar(self.toolbar)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.cursor_label = QLabel(CANVAS_HINT, self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.actions["actionCancel"].trigger)
        self.device_label = QLabel("Device: starting…", self)
        self.device_label.setObjectName("deviceLabel")
        self.model_label = QLabel("", self)
        self.model_label.setObjectName("modelLabel")
        self.store_label = QLabel("", self)
        self.store_label.setObjectName("storeLabel")
        status.addWidget(self.cursor_label)
        for widget in (self.progress_bar, self.cancel_button, self.device_label, self.model_label, self.store_label):
            status.addPermanentWidget(widget)

    def _connect(self) -> None:
        a, s = self.actions, self.session
        a["actionOpenFolder"].triggered.connect(self._on_open_folder_triggered)
        a["actionOpenSamples"].triggered.connect(self._on_open_samples_triggered)
        a["actionExportMasks"].triggered.connect(self._on_export_triggered)
        a["actionSaveNow"].triggered.connect(self._on_save_now_triggered)
        a["actionQuit"].triggered.connect(self.close)
        a["actionUndo"].triggered.connect(s.undo_group.undo)
        a["actionRedo"].triggered.connect(s.undo_group.redo)
        s.undo_group.canUndoChanged.connect(a["actionUndo"].setEnabled)
        s.undo_group.canRedoChanged.connect(a["actionRedo"].setEnabled)
        a["actionClearMask"].triggered.connect(s.clear_current)
        a.tools.triggered.connect(self._on_tool_triggered)
        a["actionBrushSmaller"].triggered.connect(self._on_brush_smaller_triggered)
        a["actionBrushLarger"].triggered.connect(self._on_brush_larger_triggered)
        a["actionToggleOverlay"].toggled.connect(self.canvas.set_overlay_visible)
        a["actionContourOnly"].toggled.connect(self._on_contour_toggled)
        a["actionFit"].triggered.connect(self.canvas.fit)
        a["actionResetWindow"].triggered.connect(self.canvas.reset_window)
        a["actionZoomIn"].triggered.connect(self._on_zoom_in_triggered)
        a["actionZoomOut"].triggered.connect(self._on_zoom_out_triggered)
        a["actionNextImage"].triggered.connect(self._on_next_image_triggered)
        a["actionPrevImage"].triggered.connect(self._on_prev_image_triggered)
        a["actionSegment"].triggered.connect(self._on_segment_triggered)
        a["actionSegmentAll"].triggered.connect(self._on_segment_all_triggered)
        a["actionRetrain"].triggered.connect(self._on_retrain_triggered)
        a["actionCancel"].triggered.connect(self._on_cancel_triggered)
        a.themes.triggered.connect(self._on_theme_triggered)
        a["actionAbout"].triggered.connect(self._on_about_triggered)
        a["actionShortcuts"].triggered.connect(self._on_shortcuts_triggered)
        a["actionShowHint"].triggered.connect(self.show_first_run_hint)
        self.first_run_hint.dismissed.connect(self._on_first_run_hint_dismissed)
        self.brush_spin.valueChanged.connect(self._on_brush_spin_value_changed)
        self.opacity_slider.valueChanged.connect(self._on_opacity_value_changed)
        self.image_list.selectionModel().currentChanged.connect(self._on_list_current_changed)
        self.status_filter.currentIndexChanged.connect(self._on_status_filter_changed)
        self.canvas.edit_made.connect(self._on_canvas_edit_made)
        self.canvas.stroke_active.connect(s.set_stroke_active)
        self.canvas.cursor_moved.connect(self._on_canvas_cursor_moved)
        self.canvas.brush_size_changed.connect(self.brush_spin.setValue)
        self.labels_panel.current_label_changed.connect(self._on_label_changed)
        self.labels_panel.colors_changed.connect(self.canvas.overlay.set_colors)
        self.labels_panel.classes_changed.connect(self._on_classes_changed)
        self.models_panel.model_changed.connect(self._on_model_changed)
        self.models_panel.failed.connect(self._on_job_notice_error)
        self.retrain_panel.retrain_requested.connect(self._on_retrain_requested)
        self.explain_panel.explainRequested.connect(self._on_explain_requested)
        self.generate_panel.generateRequested.connect(self._on_generate_requested)
        self.generate_panel.trainRequested.connect(self._on_train_generator_requested)
        s.current_changed.connect(self.explain_panel.image_changed)
        self.explain_panel.heatmapChanged.connect(self.canvas.set_heatmap)
        s.folder_opened.connect(self.generate_panel.set_folder)
        s.current_changed.connect(self._on_session_current_changed)
        s.status_changed.connect(self._on_session_status_changed)
        s.mask_changed.connect(self._on_session_mask_changed)
        s.save_failed.connect(self._on_job_notice_error)
        s.save_recovered.connect(self._on_save_recovered)
        s.info.connect(self._on_session_info)
        self.canvas.edit_refused.connect(self._on_canvas_edit_refused)
        self.jobs.job_started.connect(self._on_job_started)
        self.jobs.job_finished.connect(self._on_job_finished)
        self.jobs.progressed.connect(self._on_job_progressed)
        self.jobs.failed.connect(self._on_job_failed)
        self.jobs.cancelled.connect(self._on_job_cancelled)
        self.jobs.notice.connect(self._on_job_notice)
        self.jobs.device_found.connect(self._on_device_found)
        self.jobs.retrain_done.connect(self._on_retrain_done)

    def _apply_settings(self) -> None:
        st = self.settings
        self.brush_spin.setValue(st.brush_size)
        self.canvas.set_brush_size(st.brush_size)
        self.opacity_slider.setValue(round(st.overlay_opacity * 100))
        self.canvas.set_overlay_opacity(st.overlay_opacity)
        self.actions["actionContourOnly"].setChecked(st.contour_only)
        theme_action = {"light": "actionThemeLight", "dark": "actionThemeDark"}.get(st.theme, "actionThemeSystem")
        self.actions[theme_action].setChecked(True)
        self._refresh_theme_colors()
        self._rebuild_recent_menu()
        if st.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(st.window_geometry.encode("ascii")))
        if st.window_state:
            self.restoreState(QByteArray.fromBase64(st.window_state.encode("ascii")))

    # -- test contract -----------------------------------------------------------------------
    def open_folder(self, path: str | os.PathLike[str]) -> bool:
        """Open `path`: list its images (names only) and show the first one."""
        self.jobs.cancel_segmenting()
        try:
            self.session.open_folder(path)
        except (UkanError, OSError) as exc:
            self._show_error(str(exc) if isinstance(exc, UkanError) else f"{path}: cannot open ({exc})")
            return False
        store = self.session.store
        assert store is not None
        self.labels_panel.set_classes(store.classes)
        self.settings.remember_folder(Path(path))
        save_settings(self.settings)
        self._rebuild_recent_menu()
        self._on_session_status_changed()
        self.store_label.setText(f"Annotations: {_short_path(store.location)}"
                                 + (" (read-only)" if store.read_only else ""))
        self.store_label.setToolTip(str(store.location))
        self.canvas.editable = not store.read_only
        self.setWindowTitle(f"{Path(path).name} — UKAN Studio")
        self._update_hint_title()
        if self.session.names:
            self.stack.setCurrentIndex(1)
            last = self.settings.last_images.get(str(Path(path)))
            self._select_row(self.session.names.index(last) if last in self.session.names else 0)
        else:
            self.stack.setCurrentIndex(0)
            self.empty_label.setText(f"No images in {Path(path).name}\n(PNG, JPEG, TIFF, DICOM)")
            self.session.set_current(None)
        if store.notes:   # read-only folder, another app holds the lock, merged or migrated annotations
            self.notice.show_message(" · ".join(store.notes), "error" if store.read_only else "info", 20000)
        self._update_enabled()
        return True

    def current_mask(self) -> np.ndarray | None:
        """A copy of the current image's (H, W) uint8 label mask."""
        mask = self.session.current_mask()
        return None if mask is None else mask.copy()

    def export_masks(self, out_dir: str | os.PathLike[str], overwrite: bool = False, scope: str = "all",
                     mode: str = "binary") -> list[Path]:
        """Write the masks as PNGs (raises ExportConflictError when files exist and not `overwrite`)."""
        selected = self.image_list.selected_names() if scope == "selected" else None
        return self.session.export_masks(out_dir, overwrite=overwrite, scope=scope, mode=mode, selected=selected)

    # -- navigation --------------------------------------------------------------------------
    def _select_row(self, row: int) -> None:
        """Make image number `row` (in the folder's order) current, showing all images if it is filtered out."""
        if not 0 <= row < self.image_model.rowCount():
            return
        index = self.image_filter.mapFromSource(self.image_model.index(row))
        if not index.isValid():
            self.status_filter.setCurrentIndex(0)
            index = self.image_filter.mapFromSource(self.image_model.index(row))
        self._select_list_row(index.row())

    def _select_list_row(self, row: int) -> None:
        if 0 <= row < self.image_filter.rowCount():
            index = self.image_filter.index(row, 0)
            self.image_list.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.image_list.scrollTo(index)

    @Slot(QModelIndex, QModelIndex)
    def _on_list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            name = name_of(current)   # the real file name, not its displayed text
            if name == self.session.current:
                return   # the filter moved the row, not the user
            self.session.set_current(name)
            if self.session.folder is not None:
                self.settings.last_images[str(self.session.folder)] = name

    @Slot()
    def _on_next_image_triggered(self) -> None:
        self._select_list_row(self.image_list.currentIndex().row() + 1)

    @Slot()
    def _on_prev_image_triggered(self) -> None:
        self._select_list_row(self.image_list.currentIndex().row() - 1)

    @Slot(int)
    def _on_status_filter_changed(self, _index: int) -> None:
        self.image_filter.set_status(self.status_filter.currentData())
        current = self.session.current
        if current in self.session.names:   # keep the current image selected when it is still listed
            index = self.image_filter.mapFromSource(self.image_model.index(self.session.names.index(current)))
            if index.isValid():
                self.image_list.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    @Slot(str)
    def _on_session_current_changed(self, name: str) -> None:
        s = self.session
        if s.image is None:
            self.canvas.set_image(None)
            if s.image_error:
                self._show_error(s.image_error)
                self.image_model.mark_error(name)
        else:
            self.canvas.set_image(*display_pixels(s.image))
            self.canvas.set_mask(s.current_mask())
            if self.notice.property("kind") == "error":
                self.notice.hide()   # the error was about another image
        self._update_enabled()

    @Slot(str, str)
    def _on_session_status_changed(self, _name: str = "", _status: str = "") -> None:
        names = self.session.names
        done = len(self.session.names_with_status("corrected")) if names else 0
        self._docks["imagesDock"].setWindowTitle(f"Images · {done}/{len(names)} corrected" if names else "Images")

    @Slot(str)
    def _on_save_recovered(self, text: str) -> None:
        self.notice.show_message(text, "success")

    @Slot()
    def _on_canvas_edit_refused(self) -> None:
        self._show_error(self.session.read_only or "This mask cannot be edited")

    @Slot(str)
    def _on_session_info(self, text: str) -> None:
        self.notice.show_message(text, "info", 15000)

    @Slot(str, object)
    def _on_session_mask_changed(self, name: str, rect: Any) -> None:
        if name == self.session.current:
            self.canvas.refresh_mask(rect)

    @Slot(object, str)
    def _on_canvas_edit_made(self, edit: Any, text: str) -> None:
        self.session.push_edit(edit, text, already_applied=True)

    @Slot(int, int)
    def _on_canvas_cursor_moved(self, x: int, y: int) -> None:
        mask = self.session.current_mask()
        if x < 0 or mask is None:
            self.cursor_label.setText(CANVAS_HINT if mask is not None else "")
            return
        label = int(mask[y, x])
        names = self.labels_panel.names
        value = self.session.image.pixels[y, x]
        shown = "/".join(f"{v:g}" for v in np.atleast_1d(value).tolist())
        window = self.canvas.window
        wl = f"   W/L {window[1]:.0f}/{window[0]:.0f}" if window else ""
        self.cursor_label.setText(
            f"x {x}  y {y}   value {shown}   label {names[label] if label < len(names) else label}{wl}")


def display_pixels(image: Any) -> tuple[np.ndarray, tuple[float, float] | None, bool]:
    """What the canvas shows: grey pixels as stored (windowed there), colour as 8-bit RGB."""
    pixels = image.pixels
    if pixels.ndim == 2:
        return pixels, getattr(image, "window", None), bool(getattr(image, "inverted", False))
    if pixels.dtype != np.uint8:
        from ukan_core.io.images import to_rgb8

        return to_rgb8(image), None, False
    return pixels, None, False


def _short_path(path: Path, limit: int = 48) -> str:
    text = str(path)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]
