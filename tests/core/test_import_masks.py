"""Masks in: official, BUSI and plain-folder masks imported as "imported", trained on, never overwritten."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ukan_core.annotation import AnnotationStore
from ukan_core.annotation import statuses
from ukan_core.annotation.importing import import_masks
from ukan_core.cli.main import main
from ukan_core.data.folders import scan_labelled_folder
from ukan_core.errors import UkanError


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def image(seed: int, size: tuple[int, int] = (12, 16)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, size, dtype=np.uint8)


def square_mask(size: tuple[int, int] = (12, 16), value: int = 255) -> np.ndarray:
    mask = np.zeros(size, np.uint8)
    mask[2:6, 3:9] = value
    return mask


def test_official_layout_masks_are_imported_and_are_training_pairs(tmp_path: Path) -> None:
    for k in range(3):
        write_png(tmp_path / "images" / f"case{k}.png", image(k))
        write_png(tmp_path / "masks" / "0" / f"case{k}.png", square_mask())
    report = import_masks(tmp_path)
    assert (report.imported, report.kept, report.without_mask, report.problems) == (3, 0, 0, [])
    assert report.folder == tmp_path / "images"
    store = AnnotationStore.open(tmp_path / "images")
    assert [store.status(f"case{k}.png") for k in range(3)] == ["imported"] * 3
    np.testing.assert_array_equal(store.mask("case1.png"), square_mask(value=1))   # the official 0/255 rule
    assert [item.name for item in store.corrected()] == ["case0.png", "case1.png", "case2.png"]
    pairs = scan_labelled_folder(tmp_path / "images")   # what Retrain trains on
    assert sorted(p.image.name for p in pairs) == ["case0.png", "case1.png", "case2.png"]
    assert not statuses.segment_may_overwrite(store.status("case0.png"))


def test_a_mask_of_another_size_is_refused_in_one_line_and_the_rest_imported(tmp_path: Path) -> None:
    write_png(tmp_path / "scans" / "good.png", image(1))
    write_png(tmp_path / "scans" / "wide.png", image(2))
    write_png(tmp_path / "labels" / "good.png", square_mask())
    write_png(tmp_path / "labels" / "wide_mask.png", square_mask((12, 20)))
    write_png(tmp_path / "scans" / "alone.png", image(3))
    report = import_masks(tmp_path / "scans", masks_from=tmp_path / "labels")
    assert (report.imported, report.without_mask) == (1, 1)
    assert report.problems == ["wide_mask.png: mask is 20x12 but its image wide.png is 16x12; "
                               "not imported (masks are never stretched)"]
    store = AnnotationStore.open(tmp_path / "scans")
    assert store.status("good.png") == "imported" and store.status("wide.png") == "unlabelled"
    assert store.mask("wide.png") is None


def test_busi_masks_beside_the_images_are_imported(tmp_path: Path) -> None:
    write_png(tmp_path / "benign (1).png", image(4))
    write_png(tmp_path / "benign (1)_mask.png", square_mask())
    extra = np.zeros((12, 16), np.uint8)
    extra[8:10, 10:12] = 255
    write_png(tmp_path / "benign (1)_mask_1.png", extra)
    report = import_masks(tmp_path)
    assert report.imported == 1 and report.problems == []
    mask = AnnotationStore.open(tmp_path).mask("benign (1).png")
    assert int(mask.sum()) == 24 + 4   # both lesions merged into class 1


def test_the_users_own_masks_are_kept_unless_replace(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "a.png", image(5))
    write_png(tmp_path / "images" / "b.png", image(6))
    write_png(tmp_path / "masks" / "0" / "a.png", square_mask())
    write_png(tmp_path / "masks" / "0" / "b.png", square_mask())
    store = AnnotationStore.open(tmp_path / "images")
    store.save_mask("a.png", np.ones((12, 16), np.uint8), "corrected")
    store.save_mask("b.png", np.ones((12, 16), np.uint8), "predicted")
    report = import_masks(tmp_path)
    assert (report.imported, report.kept) == (1, 1)
    again = AnnotationStore.open(tmp_path / "images")
    assert again.status("a.png") == "corrected" and int(again.mask("a.png").sum()) == 12 * 16
    assert again.status("b.png") == "imported"
    assert import_masks(tmp_path, replace=True).imported == 2
    assert AnnotationStore.open(tmp_path / "images").status("a.png") == "imported"


def test_no_masks_anywhere_is_a_usage_error_naming_the_folder(tmp_path: Path) -> None:
    write_png(tmp_path / "x.png", image(7))
    with pytest.raises(UkanError, match=r"no masks found; give --from MASKS"):
        import_masks(tmp_path)


def test_cli_import_masks_reports_counts_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_png(tmp_path / "scans" / "good.png", image(1))
    write_png(tmp_path / "scans" / "wide.png", image(2))
    write_png(tmp_path / "labels" / "good.png", square_mask())
    write_png(tmp_path / "labels" / "wide.png", square_mask((10, 16)))
    code = main(["import-masks", str(tmp_path / "scans"), "--from", str(tmp_path / "labels")])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == ["error: wide.png: mask is 16x10 but its image wide.png is 16x12; "
                                "not imported (masks are never stretched)"]
    assert out.startswith("imported 1 mask, 0 kept (already the user's own), 1 refused, 0 images without a mask")


def test_cli_import_masks_is_listed_in_help() -> None:
    result = subprocess.run([sys.executable, "-m", "ukan_core.cli.main", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "import-masks" in result.stdout


def test_a_busi_folder_the_studio_has_opened_still_imports_its_masks(tmp_path: Path) -> None:
    for k in range(2):
        write_png(tmp_path / f"case{k}.png", image(k))
        write_png(tmp_path / f"case{k}_mask.png", square_mask())
    extra = np.zeros((12, 16), np.uint8)
    extra[8:11, 10:14] = 255
    write_png(tmp_path / "case1_mask_1.png", extra)
    AnnotationStore.open(tmp_path, writer=True).close()   # what opening the folder in the Studio leaves
    assert (tmp_path / ".ukan-studio").is_dir()
    report = import_masks(tmp_path)
    assert (report.imported, report.without_mask, report.problems) == (2, 0, [])
    store = AnnotationStore.open(tmp_path)
    assert [store.status(f"case{k}.png") for k in range(2)] == ["imported"] * 2
    assert store.mask("case1.png")[9, 11] == 1, "the extra lesion of _mask_1.png is merged"
    again = import_masks(tmp_path, masks_from=tmp_path, replace=True)   # the open folder picked as the mask folder
    assert (again.imported, again.without_mask) == (2, 0)
    assert AnnotationStore.open(tmp_path).mask("case1.png")[9, 11] == 1


def test_the_images_folder_of_an_opened_dataset_imports_from_its_masks_sibling(tmp_path: Path) -> None:
    for k in range(2):
        write_png(tmp_path / "images" / f"case{k}.png", image(k))
        write_png(tmp_path / "masks" / "0" / f"case{k}.png", square_mask())
    for opened in (tmp_path, tmp_path / "images"):
        AnnotationStore.open(opened, writer=True).close()
    for folder, masks_from in ((tmp_path / "images", None), (tmp_path / "images", tmp_path / "images"),
                               (tmp_path, None)):
        report = import_masks(folder, masks_from=masks_from, replace=True)
        assert (report.folder, report.imported, report.problems) == (tmp_path / "images", 2, [])
    assert AnnotationStore.open(tmp_path / "images").status("case0.png") == "imported"


def test_rank_lists_a_studio_opened_busi_folder_without_its_mask_files(tmp_path: Path) -> None:
    from ukan_core.cli.rank import folder_images

    write_png(tmp_path / "case0.png", image(0))
    write_png(tmp_path / "case0_mask.png", square_mask())
    AnnotationStore.open(tmp_path, writer=True).close()
    assert [p.name for p in folder_images(tmp_path)[0]] == ["case0.png"]


def test_import_reports_progress_per_image_and_cancel_keeps_what_came_in(tmp_path: Path) -> None:
    from ukan_core.errors import Cancelled
    from ukan_core.progress import CancelToken

    for k in range(5):
        write_png(tmp_path / "images" / f"case{k}.png", image(k))
        write_png(tmp_path / "masks" / "0" / f"case{k}.png", square_mask())
    token, seen = CancelToken(), []

    def progress(p) -> None:
        seen.append((p.done, p.total, p.extra["folder"]))
        if p.done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        import_masks(tmp_path, progress=progress, cancel=token)
    assert [(d, t) for d, t, _ in seen] == [(0, 5), (1, 5), (2, 5), (3, 5)]
    assert {f for _, _, f in seen} == {tmp_path / "images"}
    store = AnnotationStore.open(tmp_path / "images")   # the index on disk lists the masks written
    assert [store.status(f"case{k}.png") for k in range(5)] == ["imported"] * 3 + ["unlabelled"] * 2
