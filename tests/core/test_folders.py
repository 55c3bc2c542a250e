"""Labelled folders: every layout is found, every problem is one line naming the file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.core import image_factory
from ukan_core.data.folders import detect_layout, kfold_pairs, load_pair, scan_labelled_folder, split_pairs
from ukan_core.errors import DatasetError
from ukan_core.io.masks import write_mask


def _write(path: Path, array: np.ndarray) -> Path:
    return write_mask(path, array)  # lossless PNG of uint8 pixels


def _image(h: int = 16, w: int = 20) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) % 251).astype(np.uint8)


def _mask(h: int = 16, w: int = 20) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[4:9, 5:12] = 255
    return mask


def test_official_layout_with_busi_mask_names(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path / "images" / f"benign_{i}.png", _image())
        _write(tmp_path / "masks" / "0" / f"benign_{i}_mask.png", _mask())
    pairs = scan_labelled_folder(tmp_path)
    assert detect_layout(tmp_path) == "official"
    assert [p.id for p in pairs] == ["benign_0", "benign_1", "benign_2"]
    image, label = load_pair(pairs[0])
    assert image.shape == (16, 20, 3) and set(np.unique(label)) == {0, 1}


def test_multi_class_masks_combine_into_labels(tmp_path: Path) -> None:
    _write(tmp_path / "images" / "a.png", _image())
    second = np.zeros((16, 20), np.uint8)
    second[12:15, 0:4] = 255
    _write(tmp_path / "masks" / "0" / "a.png", _mask())
    _write(tmp_path / "masks" / "1" / "a.png", second)
    (pair,) = scan_labelled_folder(tmp_path)
    _, label = load_pair(pair)
    assert label[5, 6] == 1 and label[13, 1] == 2 and label[0, 19] == 0


def test_images_and_masks_with_same_stems(tmp_path: Path) -> None:
    _write(tmp_path / "images" / "x.png", _image())
    _write(tmp_path / "masks" / "x.png", _mask())
    assert detect_layout(tmp_path) == "images-masks"
    assert [p.id for p in scan_labelled_folder(tmp_path)] == ["x"]


def test_studio_store_counts_only_corrected_images(tmp_path: Path) -> None:
    from ukan_core.annotation import AnnotationStore

    for name in ("a.png", "b.png"):
        _write(tmp_path / name, _image())
    store = AnnotationStore.open(tmp_path)
    store.save_mask("a.png", (_mask() > 0).astype(np.uint8), "corrected")
    store.save_mask("b.png", (_mask() > 0).astype(np.uint8), "predicted")
    pairs = scan_labelled_folder(tmp_path)
    assert detect_layout(tmp_path) == "studio"
    assert [p.image.name for p in pairs] == ["a.png"]
    assert load_pair(pairs[0])[1].max() == 1


def test_missing_mask_names_the_image_and_counts(tmp_path: Path) -> None:
    for i in range(3):
        _write(tmp_path / "images" / f"c{i}.png", _image())
    _write(tmp_path / "masks" / "0" / "c0.png", _mask())
    with pytest.raises(DatasetError) as info:
        scan_labelled_folder(tmp_path)
    message = str(info.value)
    assert "c1.png: no mask" in message and "2 images without a mask" in message and "\n" not in message


def test_size_mismatch_names_both_files(tmp_path: Path) -> None:
    _write(tmp_path / "images" / "d.png", _image())
    _write(tmp_path / "masks" / "0" / "d.png", _mask(10, 10))
    (pair,) = scan_labelled_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"d\.png: mask is 10x10 but its image d\.png is 20x16"):
        load_pair(pair)


def test_unreadable_image_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "e.png").write_text("not a png")
    _write(tmp_path / "masks" / "0" / "e.png", _mask())
    (pair,) = scan_labelled_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"^e\.png: "):
        load_pair(pair)


def test_folder_without_pairs_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no image/mask pairs found"):
        scan_labelled_folder(tmp_path)


def test_split_and_kfold_are_deterministic_and_cover_everything(tmp_path: Path) -> None:
    for i in range(10):
        _write(tmp_path / "images" / f"f{i}.png", _image())
        _write(tmp_path / "masks" / "0" / f"f{i}.png", _mask())
    pairs = scan_labelled_folder(tmp_path)
    train, val = split_pairs(pairs, 0.2, seed=2981)
    assert len(train) == 8 and len(val) == 2
    assert split_pairs(list(reversed(pairs)), 0.2, seed=2981) == (train, val)
    folds = kfold_pairs(pairs, 3, seed=0)
    held_out = sorted(p.id for _, val in folds for p in val)
    assert held_out == sorted(p.id for p in pairs)
    assert all(not set(t) & set(v) for t, v in folds)


def test_busi_as_published_merges_extra_lesion_masks(tmp_path: Path) -> None:
    second = np.zeros((16, 20), np.uint8)
    second[12:15, 0:4] = 255
    _write(tmp_path / "benign" / "benign (1).png", _image())
    _write(tmp_path / "benign" / "benign (1)_mask.png", _mask())
    _write(tmp_path / "benign" / "benign (1)_mask_1.png", second)
    _write(tmp_path / "normal" / "normal (1).png", _image())
    _write(tmp_path / "normal" / "normal (1)_mask.png", np.zeros((16, 20), np.uint8))
    assert detect_layout(tmp_path) == "busi-flat"
    pairs = scan_labelled_folder(tmp_path)
    assert [p.id for p in pairs] == ["benign (1)", "normal (1)"]
    _, label = load_pair(pairs[0])
    assert label[5, 6] == 1 and label[13, 1] == 1 and label.max() == 1


def test_busi_as_published_without_mask_names_the_image(tmp_path: Path) -> None:
    _write(tmp_path / "a.png", _image())
    _write(tmp_path / "a_mask.png", _mask())
    _write(tmp_path / "b.png", _image())
    with pytest.raises(DatasetError, match=r"^b\.png: no mask named b_mask\.png beside it$"):
        scan_labelled_folder(tmp_path)


def test_mask_values_follow_the_official_rule(tmp_path: Path) -> None:
    soft = _mask()
    soft[4, 5] = 100          # a JPEG-like grey edge pixel of a 0/255 mask: off (below 0.5)
    soft[0, 0] = 3            # grey noise: off
    labels = np.zeros((16, 20), np.uint8)
    labels[0:3, 0:3] = 2      # a Studio label mask (values 0..K): kept as labels
    for name, mask in (("soft", soft), ("labels", labels)):
        _write(tmp_path / name / "images" / "a.png", _image())
        _write(tmp_path / name / "masks" / "a.png", mask)
    _, soft_label = load_pair(scan_labelled_folder(tmp_path / "soft")[0])
    assert soft_label[4, 5] == 0 and soft_label[0, 0] == 0 and soft_label[5, 6] == 1
    _, label = load_pair(scan_labelled_folder(tmp_path / "labels")[0])
    assert label[1, 1] == 2 and label.max() == 2


def test_unreadable_mask_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path / "images" / "g.png", _image())
    (tmp_path / "masks" / "0").mkdir(parents=True)
    (tmp_path / "masks" / "0" / "g.png").write_bytes(b"\x89PNG broken")
    (pair,) = scan_labelled_folder(tmp_path)
    with pytest.raises(DatasetError, match=r"^g\.png: ") as info:
        load_pair(pair)
    assert "\n" not in str(info.value)


def test_images_folder_without_masks_names_the_folder(tmp_path: Path) -> None:
    _write(tmp_path / "lonely" / "images" / "a.png", _image())
    with pytest.raises(DatasetError, match=r"^lonely: no image/mask pairs found; expected images/ \+ masks/0/"):
        scan_labelled_folder(tmp_path / "lonely")


def test_dicom_images_without_an_extension_are_paired(tmp_path: Path) -> None:
    image_factory.write_dicom(tmp_path / "images", "IM0001")
    _write(tmp_path / "masks" / "IM0001.png", _mask(image_factory.HEIGHT, image_factory.WIDTH))
    (tmp_path / "images" / "NOTES").write_text("not an image\n")
    pairs = scan_labelled_folder(tmp_path)
    assert [p.id for p in pairs] == ["IM0001"]
    image, label = load_pair(pairs[0])
    assert image.shape[:2] == label.shape == (image_factory.HEIGHT, image_factory.WIDTH)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_named_like_an_image_is_one_line_and_never_opened(tmp_path: Path) -> None:
    for i in range(2):
        _write(tmp_path / "images" / f"case{i}.png", _image())
        _write(tmp_path / "masks" / f"case{i}.png", _mask())
    os.mkfifo(tmp_path / "images" / "stuck.png")
    (tmp_path / "images" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(DatasetError) as info:
        scan_labelled_folder(tmp_path)
    message = str(info.value)
    assert message.startswith("images/gone.png: broken link") and "(2 entries like it in images/)" in message
    assert "\n" not in message


@pytest.mark.skipif(sys.platform == "win32", reason="Windows file names cannot hold a newline")
def test_busi_flat_names_with_a_newline_stay_on_one_line(tmp_path: Path) -> None:
    _write(tmp_path / "benign" / "a\nb.png", _image())
    _write(tmp_path / "benign" / "ok.png", _image())
    _write(tmp_path / "benign" / "ok_mask.png", _mask())
    with pytest.raises(DatasetError) as info:
        scan_labelled_folder(tmp_path)
    assert str(info.value) == r"'a\nb.png': no mask named 'a\nb_mask.png' beside it"
