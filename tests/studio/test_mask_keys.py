"""One mask per image file: names that differ only by extension, long names and old stores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.studio.conftest import synthetic_scan
from ukan_core.annotation import AnnotationStore, export_store_masks, mask_file_name
from ukan_core.annotation import statuses
from ukan_core.atomic import MAX_NAME_BYTES, temp_name
from ukan_core.data.folders import studio_corrected_pairs


def _same_stem_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    image, _ = synthetic_scan(0, 32, 40)
    for name in ("scan.png", "scan.jpg", "scan.tif"):
        cv2.imwrite(str(folder / name), image)
    return folder


def _mask(value: int) -> np.ndarray:
    mask = np.zeros((32, 40), np.uint8)
    mask[value:value + 4, value:value + 6] = 1
    return mask


def test_images_differing_only_by_extension_keep_their_own_masks(tmp_path: Path) -> None:
    folder = _same_stem_folder(tmp_path)
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("scan.png", _mask(2), "corrected")
    store.save_mask("scan.jpg", _mask(12), "predicted", model="m")
    store.close()

    again = AnnotationStore.open(folder)
    np.testing.assert_array_equal(again.mask("scan.png"), _mask(2))
    np.testing.assert_array_equal(again.mask("scan.jpg"), _mask(12))
    assert again.mask("scan.tif") is None and again.status("scan.tif") == "unlabelled"
    assert again.status("scan.jpg") == "predicted"
    assert len({again.mask_path(n) for n in ("scan.png", "scan.jpg", "scan.tif")}) == 3
    assert [p.id for p in studio_corrected_pairs(folder)] == ["scan.png"], "Retrain uses only the corrected one"


def test_export_names_clashing_images_like_ukan_segment(tmp_path: Path) -> None:
    folder = _same_stem_folder(tmp_path)
    store = AnnotationStore.open(folder)
    for i, name in enumerate(("scan.png", "scan.jpg", "scan.tif")):
        store.save_mask(name, _mask(2 + 8 * i), "corrected")
    written = export_store_masks(store, ["scan.jpg", "scan.png", "scan.tif"], tmp_path / "out", mode="labels")
    assert sorted(p.name for p in written) == ["scan.png", "scan_png.png", "scan_tif.png"]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "scan.png"), cv2.IMREAD_UNCHANGED), _mask(10))
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "scan_png.png"), cv2.IMREAD_UNCHANGED), _mask(2))


@pytest.mark.parametrize("name", ["a" * 236 + ".png", "画" * 80 + ".png", "b" * 250 + ".png"])
def test_long_names_save_and_reopen(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    try:
        (folder / name).write_bytes(b"")
    except OSError:
        pytest.skip(f"this file system refuses a {len(os.fsencode(name))}-byte name")
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask(name, _mask(3), "corrected")
    store.close()
    assert len(os.fsencode(store.mask_path(name).name)) < MAX_NAME_BYTES
    again = AnnotationStore.open(folder)
    assert again.status(name) == "corrected"
    np.testing.assert_array_equal(again.mask(name), _mask(3))
    assert not [p for p in folder.rglob("*.partial")]


def test_temp_names_and_keys_fit_every_file_system_limit() -> None:
    for name in ("x" * 255, "é" * 127, "scan.png", "\udcff" * 200):
        assert len(os.fsencode(temp_name(name, ".png"))) <= MAX_NAME_BYTES
        key = mask_file_name(name)
        assert len(key.encode("utf-8")) + len(os.fsencode(temp_name("", ".png"))) <= MAX_NAME_BYTES
    assert mask_file_name("a" * 300) != mask_file_name("a" * 301), "hashed keys stay unique"
    assert mask_file_name("scan.png") != mask_file_name("scan.png", frame=1)
    assert mask_file_name("caf\udce9.png") != mask_file_name("caf%E9.png")


def _old_store(folder: Path, records: dict[str, str], masks: dict[str, np.ndarray]) -> None:
    """A folder as the first format left it: masks named by the image stem, index version 1."""
    (folder / ".ukan-studio" / "masks").mkdir(parents=True)
    for stem, mask in masks.items():
        cv2.imwrite(str(folder / ".ukan-studio" / "masks" / f"{stem}.png"), mask)
    document = {"version": 1, "images": {n: {"status": s, "updated": "2026-01-01T00:00:00+00:00"}
                                         for n, s in records.items()}}
    (folder / ".ukan-studio" / "annotations.json").write_text(json.dumps(document))


def test_an_old_store_migrates_to_keys_and_says_so_when_a_mask_was_shared(tmp_path: Path) -> None:
    folder = _same_stem_folder(tmp_path)
    image, _ = synthetic_scan(1, 32, 40)
    cv2.imwrite(str(folder / "other.png"), image)
    cv2.imwrite(str(folder / "lone.jpg"), image)
    _old_store(folder, {"scan.png": "corrected", "scan.jpg": "corrected", "lone.jpg": "corrected",
                        "other.png": "predicted"},
               {"scan": _mask(5), "lone": _mask(9), "other": _mask(1)})

    reader = AnnotationStore.open(folder)   # the CLI: reads the old layout, changes nothing on disk
    np.testing.assert_array_equal(reader.mask("lone.jpg"), _mask(9))
    assert (folder / ".ukan-studio" / "masks" / "lone.png").is_file()

    store = AnnotationStore.open(folder, writer=True)
    store.close()
    assert json.loads((folder / ".ukan-studio" / "annotations.json").read_text())["version"] == 2
    masks = folder / ".ukan-studio" / "masks"
    assert sorted(p.name for p in masks.iterdir()) == [mask_file_name("lone.jpg"), mask_file_name("other.png")]
    again = AnnotationStore.open(folder)
    np.testing.assert_array_equal(again.mask("lone.jpg"), _mask(9))
    assert again.status("lone.jpg") == "corrected" and again.status("other.png") == "predicted"
    # scan.png and scan.jpg both claimed scan.png: nobody gets it, it is kept aside, and the store says so
    assert again.status("scan.png") == again.status("scan.jpg") == "unlabelled"
    assert again.mask("scan.png") is None and again.mask("scan.jpg") is None
    np.testing.assert_array_equal(cv2.imread(str(folder / ".ukan-studio" / "unassigned" / "scan.png"),
                                             cv2.IMREAD_UNCHANGED), _mask(5))
    assert any("scan.jpg, scan.png" in note and "unassigned/scan.png" in note for note in store.notes)


def test_the_status_table_decides_segment_retrain_and_export() -> None:
    assert [s for s in statuses.STATUSES if statuses.segment_may_overwrite(s)] == ["unlabelled", "predicted"]
    assert [s for s in statuses.STATUSES if statuses.used_by_retrain(s)] == ["corrected", "imported", "accepted"]
    assert [s for s in statuses.STATUSES if statuses.in_export_scope(s, "all")] == [
        "predicted", "corrected", "imported", "accepted"]
    assert not statuses.in_export_scope("predicted", "corrected")
    assert not statuses.segment_may_overwrite("a-status-of-a-newer-app"), "unknown work is never overwritten"
    with pytest.raises(ValueError, match="export scope"):
        statuses.in_export_scope("corrected", "everything")


def test_the_window_keeps_same_stem_images_apart_and_says_how_it_exported_them(qtbot, tmp_path: Path) -> None:
    from tests.studio.conftest import stroke
    from ukan_studio.app import create_main_window

    folder = _same_stem_folder(tmp_path)
    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    assert win.session.names == ["scan.jpg", "scan.png", "scan.tif"]
    win.canvas.fit()
    stroke(qtbot, win.canvas, [(5, 5), (30, 5)])
    first = win.current_mask()
    from PySide6.QtGui import QAction

    win.findChild(QAction, "actionNextImage").trigger()
    assert win.session.current == "scan.png"
    assert not win.current_mask().any(), "a stroke on scan.jpg does not appear on scan.png"
    stroke(qtbot, win.canvas, [(5, 25), (30, 25)])
    second = win.current_mask()
    written = win.export_masks(tmp_path / "out", scope="corrected", mode="labels")
    assert sorted(p.name for p in written) == ["scan.png", "scan_png.png"]
    assert "scan.png as scan_png.png" in win.notice.text
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "scan.png"), cv2.IMREAD_UNCHANGED), first)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "scan_png.png"), cv2.IMREAD_UNCHANGED), second)
    assert win.session.status("scan.tif") == "unlabelled"
    win.close()


def test_a_migration_that_cannot_write_gives_the_folder_back(tmp_path: Path, monkeypatch) -> None:
    import errno

    import ukan_core.io.masks as masks_module
    from ukan_core.errors import StoreError

    folder = _same_stem_folder(tmp_path)
    _old_store(folder, {"scan.png": "corrected"}, {"scan": _mask(5)})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(masks_module, "write_mask", full)
    with pytest.raises(StoreError, match="scan.png: cannot save the mask .*No space left"):
        AnnotationStore.open(folder, writer=True)
    assert not (folder / ".ukan-studio" / "lock").exists()
    assert (folder / ".ukan-studio" / "masks" / "scan.png").is_file(), "the old mask is untouched"
    monkeypatch.undo()
    store = AnnotationStore.open(folder, writer=True)
    store.close()
    np.testing.assert_array_equal(AnnotationStore.open(folder).mask("scan.png"), _mask(5))
