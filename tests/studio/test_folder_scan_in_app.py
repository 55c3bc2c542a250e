"""The app lists an opened folder with the command line's scan: the same images, the same order."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.image_factory import write_dicom
from ukan_core.io.listing import list_folder
from ukan_studio.folder_scan import scan_image_names

NAMES = ["case 10.png", "case 2.png", "B.png", "a.png", "case 1.png"]
NATURAL = ["a.png", "B.png", "case 1.png", "case 2.png", "case 10.png"]


def test_the_app_scan_is_the_cli_scan(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in NAMES:
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / name)
    write_dicom(folder, "IM0001")                       # a scanner's DICOM without an extension
    (folder / ".hidden.png").write_bytes((folder / "a.png").read_bytes())
    (folder / "notes.txt").write_text("not an image")
    if hasattr(os, "symlink"):
        os.symlink(folder / "a.png", folder / "zz-link.png")   # the same file twice is listed once
    names = scan_image_names(folder)
    assert names == [p.name for p in list_folder(folder).images]
    assert names == [*NATURAL, "IM0001"]       # natural order; no hidden file, no text, no second link
    with pytest.raises(OSError):
        scan_image_names(tmp_path / "missing")
