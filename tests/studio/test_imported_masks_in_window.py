"""Masks made elsewhere in the window: File ▸ Load masks, the "imported" status, the offer on open,
and Segment all / Retrain treating imported masks as the user's own."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QAction

from tests.studio.conftest import synthetic_scan
from ukan_core.annotation import AnnotationStore
from ukan_studio.panels.image_list import STATUS_COLORS, STATUS_ROLE


def _masks_folder(tmp_path: Path, image_folder: Path) -> Path:
    """Masks for case00 and case01 (as in ../truth), and a wrong-sized one for case02."""
    masks = tmp_path / "from_other_tool"
    masks.mkdir()
    truth = image_folder.parent / "truth"
    for name in ("case00.png", "case01.png"):
        cv2.imwrite(str(masks / name), cv2.imread(str(truth / name), cv2.IMREAD_UNCHANGED) * 255)
    cv2.imwrite(str(masks / "case02.png"), np.zeros((50, 60), np.uint8))
    return masks


def _load_masks(window, qtbot, monkeypatch, masks: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(masks)))
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
        window.findChild(QAction, "actionLoadMasks").trigger()


def _row_status(window, name: str) -> str:
    return window.image_model.index(window.session.names.index(name)).data(STATUS_ROLE)


def test_load_masks_imports_them_shows_the_status_and_names_the_refused_one(
        window, qtbot, monkeypatch, tmp_path: Path, image_folder: Path) -> None:
    masks = _masks_folder(tmp_path, image_folder)
    _load_masks(window, qtbot, monkeypatch, masks)
    on_disk = AnnotationStore.open(image_folder)
    assert [on_disk.status(f"case0{i}.png") for i in range(4)] == ["imported", "imported", "unlabelled", "unlabelled"]
    truth = cv2.imread(str(image_folder.parent / "truth" / "case00.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(cv2.imread(str(on_disk.mask_path("case00.png")), cv2.IMREAD_UNCHANGED) > 0, truth > 0)
    assert _row_status(window, "case01.png") == "imported"
    assert "imported" in window.image_model.index(1).data(0x03)   # the tooltip names the status
    assert STATUS_COLORS["imported"] not in (STATUS_COLORS["corrected"], STATUS_COLORS["predicted"])
    assert window._docks["imagesDock"].windowTitle() == "Images · 2/4 corrected"
    assert window.session.current == "case00.png" and window.current_mask().any(), "the imported mask is on screen"
    notice = window.notice.text
    assert "Imported 2 mask(s)" in notice and "case02.png" in notice and "refused 1" in notice, notice
    assert [i.name for i in window.session.corrected_items()] == ["case00.png", "case01.png"], "Retrain uses them"
    window.status_filter.setCurrentIndex(window.status_filter.findData("imported"))
    assert window.image_filter.rowCount() == 2


def test_segment_all_never_overwrites_an_imported_mask(window, qtbot, monkeypatch, tmp_path: Path,
                                                       image_folder: Path, tiny_model_path: Path) -> None:
    _load_masks(window, qtbot, monkeypatch, _masks_folder(tmp_path, image_folder))
    mask_file = AnnotationStore.open(image_folder).mask_path("case01.png")
    before = mask_file.read_bytes()
    window.settings.device = "cpu"
    window.models_panel.add_model_file(tiny_model_path)
    with qtbot.waitSignal(window.job_finished, timeout=120_000, check_params_cb=lambda k: k == "segment_all"):
        window.findChild(QAction, "actionSegmentAll").trigger()
    window.session.flush()
    on_disk = AnnotationStore.open(image_folder)
    assert [on_disk.status(f"case0{i}.png") for i in range(4)] == ["imported", "imported", "predicted", "predicted"]
    assert mask_file.read_bytes() == before


def _busi_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "busi"
    folder.mkdir()
    for i in range(2):
        image, mask = synthetic_scan(10 + i)
        cv2.imwrite(str(folder / f"benign ({i}).png"), image)
        cv2.imwrite(str(folder / f"benign ({i})_mask.png"), mask * 255)
    return folder


@pytest.mark.parametrize("answer", [True, False])
def test_a_busi_folder_offers_its_masks_once_and_the_answer_is_remembered(
        window, qtbot, monkeypatch, tmp_path: Path, answer: bool) -> None:
    from ukan_studio.controllers import import_controller

    asked: list[str] = []

    def fake_ask(_parent, folder: Path, layout: str) -> bool:
        asked.append(f"{folder.name}:{layout}")
        return answer

    monkeypatch.setattr(import_controller, "ask_to_import", fake_ask)
    folder = _busi_folder(tmp_path)
    if answer:
        with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
            window.open_folder(folder)
    else:
        window.open_folder(folder)
        qtbot.waitUntil(lambda: bool(asked))
    assert asked == ["busi:BUSI"]
    expected = "imported" if answer else "unlabelled"
    assert AnnotationStore.open(folder).status("benign (0).png") == expected
    window.open_folder(tmp_path / "scans")
    window.open_folder(folder)
    qtbot.wait(50)
    assert asked == ["busi:BUSI"], "asked once per folder"
    from ukan_studio.settings import load_settings
    assert load_settings().mask_import_answers[str(folder)] is answer


def test_an_official_dataset_root_imports_into_its_images_folder(window, qtbot, monkeypatch, tmp_path: Path) -> None:
    from ukan_studio.controllers import import_controller

    root = tmp_path / "dataset"
    (root / "images").mkdir(parents=True)
    (root / "masks" / "0").mkdir(parents=True)
    for i in range(3):
        image, mask = synthetic_scan(20 + i)
        cv2.imwrite(str(root / "images" / f"s{i}.png"), image)
        cv2.imwrite(str(root / "masks" / "0" / f"s{i}.png"), mask * 255)
    monkeypatch.setattr(import_controller, "ask_to_import", lambda *_: True)
    with qtbot.waitSignal(window.job_finished, timeout=60_000, check_params_cb=lambda k: k == "import_masks"):
        window.open_folder(root)
    assert window.session.folder == root / "images", "the images folder is what opens after the import"
    assert [_row_status(window, f"s{i}.png") for i in range(3)] == ["imported"] * 3
    assert window._docks["imagesDock"].windowTitle() == "Images · 3/3 corrected"


def test_load_masks_on_an_opened_busi_folder_reads_its_mask_files_not_its_store(
        window, qtbot, monkeypatch, tmp_path: Path) -> None:
    from ukan_studio.controllers import import_controller

    folder = _busi_folder(tmp_path)
    extra = np.zeros((96, 128), np.uint8)
    extra[80:90, 5:15] = 255
    cv2.imwrite(str(folder / "benign (1)_mask_1.png"), extra)
    monkeypatch.setattr(import_controller, "ask_to_import", lambda *_: False)   # the offer declined
    window.open_folder(folder)
    qtbot.waitUntil(lambda: str(folder) in window.settings.mask_import_answers)
    assert (folder / ".ukan-studio").is_dir()
    _load_masks(window, qtbot, monkeypatch, folder)   # the dialog's answer: the open folder itself
    on_disk = AnnotationStore.open(folder)
    assert [on_disk.status(f"benign ({i}).png") for i in range(2)] == ["imported"] * 2
    assert on_disk.mask("benign (1).png")[85, 10] == 1, "the extra lesion (_mask_1.png) is merged"
    assert "Imported 2 mask(s)" in window.notice.text and "without" not in window.notice.text


def test_load_masks_on_the_opened_images_folder_of_a_dataset_finds_its_masks(
        window, qtbot, monkeypatch, tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    (root / "masks" / "0").mkdir(parents=True)
    (root / "images").mkdir()
    for i in range(2):
        image, mask = synthetic_scan(30 + i)
        cv2.imwrite(str(root / "images" / f"s{i}.png"), image)
        cv2.imwrite(str(root / "masks" / "0" / f"s{i}.png"), mask * 255)
    window.open_folder(root / "images")
    assert (root / "images" / ".ukan-studio").is_dir()
    _load_masks(window, qtbot, monkeypatch, root / "images")   # the dialog opens on the images folder
    assert [_row_status(window, f"s{i}.png") for i in range(2)] == ["imported"] * 2
    assert AnnotationStore.open(root / "images").status("s1.png") == "imported"
    assert "Imported 2 mask(s)" in window.notice.text
