"""A read-only folder's edits come back when it is writable; file names that are not UTF-8 open and save."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

import ukan_core.annotation.store as store_module
from tests.studio.conftest import stroke, synthetic_scan
from ukan_core.annotation import AnnotationStore, fallback_location
from ukan_core.data.folders import studio_corrected_pairs


def test_edits_made_while_read_only_are_merged_back(image_folder: Path, monkeypatch, isolated_home: Path) -> None:
    older = AnnotationStore.open(image_folder)
    older.save_mask("case01.png", np.ones((96, 128), np.uint8), "corrected")   # made before the folder went read-only
    older.save_mask("case02.png", np.ones((96, 128), np.uint8), "predicted")
    real_is_writable = store_module._is_writable
    monkeypatch.setattr(store_module, "_is_writable", lambda folder: str(folder).startswith(str(isolated_home)))
    read_only = AnnotationStore.open(image_folder, writer=True)
    assert read_only.location == fallback_location(image_folder)
    assert any("read-only" in note for note in read_only.notes), "the fallback is said in a notice, not only a path"
    fixed = np.zeros((96, 128), np.uint8)
    fixed[10:30, 10:30] = 1
    read_only.save_mask("case00.png", fixed, "corrected")
    read_only.save_mask("case02.png", fixed, "corrected")   # the user corrected a prediction meanwhile
    read_only.close()

    monkeypatch.setattr(store_module, "_is_writable", real_is_writable)   # the folder is writable again
    store = AnnotationStore.open(image_folder, writer=True)
    try:
        assert store.location == image_folder / ".ukan-studio"
        assert any("merged back" in note for note in store.notes)
        assert store.status("case00.png") == "corrected" and store.status("case02.png") == "corrected"
        assert store.status("case01.png") == "corrected"
        np.testing.assert_array_equal(store.mask("case00.png"), fixed)
        assert store.mask_path("case00.png").parent == image_folder / ".ukan-studio" / "masks"
    finally:
        store.close()
    assert sorted(p.id for p in studio_corrected_pairs(image_folder)) == ["case00.png", "case01.png", "case02.png"]
    assert not fallback_location(image_folder).exists(), "merged once, kept only as a dated backup"
    assert list(fallback_location(image_folder).parent.glob("*.merged-*"))


def test_the_window_says_when_the_folder_is_read_only(qtbot, image_folder: Path, monkeypatch,
                                                      isolated_home: Path) -> None:
    from ukan_studio.app import create_main_window

    monkeypatch.setattr(store_module, "_is_writable", lambda folder: str(folder).startswith(str(isolated_home)))
    win = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    assert "read-only" in win.notice.text
    win.close()


@pytest.fixture
def odd_name_folder(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "odd"
    folder.mkdir()
    image, _ = synthetic_scan(3)
    ok, encoded = cv2.imencode(".png", image)
    raw = os.fsencode(str(folder)) + b"/caf\xe9 scan.png"   # Latin-1 bytes: not UTF-8
    try:
        with open(raw, "wb") as stream:
            stream.write(encoded.tobytes())
    except (OSError, ValueError):
        pytest.skip("this file system only stores UTF-8 names")
    return folder, os.fsdecode(b"caf\xe9 scan.png")


def test_a_name_that_is_not_utf8_opens_paints_and_saves(qtbot, odd_name_folder: tuple[Path, str]) -> None:
    from ukan_studio.app import create_main_window

    folder, name = odd_name_folder
    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.fit()
    assert win.session.names == [name]
    assert win.session.current == name and win.session.image is not None, win.session.image_error
    assert win.image_model.index(0).data() == "caf\\xe9 scan.png", "a readable form is shown"
    from PySide6.QtCore import Qt

    qtbot.waitUntil(lambda: win.image_model.index(0).data(Qt.ItemDataRole.DecorationRole) is not None, timeout=5000)
    told: list[str] = []
    win.session.mask_changed.connect(lambda changed, _rect: told.append(changed))
    stroke(qtbot, win.canvas, [(20, 20), (60, 20)])
    assert told and set(told) == {name}, "signals carry the real name (the canvas refreshes the right image)"
    win.close()
    store = AnnotationStore.open(folder)
    assert store.status(name) == "corrected" and store.mask(name)[20, 25]
    assert [p.image.name for p in studio_corrected_pairs(folder)] == [name]
