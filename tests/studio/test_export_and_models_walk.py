"""Export remembers its folder and shows a long path whole; Model ▸ Roll back asks, then says what is
selected, and the panel does not jump."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QMessageBox

from tests.studio.conftest import stroke


def _when_modal(qtbot, kind: type, act: Callable[[object], None]) -> None:
    """Run `act` on the modal dialog of `kind` once it is up (it blocks the caller meanwhile)."""
    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind):
            QTimer.singleShot(20, poll)
            return
        act(dialog)
    QTimer.singleShot(20, poll)


def test_export_remembers_the_folder_and_shows_a_long_path_whole(window, qtbot, tmp_path: Path) -> None:
    stroke(qtbot, window.canvas, [(30, 30), (40, 30)])
    out = tmp_path / ("a-rather-long-folder-name-for-exports-" * 2) / "masks-of-the-study"
    seen: dict[str, object] = {}

    def fill_and_accept(dialog) -> None:
        dialog.folder.selectAll()
        qtbot.keyClicks(dialog.folder, str(out))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    def look_and_cancel(dialog) -> None:
        field = dialog.folder
        seen.update(text=field.text(), tip=field.toolTip(), width=field.width(),
                    wanted=field.fontMetrics().horizontalAdvance(field.text()))
        dialog.reject()

    export = window.findChild(QAction, "actionExportMasks")
    _when_modal(qtbot, QDialog, fill_and_accept)
    with qtbot.waitSignal(window.job_finished, timeout=10_000, check_params_cb=lambda kind: kind == "export"):
        export.trigger()   # the masks are written on a worker
    assert (out / "case00.png").is_file()
    assert window.notice.sticky and "Exported 1" in window.notice.text
    from ukan_studio.settings import load_settings

    assert load_settings().export_folder == str(out)
    _when_modal(qtbot, QDialog, look_and_cancel)
    export.trigger()
    assert seen["text"] == str(out) and seen["tip"] == str(out)
    assert seen["width"] >= min(seen["wanted"], 700)


def test_roll_back_asks_then_says_what_is_selected_and_keeps_the_layout(qtbot, tmp_path: Path) -> None:
    import torch

    from ukan_core.models.registry import build_model
    from ukan_core.store import ModelStore
    from ukan_studio.controllers.model_controller import ModelController
    from ukan_studio.jobs import JobController
    from ukan_studio.panels.models import ModelsPanel

    torch.manual_seed(0)
    model = build_model("ukan", {"embed_dims": (16, 24, 32)})
    store = ModelStore()
    store.add_version("liver", model, {"metrics": {"iou": 0.61}})
    store.add_version("liver", model, {"parent": "liver/v0001", "metrics": {"iou": 0.7}})
    panel = ModelsPanel()
    qtbot.addWidget(panel)
    ModelController(panel, JobController(panel), parent=panel)   # writes the store, as in the window
    panel.resize(320, 300)
    panel.show()
    panel.refresh(prefer="liver/v0002")
    assert panel.current_ref() == "liver/v0002" and panel.rollback_button.isEnabled()
    layout_before = (panel.rollback_button.y(), panel.sizeHint().height())

    def answer(button: QMessageBox.StandardButton):
        def act(box) -> None:
            qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)
        return act

    _when_modal(qtbot, QMessageBox, answer(QMessageBox.StandardButton.No))
    qtbot.mouseClick(panel.rollback_button, Qt.MouseButton.LeftButton)
    assert panel.current_ref() == "liver/v0002" and store.selected("liver") == "v0002"
    _when_modal(qtbot, QMessageBox, answer(QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(panel.rollback_button, Qt.MouseButton.LeftButton)
    assert panel.current_ref() == "liver/v0001" and store.selected("liver") == "v0001"
    assert "liver v1" in panel.message.text() and "selected" in panel.message.text()
    qtbot.wait(20)
    assert (panel.rollback_button.y(), panel.sizeHint().height()) == layout_before
