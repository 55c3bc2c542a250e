"""Open a folder or one image file (dialog, recent list, drop, bundled samples), save now, and show
which folder is open.

Opening stops Segment jobs of the previous folder (Retrain carries on), lists the images by
name only, restores the last image viewed there, and says when the folder is read-only or its
annotations were merged or migrated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMenu, QStackedWidget

from ukan_core.errors import UkanError
from ukan_studio.canvas.view import MaskCanvas
from ukan_studio.central import FirstRunHint
from ukan_studio.controllers.navigation_controller import NavigationController
from ukan_studio.controllers.segment_controller import SegmentController
from ukan_studio.feedback import Feedback
from ukan_studio.panels.labels import LabelsPanel
from ukan_studio.session import Session
from ukan_studio.settings import StudioSettings, save_settings


@dataclass(frozen=True)
class FolderViews:
    """The widgets that show which folder is open."""

    window: QMainWindow
    canvas: MaskCanvas
    stack: QStackedWidget          # 0: the empty state, 1: the canvas
    empty_label: QLabel
    store_label: QLabel
    labels_panel: LabelsPanel
    recent_menu: QMenu
    first_run_hint: FirstRunHint


class FolderController(QObject):
    """Opens folders into the session and keeps the recent list and the window's title."""

    folder_shown = Signal()   # a folder was opened and shown (the actions' states follow)

    def __init__(self, session: Session, views: FolderViews, navigation: NavigationController,
                 segment: SegmentController, settings: StudioSettings, feedback: Feedback,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.views, self.navigation, self.segment = session, views, navigation, segment
        self.settings, self.feedback = settings, feedback

    def open_folder(self, path: str | os.PathLike[str], *, select: str | None = None) -> bool:
        """Open `path`: list its images (names only) and show `select`, else the last one viewed, else the first."""
        v = self.views
        self.segment.cancel()
        try:
            self.session.open_folder(path)
        except (UkanError, OSError) as exc:
            self.feedback.show_error(str(exc) if isinstance(exc, UkanError) else f"{path}: cannot open ({exc})")
            return False
        store = self.session.store
        assert store is not None
        v.labels_panel.set_classes(store.classes)
        self.settings.remember_folder(Path(path))
        save_settings(self.settings)
        self.rebuild_recent_menu()
        self.navigation.on_session_status_changed()
        v.store_label.setText(f"Annotations: {short_path(store.location)}" + (" (read-only)" if store.read_only else ""))
        v.store_label.setToolTip(str(store.location))
        v.canvas.editable = not store.read_only
        v.window.setWindowTitle(f"{Path(path).name} — UKAN Studio")
        self.update_hint_title()
        if self.session.names:
            v.stack.setCurrentIndex(1)
            last = select if select in self.session.names else self.settings.last_images.get(str(Path(path)))
            self.navigation.select_row(self.session.names.index(last) if last in self.session.names else 0)
        else:
            v.stack.setCurrentIndex(0)
            v.empty_label.setText(f"No images in {Path(path).name}\n(PNG, JPEG, TIFF, DICOM)")
            self.session.set_current(None)
        if store.notes:   # read-only folder, another app holds the lock, merged or migrated annotations
            self.feedback.show_notice(" · ".join(store.notes), "error" if store.read_only else "info", 20000)
        self.folder_shown.emit()
        return True

    def open_file(self, path: str | os.PathLike[str]) -> bool:
        """Open the folder of image file `path` and show that image (`ukan_core.io.items.locate`)."""
        from ukan_core.io.items import locate

        try:
            folder, item = locate(path)
        except UkanError as exc:
            self.feedback.show_error(f"{exc}; open an image file or a folder")
            return False
        if not self.open_folder(folder, select=item.path.name):
            return False
        if self.session.current != item.path.name:
            self.feedback.show_error(f"{item.path.name}: not listed in {folder.name} (hidden or a mask file)")
            return False
        return True

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a folder as a folder, a file as its folder with that image shown (drops, the command line)."""
        return self.open_folder(path) if Path(path).is_dir() else self.open_file(path)

    @Slot()
    def ask_and_open_file(self) -> None:
        """File ▸ Open File…: an image file dialog starting at the open folder."""
        start = str(self.session.folder) if self.session.folder else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.views.window, "Open an image", start)
        if path:
            self.open_file(path)

    def open_samples(self) -> bool:
        """Open the bundled sample images (first start); False when they are not installed."""
        from ukan_core.assets import samples_dir

        folder = samples_dir()
        if not folder.is_dir() or not any(p.is_file() and not p.name.startswith(".") for p in folder.iterdir()):
            return False
        return self.open_folder(folder)

    @Slot()
    def ask_and_open(self) -> None:
        """File ▸ Open folder: a folder dialog starting at the last folder."""
        start = self.settings.recent_folders[0] if self.settings.recent_folders else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.views.window, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    @Slot()
    def open_samples_or_say(self) -> None:
        """File ▸ Open sample images."""
        if not self.open_samples():
            self.feedback.show_error("No bundled sample images were found in this installation.")

    def rebuild_recent_menu(self) -> None:
        menu = self.views.recent_menu
        menu.clear()
        for folder in self.settings.recent_folders:
            action = QAction(folder, menu)
            action.setData(folder)
            action.triggered.connect(self._on_recent_triggered)
            menu.addAction(action)
        menu.setEnabled(bool(self.settings.recent_folders))

    @Slot()
    def _on_recent_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.open_folder(str(action.data()))

    @Slot()
    def save_now(self) -> None:
        """File ▸ Save now: every edit on disk at once."""
        if self.session.flush():
            self.feedback.show_status("All edits saved", 3000)

    def update_hint_title(self) -> None:
        """The first-run card names the samples when they are what is open."""
        from ukan_core.assets import samples_dir

        folder = self.session.folder
        self.views.first_run_hint.set_on_samples(folder is not None
                                                 and Path(folder).resolve() == samples_dir().resolve())


def short_path(path: Path, limit: int = 48) -> str:
    """`path`, its start elided with "…" when longer than `limit` characters."""
    text = str(path)
    return text if len(text) <= limit else "…" + text[-(limit - 1):]
