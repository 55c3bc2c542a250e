"""The annotation store: masks and statuses saved atomically beside the images (or per user)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ukan_core.annotation.store as annotation_store
from ukan_core.annotation import AnnotationStore
from ukan_core.errors import StoreError


def test_save_and_reopen_restores_mask_and_status(image_folder: Path) -> None:
    store = AnnotationStore.open(image_folder)
    assert store.location == image_folder / ".ukan-studio"
    assert store.status("case00.png") == "unlabelled" and store.mask("case00.png") is None
    mask = np.zeros((96, 128), np.uint8)
    mask[10:20, 30:50] = 1
    path = store.save_mask("case00.png", mask, "predicted", model="tiny v1")
    assert path == image_folder / ".ukan-studio" / "masks" / "case00.png@0.png"

    again = AnnotationStore.open(image_folder)
    assert again.status("case00.png") == "predicted"
    assert again.record("case00.png")["model"] == "tiny v1"
    np.testing.assert_array_equal(again.mask("case00.png"), mask)
    document = json.loads((image_folder / ".ukan-studio" / "annotations.json").read_text())
    assert document["version"] == 2 and document["images"]["case00.png"]["status"] == "predicted"
    assert "updated" in document["images"]["case00.png"]


def test_corrected_lists_only_corrected_images_with_masks(image_folder: Path) -> None:
    store = AnnotationStore.open(image_folder)
    mask = np.ones((96, 128), np.uint8)
    store.save_mask("case00.png", mask, "corrected")
    store.save_mask("case01.png", mask, "predicted")
    store.save_mask("case02.png", mask, "corrected", model="m")
    items = store.corrected()
    assert [i.name for i in items] == ["case00.png", "case02.png"]
    assert items[0].image == image_folder / "case00.png" and items[0].mask.is_file()
    assert store.record("case02.png")["model"] == "m"


def test_saving_leaves_no_partial_files(image_folder: Path) -> None:
    store = AnnotationStore.open(image_folder)
    for _ in range(3):
        store.save_mask("case01.png", np.zeros((96, 128), np.uint8), "corrected")
    leftovers = [p.name for p in (image_folder / ".ukan-studio").rglob("*") if "partial" in p.name]
    assert leftovers == []


def test_read_only_folder_uses_a_per_user_location(image_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                   isolated_home: Path) -> None:
    monkeypatch.setattr(annotation_store, "_is_writable", lambda folder: str(folder).startswith(str(isolated_home)))
    store = AnnotationStore.open(image_folder)
    assert store.location == annotation_store.fallback_location(image_folder)
    assert str(store.location).startswith(str(isolated_home))
    store.save_mask("case00.png", np.ones((96, 128), np.uint8), "corrected")
    assert not (image_folder / ".ukan-studio").exists()
    assert AnnotationStore.open(image_folder).status("case00.png") == "corrected"


def test_class_names_round_trip_and_bad_status_is_refused(image_folder: Path) -> None:
    store = AnnotationStore.open(image_folder)
    assert store.classes == ["background", "foreground"]
    store.set_classes(["background", "tumour", "cyst"])
    assert AnnotationStore.open(image_folder).classes == ["background", "tumour", "cyst"]
    with pytest.raises(StoreError, match="case00.png"):
        store.save_mask("case00.png", np.zeros((4, 4), np.uint8), "finished")


def test_damaged_index_is_a_one_line_store_error(image_folder: Path) -> None:
    (image_folder / ".ukan-studio").mkdir()
    (image_folder / ".ukan-studio" / "annotations.json").write_text("{not json")
    with pytest.raises(StoreError) as info:
        AnnotationStore.open(image_folder)
    assert "annotations.json" in str(info.value) and "\n" not in str(info.value)
