"""Large images are decoded off the GUI thread: "loading …" meanwhile, no edits, stale results only
warm the cache, and the neighbours are decoded before they are asked for."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QAction

from tests.studio.conftest import stroke
from ukan_studio import image_loader
from ukan_studio.image_loader import decodes_quickly


def _big_folder(root: Path, count: int = 4, size: tuple[int, int] = (1500, 2000)) -> Path:
    """PNGs of noise: files of several MB, like a large scan (over the quick-decode limits)."""
    folder = root / "big"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.integers(0, 255, size, dtype=np.uint8)
        image[100 * i:100 * i + 50, :] = 255   # each image is different
        cv2.imwrite(str(folder / f"big{i}.png"), image)
    return folder


@pytest.fixture
def big_window(qtbot, tmp_path: Path):
    from ukan_studio.app import create_main_window

    folder = _big_folder(tmp_path)
    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.session.image is not None, timeout=20_000)
    yield win
    win.close()


def test_only_small_files_decode_at_once(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((96, 128), np.uint8))
    large_but_flat = tmp_path / "flat.png"   # 12 MP that compress to a tiny file: the header counts
    cv2.imwrite(str(large_but_flat), np.zeros((3000, 4000), np.uint8))
    assert large_but_flat.stat().st_size < image_loader.SMALL_FILE_BYTES
    assert decodes_quickly(small)
    assert not decodes_quickly(large_but_flat)


def test_switching_to_a_large_image_decodes_it_off_the_gui_thread(big_window, qtbot, monkeypatch) -> None:
    session, canvas = big_window.session, big_window.canvas
    decoded_on: list[str] = []
    real_read = image_loader.read_now

    def recording_read(path: Path):
        decoded_on.append(threading.current_thread().name)
        return real_read(path)

    monkeypatch.setattr(image_loader, "read_now", recording_read)
    session._loader.reset()   # nothing prefetched: the switch itself must decode
    big_window.findChild(QAction, "actionNextImage").trigger()
    assert session.current == "big1.png" and session.loading == "big1.png"
    assert session.image is None and session.current_mask() is None
    note = big_window.navigation.loading_note
    assert note.isVisible() and "big1.png" in note.text()
    stroke(qtbot, canvas, [(50, 50), (90, 50)])   # edits are impossible until the image is there
    assert session.status("big1.png") == "unlabelled"
    qtbot.waitUntil(lambda: session.image is not None, timeout=20_000)
    assert threading.main_thread().name not in decoded_on, decoded_on
    assert not note.isVisible()
    np.testing.assert_array_equal(session.image.pixels[100:150, 0], 255)   # big1's own stripe
    assert canvas._image_shape == (1500, 2000)
    assert session.undo_group.activeStack() is not None


def test_neighbours_are_prefetched_and_a_stale_result_is_ignored(big_window, qtbot) -> None:
    session, loader = big_window.session, big_window.session._loader
    folder = session.folder
    qtbot.waitUntil(lambda: loader.cached(folder / "big1.png") is not None, timeout=20_000)   # next one, ahead
    big_window.findChild(QAction, "actionNextImage").trigger()
    assert session.current == "big1.png" and session.image is not None, "prefetched: shown at once"
    assert session.loading is None
    loader.reset()
    big_window.navigation.select_row(3)      # starts decoding big3 ...
    big_window.navigation.select_row(1)      # ... but the user went back: big1 must stay
    assert session.current == "big1.png"
    qtbot.waitUntil(lambda: session.image is not None and not loader._in_flight, timeout=20_000)
    qtbot.wait(50)
    assert session.current == "big1.png"
    np.testing.assert_array_equal(session.image.pixels[100:150, 0], 255)
    assert len(loader._cache) <= image_loader.CACHE_IMAGES


def test_edits_on_a_large_image_are_saved_and_undoable_per_image(big_window, qtbot, tmp_path: Path) -> None:
    session = big_window.session
    big_window.brush_spin.setValue(9)
    stroke(qtbot, big_window.canvas, [(400, 400), (700, 400)])
    assert session.status("big0.png") == "corrected"
    big_window.findChild(QAction, "actionNextImage").trigger()      # flushes big0 on the switch
    qtbot.waitUntil(lambda: session.image is not None, timeout=20_000)
    big_window.findChild(QAction, "actionPrevImage").trigger()
    qtbot.waitUntil(lambda: session.image is not None, timeout=20_000)
    assert session.current == "big0.png" and session.current_mask().any()
    big_window.findChild(QAction, "actionUndo").trigger()           # big0's own undo stack came back
    assert not session.current_mask().any()
    assert session.status("big0.png") == "unlabelled"


def test_the_saved_mask_of_a_large_image_is_read_in_the_background_too(qtbot, tmp_path: Path, monkeypatch) -> None:
    from ukan_core.annotation import AnnotationStore
    from ukan_studio.app import create_main_window

    folder = _big_folder(tmp_path, count=3)
    saved = np.zeros((1500, 2000), np.uint8)
    saved[200:900, 300:1200] = 1
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("big1.png", saved, "corrected")
    store.close()
    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.show()
    session = win.session
    qtbot.waitUntil(lambda: session.image is not None, timeout=20_000)
    read_here: list[str] = []
    real_mask = type(session.store).mask

    def recording_mask(self, name: str):
        read_here.append(name)
        return real_mask(self, name)

    monkeypatch.setattr(type(session.store), "mask", recording_mask)
    session._loader.reset()
    win.findChild(QAction, "actionNextImage").trigger()
    qtbot.waitUntil(lambda: session.image is not None, timeout=20_000)
    np.testing.assert_array_equal(session.current_mask(), saved)
    assert "big1.png" not in read_here, "decoded on the pool thread with the image, not here"
    win.close()


def test_a_saved_mask_that_changed_after_the_background_read_is_read_again(qtbot, tmp_path: Path) -> None:
    from ukan_studio.image_loader import ImageLoader, read_stored_mask

    mask_path = tmp_path / "m.png"
    cv2.imwrite(str(mask_path), np.zeros((20, 30), np.uint8))
    loader = ImageLoader()
    image_path = tmp_path / "image.png"
    loader._masks[image_path] = read_stored_mask(mask_path)
    changed = np.zeros((20, 30), np.uint8)
    changed[5:15, 5:25] = 1
    cv2.imwrite(str(mask_path), changed)   # another size on disk: the copy read before is stale
    assert loader.take_stored_mask(image_path, mask_path) is None
    loader._masks[image_path] = read_stored_mask(mask_path)
    np.testing.assert_array_equal(loader.take_stored_mask(image_path, mask_path), changed)
