"""The main window: builds the image list, canvas, panels and status bar, and wires them to controllers.

It holds no data and no job logic of its own: the session owns the folder and masks, each
controller (`ukan_studio.controllers`) owns one job or concern, the JobController starts the
workers, and the panels emit intents. This file only builds and connects.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QLabel, QMainWindow, QMenu, QProgressBar, QPushButton, QScrollArea,
    QStackedWidget, QVBoxLayout, QWidget,
)

from ukan_core.annotation import statuses
from ukan_studio.actions import build_menus, build_toolbar, create_actions
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.central import CentralArea, FirstRunHint
from ukan_studio.controllers.action_states import ActionStates
from ukan_studio.controllers.explain_controller import ExplainController
from ukan_studio.controllers.export_controller import ExportController
from ukan_studio.controllers.folder_controller import FolderController, FolderViews
from ukan_studio.controllers.folder_model_controller import FolderModelController
from ukan_studio.controllers.generate_controller import GenerateController
from ukan_studio.controllers.help_controller import HelpController
from ukan_studio.controllers.import_controller import ImportController
from ukan_studio.controllers.job_status import JobStatus
from ukan_studio.controllers.model_controller import ModelController
from ukan_studio.controllers.navigation_controller import NavigationController
from ukan_studio.controllers.retrain_controller import RetrainController
from ukan_studio.controllers.segment_controller import SegmentController
from ukan_studio.controllers.sizes_controller import SizesController
from ukan_studio.controllers.trust_controller import TrustController
from ukan_studio.controllers.view_controller import CANVAS_HINT, ViewController
from ukan_studio.controllers.warmup_controller import WarmupController
from ukan_studio.feedback import Feedback
from ukan_studio.jobs import JobController
from ukan_studio.notice import NoticeBar
from ukan_studio.panels.explain import ExplainPanel
from ukan_studio.panels.generate import GeneratePanel
from ukan_studio.panels.history import HistoryView
from ukan_studio.panels.image_list import ImageListModel, ImageListView, ImageStatusFilter
from ukan_studio.panels.labels import LabelsPanel
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.panels.retrain import RetrainPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings, save_settings
from ukan_studio.unsaved_close import close_session_or_ask

SCROLLED_DOCKS = ("retrainDock", "explainDock", "generateDock")


class MainWindow(QMainWindow):
    """UKAN Studio's window. Test contract: open_folder, current_mask, export_masks, job_finished."""

    job_finished = Signal(str)   # kind, once the window shows the job's outcome

    def __init__(self, settings: StudioSettings) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("UKAN Studio")
        self.resize(1400, 880)
        self.setAcceptDrops(True)   # a dropped folder opens; a dropped image opens its folder, shown
        self.settings = settings
        self.session = Session(self)
        self.jobs = JobController(self)
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
        self._build_controllers()
        self._connect()
        self._apply_settings()
        self.models_panel.refresh(prefer=settings.model or None)
        self.action_states.update()

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
        for text, status in (("All images", None), ("Unlabelled", statuses.UNLABELLED),
                             ("Predicted", statuses.PREDICTED), ("Corrected", statuses.CORRECTED),
                             ("Imported", statuses.IMPORTED), ("Accepted", statuses.ACCEPTED)):
            self.status_filter.addItem(text, status)
        images_panel = QWidget(self)
        images_layout = QVBoxLayout(images_panel)
        images_layout.setContentsMargins(0, 0, 0, 0)
        images_layout.setSpacing(0)
        images_layout.addWidget(self.status_filter)
        self.order_combo = QComboBox(self)
        self.order_combo.setObjectName("imageOrder")
        self.order_combo.setToolTip("List the images in file order, or the ones the model is least sure of first")
        for text, order in (("File order", "file"), ("Most uncertain first", "uncertain")):
            self.order_combo.addItem(text, order)
        images_layout.addWidget(self.order_combo)
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
        self.sizes_label = QLabel("", self)
        self.sizes_label.setObjectName("sizesLabel")
        status.addWidget(self.cursor_label)
        status.addWidget(self.sizes_label)
        for widget in (self.progress_bar, self.cancel_button, self.device_label, self.model_label, self.store_label):
            status.addPermanentWidget(widget)

    def _build_controllers(self) -> None:
        s, st, jobs = self.session, self.settings, self.jobs
        self.feedback = Feedback(self.statusBar(), self.notice, self)
        fb = self.feedback
        self.action_states = ActionStates(self.actions, s, jobs, self.models_panel, self.retrain_panel, self)
        self.job_status = JobStatus(jobs, self.progress_bar, self.cancel_button, self.device_label, self.canvas,
                                    fb, self)
        self.navigation = NavigationController(s, self.canvas, self.image_model, self.image_filter,
                                               self.image_list, self.status_filter, self._docks["imagesDock"], st,
                                               fb, self)
        self.trust = TrustController(s, jobs, self.models_panel, self.canvas, self.image_model, self.image_filter,
                                     self.image_list, self.order_combo, self.actions["actionUncertaintyMap"], st, fb,
                                     self)
        self.segment_controller = SegmentController(s, jobs, self.models_panel, st, fb, self, trust=self.trust)
        self.folder = FolderController(s, FolderViews(self, self.canvas, self.stack, self.empty_label,
                                                      self.store_label, self.labels_panel, self.recent_menu,
                                                      self.first_run_hint),
                                       self.navigation, self.segment_controller, st, fb, self)
        self.folder_model = FolderModelController(s, self.models_panel, fb, self)
        self.folder.folder_shown.connect(self.folder_model.apply_folder_model)   # before the actions' states
        self.importer = ImportController(s, jobs, self.folder, st, fb, self, self)
        self.sizes = SizesController(s, self.sizes_label, self)
        self.retrain_controller = RetrainController(s, jobs, self.retrain_panel, self.models_panel, st, fb, self)
        self.explain_controller = ExplainController(s, jobs, self.explain_panel, self.models_panel, st, fb, self)
        self.generate_controller = GenerateController(jobs, self.generate_panel, st, fb, self)
        self.export_controller = ExportController(s, jobs, self.image_list, st, fb, self, self)
        self.model_controller = ModelController(self.models_panel, jobs, settings=st, model_label=self.model_label,
                                                parent=self)
        self.view = ViewController(self, s, self.canvas, self.actions, self.brush_spin, self.opacity_slider,
                                   self.cursor_label, self.labels_panel, (self.retrain_panel, self.explain_panel),
                                   st, fb, self)
        self.warmup = WarmupController(jobs, self)
        self.help = HelpController(self, self.models_panel, self.device_label, self.first_run_hint, st, self)

    def _connect(self) -> None:
        a, s, v = self.actions, self.session, self.view
        a["actionOpenFolder"].triggered.connect(self.folder.ask_and_open)
        a["actionOpenSamples"].triggered.connect(self.folder.open_samples_or_say)
        a["actionOpenFile"].triggered.connect(self.folder.ask_and_open_file)
        a["actionLoadMasks"].triggered.connect(self.importer.ask_and_load)
        a["actionExportMasks"].triggered.connect(self.export_controller.ask_and_export)
        a["actionSaveNow"].triggered.connect(self.folder.save_now)
        a["actionQuit"].triggered.connect(self.close)
        a["actionUndo"].triggered.connect(s.undo_group.undo)
        a["actionRedo"].triggered.connect(s.undo_group.redo)
        s.undo_group.canUndoChanged.connect(a["actionUndo"].setEnabled)
        s.undo_group.canRedoChanged.connect(a["actionRedo"].setEnabled)
        a["actionClearMask"].triggered.connect(s.clear_current)
        a["actionAcceptMask"].triggered.connect(s.accept_current)
        s.status_changed.connect(self.action_states.on_status_changed)
        a.tools.triggered.connect(v.on_tool_triggered)
        a["actionBrushSmaller"].triggered.connect(v.brush_smaller)
        a["actionBrushLarger"].triggered.connect(v.brush_larger)
        a["actionToggleOverlay"].toggled.connect(self.canvas.set_overlay_visible)
        a["actionContourOnly"].toggled.connect(v.on_contour_toggled)
        a["actionFit"].triggered.connect(self.canvas.fit)
        a["actionResetWindow"].triggered.connect(self.canvas.reset_window)
        a["actionZoomIn"].triggered.connect(v.zoom_in)
        a["actionZoomOut"].triggered.connect(v.zoom_out)
        a["actionNextImage"].triggered.connect(self.navigation.next_image)
        a["actionPrevImage"].triggered.connect(self.navigation.previous_image)
        a["actionSegment"].triggered.connect(self.segment_controller.segment_current)
        a["actionSegmentAll"].triggered.connect(self.segment_controller.segment_all)
        a["actionRetrain"].triggered.connect(self.retrain_controller.retrain_with_panel_budget)
        a["actionCancel"].triggered.connect(self.job_status.cancel)
        a.themes.triggered.connect(v.on_theme_triggered)
        a["actionAbout"].triggered.connect(self.help.show_about)
        a["actionShortcuts"].triggered.connect(self.help.show_shortcuts)
        a["actionShowHint"].triggered.connect(self.show_first_run_hint)
        self.brush_spin.valueChanged.connect(v.on_brush_size_changed)
        self.opacity_slider.valueChanged.connect(v.on_opacity_changed)
        self.canvas.cursor_moved.connect(v.on_cursor_moved)
        self.canvas.brush_size_changed.connect(self.brush_spin.setValue)
        self.labels_panel.current_label_changed.connect(v.on_label_changed)
        self.labels_panel.colors_changed.connect(self.canvas.overlay.set_colors)
        self.labels_panel.classes_changed.connect(v.on_classes_changed)
        self.models_panel.model_changed.connect(self.action_states.update)
        self.models_panel.failed.connect(self.feedback.show_error)
        s.current_changed.connect(self.explain_panel.image_changed)
        self.explain_panel.heatmap_changed.connect(self.canvas.set_heatmap)
        s.folder_opened.connect(self.generate_panel.set_folder)
        self.navigation.image_shown.connect(self.action_states.update)
        self.folder.folder_shown.connect(self.action_states.update)
        self.jobs.job_started.connect(self.action_states.update)
        self.jobs.job_finished.connect(self.action_states.update)       # first the actions' states,
        self.jobs.job_finished.connect(self.job_status.on_job_finished)  # then the outcome and job_finished
        self.job_status.job_done.connect(self.job_finished)
        self.segment_controller.nothing_to_do.connect(self.job_finished)

    def _apply_settings(self) -> None:
        self.view.apply_settings()
        self.folder.rebuild_recent_menu()
        st = self.settings
        if st.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(st.window_geometry.encode("ascii")))
        if st.window_state:
            self.restoreState(QByteArray.fromBase64(st.window_state.encode("ascii")))

    # -- test contract -----------------------------------------------------------------------
    def open_folder(self, path: str | os.PathLike[str]) -> bool:
        """Open `path`: list its images (names only) and show the first one."""
        return self.folder.open_folder(path)

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a folder, or an image file's folder with that image shown (command line, drops)."""
        return self.folder.open_path(path)

    def open_samples(self) -> bool:
        """Open the bundled sample images (first start); False when they are not installed."""
        return self.folder.open_samples()

    def current_mask(self) -> np.ndarray | None:
        """A copy of the current image's (H, W) uint8 label mask."""
        mask = self.session.current_mask()
        return None if mask is None else mask.copy()

    def export_masks(self, out_dir: str | os.PathLike[str], overwrite: bool = False, scope: str = "all",
                     mode: str = "binary") -> list[Path]:
        """Write the masks as PNGs at once (raises ExportConflictError when files exist and not `overwrite`).

        File ▸ Export masks runs the same export on a worker (`ExportController`).
        """
        selected = self.image_list.selected_names() if scope == "selected" else None
        return self.session.export_masks(out_dir, overwrite=overwrite, scope=scope, mode=mode, selected=selected)

    def _select_row(self, row: int) -> None:
        """Make image number `row` (in the folder's order) current."""
        self.navigation.select_row(row)

    @Slot()
    def show_first_run_hint(self) -> None:
        """The three-step card over the canvas (first start, or Help ▸ Getting Started)."""
        self.folder.update_hint_title()
        self.first_run_hint.show()
        self.first_run_hint.raise_()

    @Slot(object)
    def on_system_color_scheme_changed(self, scheme: object) -> None:
        self.view.on_system_color_scheme_changed(scheme)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept a drag that carries one local file or folder."""
        if dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """A dropped folder opens as a folder; a dropped image opens its folder with it shown."""
        path = dropped_path(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_path(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Stop jobs, save every edit (asking the user when saves fail) and the settings, then close."""
        self.jobs.shutdown()
        self.sizes.shutdown()
        if not close_session_or_ask(self, self.session):
            event.ignore()   # the user kept the window open: nothing is lost
            return
        self.image_model.loader.shutdown()
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.window_state = bytes(self.saveState().toBase64()).decode("ascii")
        save_settings(self.settings)
        event.accept()


def dropped_path(mime: QMimeData) -> Path | None:
    """The one local file or folder a drag carries; None for several, remote URLs or plain text."""
    urls = mime.urls() if mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    return Path(urls[0].toLocalFile())
