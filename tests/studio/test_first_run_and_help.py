"""First start: the samples open with a dismissible three-step hint; Help ▸ About names what runs."""

from __future__ import annotations


from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton

from ukan_studio.settings import load_settings, save_settings


def _start(qtbot, folder=None):
    from ukan_studio.app import create_main_window

    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_first_start_shows_the_hint_over_the_samples_and_got_it_dismisses_it_for_good(qtbot) -> None:
    win = _start(qtbot)
    assert win.session.names, "the bundled samples should open at first start"
    hint = win.first_run_hint
    assert hint.isVisible()
    steps = hint.findChild(QLabel, "firstRunSteps")
    text = steps.text()
    for word in ("Segment", "Correct", "Retrain"):
        assert word in text
    assert win.actions["actionSegment"].shortcut().toString() in text.replace("&", "")
    canvas_size = win.canvas.size()
    button = hint.findChild(QPushButton, "firstRunHintClose")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not hint.isVisible()
    assert win.canvas.size() == canvas_size, "the hint floats over the canvas; closing it must not resize it"
    assert load_settings().first_run_hint_dismissed
    win.close()

    settings = load_settings()          # even with no recent folder (first-start path again) it stays hidden
    settings.recent_folders = []
    save_settings(settings)
    again = _start(qtbot)
    assert again.session.names and not again.first_run_hint.isVisible()
    again.actions["actionShowHint"].trigger()          # Help ▸ Getting Started brings it back
    assert again.first_run_hint.isVisible()
    again.close()


def test_opening_a_folder_does_not_show_the_hint(qtbot, image_folder) -> None:
    win = _start(qtbot, image_folder)
    assert not win.first_run_hint.isVisible()
    win.close()


def test_a_notice_floats_over_the_canvas_without_resizing_it(window, qtbot) -> None:
    before = window.canvas.size()
    window.notice.show_message("a long message " * 20, "info")
    qtbot.waitUntil(window.notice.isVisible)
    assert window.canvas.size() == before
    assert window.notice.geometry().top() == 0 and window.notice.height() >= window.notice.sizeHint().height()


def test_about_names_the_versions_device_and_model_and_copies_them(window, qtbot) -> None:
    from importlib import metadata

    window.device_label.setText("Device: CPU (2 threads)")
    window.actions["actionAbout"].trigger()
    box = window.findChild(QMessageBox, "aboutBox")
    qtbot.waitUntil(box.isVisible)
    text = box.text()
    assert metadata.version("torch") in text and "CPU (2 threads)" in text and "Qt" in text
    assert "Model in use" in text
    qtbot.mouseClick(box.findChild(QPushButton, "aboutCopyButton"), Qt.MouseButton.LeftButton)
    copied = QApplication.clipboard().text()
    assert f"torch: {metadata.version('torch')}" in copied and "Device: CPU (2 threads)" in copied
    qtbot.waitUntil(lambda: not box.isVisible())
