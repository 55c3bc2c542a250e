"""Help: About (versions, device, model; Copy), the shortcut table, the first-run card."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from ukan_studio.central import FirstRunHint
from ukan_studio.panels.models import ModelsPanel
from ukan_studio.settings import StudioSettings, save_settings


class HelpController(QObject):
    """The Help menu's boxes (non-blocking) and the three-step card over the canvas."""

    def __init__(self, window: QMainWindow, models: ModelsPanel, device_label: QLabel, hint: FirstRunHint,
                 settings: StudioSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.models, self.device_label, self.hint = window, models, device_label, hint
        self.settings = settings
        self._about_text = ""
        hint.dismissed.connect(self._on_hint_dismissed)

    @Slot()
    def show_about(self) -> None:
        """Versions of the app, torch, Qt, the device and the model in use; Copy puts them on the clipboard."""
        from ukan_studio.about import about_html, about_lines, about_plain

        device = self.device_label.text().removeprefix("Device: ")
        choice = self.models.current_choice()
        model = f"{choice.label} ({choice.ref})" if choice else ""
        rows = about_lines(device, model)
        box = QMessageBox(QMessageBox.Icon.Information, "About UKAN Studio", about_html(rows),
                          QMessageBox.StandardButton.Close, self.window)
        box.setObjectName("aboutBox")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        copy = box.addButton("Copy", QMessageBox.ButtonRole.ActionRole)
        copy.setObjectName("aboutCopyButton")
        copy.clicked.connect(self._on_about_copy_clicked)
        self._about_text = about_plain(rows)
        box.setModal(False)
        box.show()

    @Slot()
    def _on_about_copy_clicked(self) -> None:
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.clipboard().setText(self._about_text)

    @Slot()
    def show_shortcuts(self) -> None:
        from ukan_studio.actions import shortcut_table

        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcut_table(),
                          QMessageBox.StandardButton.Close, self.window)
        box.setModal(False)
        box.show()   # non-blocking: it can stay open while working

    @Slot()
    def _on_hint_dismissed(self) -> None:
        self.settings.first_run_hint_dismissed = True
        save_settings(self.settings)
