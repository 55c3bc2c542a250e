"""Open one image file (File ▸ Open File…, `ukan-studio FILE`) and drag & drop onto the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def _drop(window, paths: list[Path]) -> QDropEvent:
    """Send a real drag-enter and drop carrying `paths` to the window; returns the drop event."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(QPoint(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(QPointF(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert enter.isAccepted() == drop.isAccepted()
    return drop


def test_dropping_an_image_opens_its_folder_and_shows_it(window, tmp_path: Path, image_folder: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (other / name).write_bytes((image_folder / "case01.png").read_bytes())
    drop = _drop(window, [other / "b.png"])
    assert drop.isAccepted()
    assert window.session.folder == other and window.session.current == "b.png"
    assert window.image_list.currentIndex().data() == "b.png"


def test_dropping_a_folder_opens_it_as_a_folder(window, tmp_path: Path, image_folder: Path) -> None:
    other = tmp_path / "second"
    other.mkdir()
    (other / "x.png").write_bytes((image_folder / "case02.png").read_bytes())
    assert _drop(window, [other]).isAccepted()
    assert window.session.folder == other and window.session.names == ["x.png"]


def test_dropping_a_non_image_says_so_in_one_line_and_keeps_the_folder(window, tmp_path: Path,
                                                                        image_folder: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    _drop(window, [notes])
    assert window.session.folder == image_folder and window.session.current == "case00.png"
    text = window.notice.text
    assert "notes.txt" in text and "not an image" in text and "\n" not in text, text
    assert not _drop(window, [image_folder / "case00.png", image_folder / "case01.png"]).isAccepted(), \
        "several files at once are refused"


def test_open_file_action_opens_the_chosen_image(window, monkeypatch, image_folder: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(image_folder / "case03.png"), "")))
    window.findChild(QAction, "actionOpenFile").trigger()
    assert window.session.current == "case03.png"


def test_the_command_line_turns_a_file_into_what_to_open(qtbot, image_folder: Path, tmp_path: Path, capsys) -> None:
    from ukan_studio.app import create_main_window, what_to_open

    _, target = what_to_open([str(image_folder / "case02.png")])
    assert target == image_folder / "case02.png"
    assert what_to_open([str(image_folder)])[1] == image_folder
    assert what_to_open([])[1] is None
    for bad, words in ((tmp_path / "missing.png", "no such folder or file"), (tmp_path / "notes.txt", "not an image")):
        if bad.suffix == ".txt":
            bad.write_text("x")
        with pytest.raises(SystemExit):
            what_to_open([str(bad)])
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert bad.name in err and words in err, err
    win = create_main_window(target, warm_up=False)   # what `main` does with it
    qtbot.addWidget(win)
    try:
        assert win.session.folder == image_folder and win.session.current == "case02.png"
    finally:
        win.close()
