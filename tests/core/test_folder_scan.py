"""The core folder scan shared by the app and the CLI: natural order, a clear refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ukan_core.io.listing import list_folder, list_images, natural_key

NAMES = ["case 10.png", "case 2.png", "B.png", "a.png", "case 1.png"]
NATURAL = ["a.png", "B.png", "case 1.png", "case 2.png", "case 10.png"]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in NAMES:
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / name)
    return folder


def test_a_folder_lists_in_natural_order(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert [p.name for p in list_folder(folder).images] == NATURAL
    assert [p.name for p in list_images([folder]).images] == NATURAL     # what `ukan segment` walks


def test_natural_key_orders_numbers_by_value_and_ignores_case() -> None:
    assert sorted(["img10", "IMG9", "img9", "img1"], key=natural_key) == ["img1", "IMG9", "img9", "img10"]


def test_strict_listing_refuses_a_folder_that_cannot_be_listed(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list_folder(tmp_path / "missing", strict=True)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        list_folder(tmp_path / "file.png", strict=True)
    assert list_folder(tmp_path / "missing").problems == ["missing: file not found"]   # not strict: a line
