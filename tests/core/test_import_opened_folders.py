"""A BUSI or official folder that the Studio has opened (its `.ukan-studio/` store is there) still
imports its masks, and an import reports progress per mask and can be cancelled between masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.core.test_import_masks import image, square_mask, write_png
from ukan_core.annotation import AnnotationStore
from ukan_core.annotation.importing import import_masks
from ukan_core.data.folders import detect_layout
from ukan_core.errors import Cancelled
from ukan_core.progress import CancelToken, Progress


def _opened_by_the_studio(folder: Path) -> None:
    """What opening the folder in the window leaves behind: its annotation store, a lock taken and released."""
    AnnotationStore.open(folder, writer=True).close()
    assert (folder / ".ukan-studio").is_dir()


def test_a_busi_folder_opened_in_the_studio_still_imports_its_masks(tmp_path: Path) -> None:
    for k in range(2):
        write_png(tmp_path / f"benign ({k}).png", image(k))
        write_png(tmp_path / f"benign ({k})_mask.png", square_mask())
    _opened_by_the_studio(tmp_path)
    assert detect_layout(tmp_path) == "studio"                  # training reads the Studio's store ...
    assert detect_layout(tmp_path, studio=False) == "busi-flat"   # ... the folder's own files are BUSI
    report = import_masks(tmp_path)
    assert (report.imported, report.problems) == (2, [])
    store = AnnotationStore.open(tmp_path)
    assert [store.status(f"benign ({k}).png") for k in range(2)] == ["imported"] * 2
    np.testing.assert_array_equal(store.mask("benign (1).png"), square_mask(value=1))


def test_an_official_dataset_opened_in_the_studio_still_imports_its_masks(tmp_path: Path) -> None:
    for k in range(2):
        write_png(tmp_path / "images" / f"case{k}.png", image(k))
        write_png(tmp_path / "masks" / "0" / f"case{k}.png", square_mask())
    _opened_by_the_studio(tmp_path)
    _opened_by_the_studio(tmp_path / "images")
    report = import_masks(tmp_path)
    assert report.imported == 2 and report.folder == tmp_path / "images"
    assert AnnotationStore.open(tmp_path / "images").status("case0.png") == "imported"


def test_import_reports_each_mask_and_a_cancel_keeps_those_imported(tmp_path: Path) -> None:
    for k in range(4):
        write_png(tmp_path / f"b{k}.png", image(k))
        write_png(tmp_path / f"b{k}_mask.png", square_mask())
    heard: list[Progress] = []
    token = CancelToken()

    def progress(step: Progress) -> None:
        heard.append(step)
        if step.done == 2:
            token.cancel()   # the user presses Cancel while the third mask is next

    with pytest.raises(Cancelled):
        import_masks(tmp_path, progress=progress, cancel=token)
    assert [(p.done, p.total) for p in heard] == [(0, 4), (1, 4), (2, 4)]
    assert heard[1].message == "reading b1.png"
    store = AnnotationStore.open(tmp_path)
    assert [store.status(f"b{k}.png") for k in range(4)] == ["imported", "imported", "unlabelled", "unlabelled"]
    assert store.names() and "b0.png" in store.names(), "the index lists what came in before the cancel"
    report = import_masks(tmp_path, progress=heard.append)
    assert (report.imported, report.kept) == (2, 2) and (heard[-1].done, heard[-1].total) == (4, 4)
