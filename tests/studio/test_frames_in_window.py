"""Frames and volumes in the window: a multi-page TIFF, a NIfTI volume (oblique) and a multi-frame
DICOM list one row per frame, grouped by file; each frame has its own mask, Segment all segments
every frame, Retrain gets the frames' pairs, and a NIfTI export keeps the source's shape and affine."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from tests.core.image_factory import write_dicom
from tests.studio.conftest import stroke
from ukan_core.annotation import AnnotationStore
from ukan_studio.panels.image_list import GROUP_ROLE, STATUS_ROLE

nib = pytest.importorskip("nibabel")
tifffile = pytest.importorskip("tifffile")

# voxel axis 0 runs (mostly) superior-inferior, so the slices are data[k]; axes 1 and 2 tilted
OBLIQUE = np.array([[0.0, 0.8, 0.1, 10.0], [0.1, 0.0, 0.9, -3.0], [3.0, 0.0, 0.05, 5.0], [0, 0, 0, 1.0]])
KEYS = ["cine.dcm", "cine.dcm/1", "cine.dcm/2", "ct.nii.gz", "ct.nii.gz/1", "ct.nii.gz/2", "ct.nii.gz/3",
        "plain.png", "stack.tif", "stack.tif/1", "stack.tif/2"]


def _pages() -> np.ndarray:
    """Three 48x64 pages, each with a bright square in another place."""
    pages = np.full((3, 48, 64), 40, np.uint8)
    for k in range(3):
        pages[k, 8:24, 8 + 16 * k:24 + 16 * k] = 230
    return pages


def _volume() -> np.ndarray:
    data = np.zeros((4, 40, 48), np.float32)
    for k in range(4):
        data[k] = np.linspace(0, 100 + 50 * k, 48, dtype=np.float32)[None, :]
    return data


@pytest.fixture
def frames_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    tifffile.imwrite(folder / "stack.tif", _pages(), photometric="minisblack")
    nib.save(nib.Nifti1Image(_volume(), OBLIQUE), folder / "ct.nii.gz")
    write_dicom(folder, "cine.dcm", frames=3)
    cv2.imwrite(str(folder / "plain.png"), np.full((30, 50, 3), 128, np.uint8))
    return folder


@pytest.fixture
def frames_window(qtbot, frames_folder: Path):
    from ukan_studio.app import create_main_window

    win = create_main_window(frames_folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.fit()
    yield win
    win.close()


def _click_row(qtbot, window, key: str) -> None:
    """Click the list row of item `key` with the mouse, as a user picks a frame."""
    view = window.image_list
    index = window.image_filter.mapFromSource(window.image_model.index(window.session.names.index(key)))
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    assert window.session.current == key
    window.canvas.fit()


def test_every_frame_is_a_row_of_its_own_grouped_under_its_file(frames_window, qtbot) -> None:
    session, model = frames_window.session, frames_window.image_model
    assert session.names == KEYS, "frame 0 keeps the plain file name, frame k is <file>/<k>"
    texts = [model.index(r).data() for r in range(model.rowCount())]
    assert texts == ["cine.dcm [1/3]", "cine.dcm [2/3]", "cine.dcm [3/3]", "ct.nii.gz [1/4]", "ct.nii.gz [2/4]",
                     "ct.nii.gz [3/4]", "ct.nii.gz [4/4]", "plain.png", "stack.tif [1/3]", "stack.tif [2/3]",
                     "stack.tif [3/3]"]
    groups = [model.index(r).data(GROUP_ROLE) for r in range(model.rowCount())]
    assert groups[:3] == [(0, 3), (1, 3), (2, 3)] and groups[7] is None and groups[8:] == [(0, 3), (1, 3), (2, 3)]
    assert frames_window._docks["imagesDock"].windowTitle() == "Images · 0/11 corrected"
    for row in range(model.rowCount()):
        model.index(row).data(Qt.ItemDataRole.DecorationRole)   # what painting a visible row asks for
    qtbot.waitUntil(lambda: all(isinstance(model.index(r).data(Qt.ItemDataRole.DecorationRole), QPixmap)
                                for r in range(model.rowCount())), timeout=20_000)
    page_thumbs = [model.index(r).data(Qt.ItemDataRole.DecorationRole).toImage() for r in (8, 9, 10)]
    assert page_thumbs[0] != page_thumbs[1] != page_thumbs[2], "each page has its own thumbnail"


def test_each_frame_shows_its_own_pixels_and_a_stroke_saves_that_frame_only(frames_window, qtbot,
                                                                           frames_folder: Path) -> None:
    session = frames_window.session
    assert session.current == "cine.dcm" and session.image.pixels.shape == (24, 40)
    _click_row(qtbot, frames_window, "stack.tif/1")
    np.testing.assert_array_equal(session.image.pixels, _pages()[1])
    frames_window.brush_spin.setValue(5)
    stroke(qtbot, frames_window.canvas, [(10, 30), (40, 30)])
    assert session.status("stack.tif/1") == "corrected" and session.status("stack.tif") == "unlabelled"
    row = session.names.index("stack.tif/1")
    assert frames_window.image_model.index(row).data(STATUS_ROLE) == "corrected"
    painted = session.current_mask().copy()
    frames_window.findChild(QAction, "actionNextImage").trigger()   # saves on the switch
    assert session.current == "stack.tif/2" and not session.current_mask().any()
    session.flush()
    on_disk = AnnotationStore.open(frames_folder)
    assert on_disk.status("stack.tif/1") == "corrected"
    assert [k for k in KEYS if on_disk.status(k) != "unlabelled"] == ["stack.tif/1"]
    np.testing.assert_array_equal(on_disk.mask("stack.tif/1"), painted)
    assert on_disk.mask("stack.tif") is None and on_disk.mask("stack.tif/2") is None
    _click_row(qtbot, frames_window, "ct.nii.gz/3")
    np.testing.assert_array_equal(session.image.pixels, _volume()[3])
    frames_window.findChild(QAction, "actionPrevImage").trigger()
    assert session.current == "ct.nii.gz/2"
    np.testing.assert_array_equal(session.image.pixels, _volume()[2])


def test_segment_all_segments_every_frame(frames_window, qtbot, frames_folder: Path, tiny_model_path: Path) -> None:
    frames_window.settings.device = "cpu"
    frames_window.models_panel.add_model_file(tiny_model_path)
    with qtbot.waitSignal(frames_window.job_finished, timeout=120_000, check_params_cb=lambda k: k == "segment_all"):
        frames_window.findChild(QAction, "actionSegmentAll").trigger()
    frames_window.session.flush()
    on_disk = AnnotationStore.open(frames_folder)
    assert [on_disk.status(k) for k in KEYS] == ["predicted"] * len(KEYS)
    shapes = {k: on_disk.mask(k).shape for k in KEYS}
    assert shapes["cine.dcm/2"] == (24, 40) and shapes["ct.nii.gz/3"] == (40, 48) and shapes["stack.tif/1"] == (48, 64)
    assert shapes["plain.png"] == (30, 50)


def test_retrain_is_given_the_frames_pairs(frames_window, qtbot, monkeypatch, tiny_model_path: Path) -> None:
    from ukan_core.data.folders import load_pair
    from ukan_core.io.masks import read_mask
    from ukan_studio.controllers import retrain_controller

    given: list = []

    class RecordingRetrainWorker(retrain_controller.RetrainWorker):
        def __init__(self, base, items, **kwargs) -> None:
            given.extend(items)
            super().__init__(base, items, **kwargs)

    monkeypatch.setattr(retrain_controller, "RetrainWorker", RecordingRetrainWorker)
    frames_window.settings.device = "cpu"
    frames_window.models_panel.add_model_file(tiny_model_path)
    frames_window.brush_spin.setValue(5)
    painted = {}
    for key, points in (("cine.dcm/2", [(5, 10), (30, 10)]), ("ct.nii.gz/1", [(10, 20), (35, 20)])):
        _click_row(qtbot, frames_window, key)
        stroke(qtbot, frames_window.canvas, points)
        painted[key] = frames_window.session.current_mask().copy()
    with qtbot.waitSignal(frames_window.job_finished, timeout=120_000, check_params_cb=lambda k: k == "retrain"):
        frames_window.findChild(QAction, "actionRetrain").trigger()
        frames_window.findChild(QAction, "actionCancel").trigger()   # no need to train: the pairs are what counts
    assert [(i.name, i.image.name, i.frame) for i in given] == [("cine.dcm/2", "cine.dcm", 2),
                                                               ("ct.nii.gz/1", "ct.nii.gz", 1)]
    for item in given:
        np.testing.assert_array_equal(read_mask(item.mask), painted[item.name])
    from ukan_core.data.folders import Pair

    image, mask = load_pair(Pair(image=given[1].image, masks=(given[1].mask,), id=given[1].id, frame=given[1].frame))
    assert image.shape[:2] == (40, 48) and mask.shape == (40, 48)
    assert np.count_nonzero(mask) == np.count_nonzero(painted["ct.nii.gz/1"]), "the frame's own mask trains"


def _when_modal(qtbot, act) -> None:
    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog):
            QTimer.singleShot(20, poll)
            return
        act(dialog)
    QTimer.singleShot(20, poll)


def test_export_nifti_from_the_window_keeps_the_volume_shape_and_affine(frames_window, qtbot, tmp_path: Path) -> None:
    frames_window.brush_spin.setValue(5)
    _click_row(qtbot, frames_window, "ct.nii.gz/2")
    stroke(qtbot, frames_window.canvas, [(10, 20), (35, 20)])
    painted = frames_window.session.current_mask().copy()
    out = tmp_path / "out"

    def choose_nifti(dialog) -> None:
        dialog.folder.selectAll()
        qtbot.keyClicks(dialog.folder, str(out))
        qtbot.keyClick(dialog.format, Qt.Key.Key_Down)   # PNG -> NIfTI
        assert dialog.format.currentData() == "nifti"
        qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)

    _when_modal(qtbot, choose_nifti)
    with qtbot.waitSignal(frames_window.job_finished, timeout=30_000, check_params_cb=lambda k: k == "export"):
        frames_window.findChild(QAction, "actionExportMasks").trigger()
    written = nib.load(out / "ct.nii.gz")
    labels = np.asarray(written.dataobj)
    assert labels.shape == _volume().shape
    np.testing.assert_allclose(written.affine, OBLIQUE, atol=1e-5)
    np.testing.assert_array_equal(labels[2], painted)
    assert not labels[[0, 1, 3]].any()
    assert (out / "classes.json").is_file() and (out / "measurements.csv").is_file()


def test_opening_a_multiframe_file_or_a_volume_shows_its_first_frame(frames_window, frames_folder: Path) -> None:
    from ukan_studio.app import what_to_open

    for name in ("ct.nii.gz", "stack.tif"):
        _args, target = what_to_open([str(frames_folder / name)])
        assert target == frames_folder / name
        assert frames_window.open_path(frames_folder / name)
        assert frames_window.session.current == name
        assert frames_window.session.display(name) == f"{name} [1/{4 if name == 'ct.nii.gz' else 3}]"


def test_explain_works_on_a_frame_and_uses_its_own_pixels(frames_window, qtbot, monkeypatch,
                                                          tiny_model_path: Path) -> None:
    from ukan_studio.controllers import explain_controller

    requests: list = []

    class RecordingExplainWorker(explain_controller.ExplainWorker):
        def __init__(self, request) -> None:
            requests.append(request)
            super().__init__(request)

    monkeypatch.setattr(explain_controller, "ExplainWorker", RecordingExplainWorker)
    frames_window.settings.device = "cpu"
    frames_window.models_panel.add_model_file(tiny_model_path)
    _click_row(qtbot, frames_window, "stack.tif/2")
    frames_window._docks["explainDock"].raise_()
    panel = frames_window.explain_panel
    with qtbot.waitSignal(frames_window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "explain"):
        qtbot.mouseClick(panel.explain_button, Qt.MouseButton.LeftButton)
    assert panel.result is not None, panel.status.text()
    assert (requests[0].image.name, requests[0].frame) == ("stack.tif", 2)
    assert panel.result.image_name == "stack.tif [frame 3]" and panel.result.image_size == (48, 64)
    assert "stack.tif [frame 3]" in panel.status.text()
