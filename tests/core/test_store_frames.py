"""Frames of a multi-frame file are items of their own in the annotation store: their own mask,
status and record, kept across reopen and crash recovery, and each trains on its own frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from ukan_core.annotation import AnnotationStore  # noqa: E402
from ukan_core.annotation.keys import display_item, item_key, split_item_key  # noqa: E402
from ukan_core.data.folders import load_pair, scan_labelled_folder, studio_corrected_pairs  # noqa: E402
from ukan_core.io.items import list_items  # noqa: E402


def _cine(folder: Path, frames: int = 3, size: tuple[int, int] = (24, 32)) -> Path:
    """A multi-page TIFF whose page k is filled with the grey value 40 * (k + 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cine.tif"
    pages = np.stack([np.full(size, 40 * (k + 1), np.uint8) for k in range(frames)])
    tifffile.imwrite(path, pages, photometric="minisblack")   # one grey page per frame
    return path


def _mask(value: int, row: int, size: tuple[int, int] = (24, 32)) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    mask[row:row + 4, 2:10] = value
    return mask


def test_item_keys_are_the_file_name_for_frame_0_and_split_back() -> None:
    assert item_key("scan.png") == "scan.png" and item_key("scan.png", 0) == "scan.png"
    assert item_key("cine.tif", 3) == "cine.tif/3" and split_item_key("cine.tif/3") == ("cine.tif", 3)
    assert split_item_key("scan.png") == ("scan.png", 0)
    assert split_item_key("odd name 7") == ("odd name 7", 0)
    assert display_item("cine.tif/3") == "cine.tif [frame 4]" and display_item("scan.png") == "scan.png"
    with pytest.raises(ValueError):
        item_key("cine.tif", -1)


def test_two_frames_of_one_file_get_separate_masks_statuses_and_records(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    _cine(folder)
    assert [i.name for i in list_items(folder).items] == ["cine.tif [1/3]", "cine.tif [2/3]", "cine.tif [3/3]"]
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask(item_key("cine.tif", 0), _mask(1, 2), "corrected")
    store.save_mask(item_key("cine.tif", 2), _mask(2, 12), "predicted", "tiny-ukan")
    store.close()

    masks = folder / ".ukan-studio" / "masks"
    assert sorted(p.name for p in masks.iterdir()) == ["cine.tif@0.png", "cine.tif@2.png"]
    index = json.loads((folder / ".ukan-studio" / "annotations.json").read_text())
    assert set(index["images"]) == {"cine.tif", "cine.tif/2"}
    assert index["images"]["cine.tif"]["mask"] == "cine.tif@0.png"   # frame 0: keyed as a single image

    again = AnnotationStore.open(folder)
    assert again.status("cine.tif") == "corrected" and again.status("cine.tif/2") == "predicted"
    assert again.status("cine.tif/1") == "unlabelled" and again.mask("cine.tif/1") is None
    np.testing.assert_array_equal(again.mask("cine.tif"), _mask(1, 2))
    np.testing.assert_array_equal(again.mask("cine.tif/2"), _mask(2, 12))
    assert again.record("cine.tif/2")["model"] == "tiny-ukan"


def test_a_frame_saved_after_the_index_is_recovered_under_its_own_key(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    _cine(folder)
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("cine.tif", _mask(1, 2), "corrected")
    store.save_mask("cine.tif/1", _mask(1, 8), "corrected", write_index=False)   # a crash before the index
    store.close()
    index = json.loads((folder / ".ukan-studio" / "annotations.json").read_text())
    assert set(index["images"]) == {"cine.tif"}
    recovered = AnnotationStore.open(folder)
    assert recovered.names() == ["cine.tif", "cine.tif/1"]
    assert recovered.status("cine.tif/1") == "corrected"
    np.testing.assert_array_equal(recovered.mask("cine.tif/1"), _mask(1, 8))


def test_both_corrected_frames_train_each_on_its_own_frame(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    _cine(folder)
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("cine.tif/1", _mask(1, 8), "corrected")
    store.save_mask("cine.tif/2", _mask(1, 14), "corrected")
    store.save_mask("cine.tif", _mask(1, 2), "predicted")   # a prediction does not train
    store.close()

    items = AnnotationStore.open(folder).corrected()
    assert [(i.name, i.frame, i.id) for i in items] == [("cine.tif/1", 1, "cine.tif [frame 2]"),
                                                         ("cine.tif/2", 2, "cine.tif [frame 3]")]
    pairs = studio_corrected_pairs(folder)
    assert pairs == scan_labelled_folder(folder)
    assert [(p.image.name, p.frame) for p in pairs] == [("cine.tif", 1), ("cine.tif", 2)]
    for pair, grey, row in zip(pairs, (80, 120), (8, 14)):
        image, label = load_pair(pair)
        assert image.shape == (24, 32, 3) and int(image[0, 0, 0]) == grey   # that frame's pixels, not frame 0's
        np.testing.assert_array_equal(label, _mask(1, row))
