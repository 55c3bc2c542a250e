"""`ukan export` writes exactly the files the Studio's Export writes, from the store the Studio left.

Story: open a folder in the app, segment some images, correct others, export; then export the
same folder from the command line (a real process) and compare the files byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.studio.conftest import synthetic_scan
from ukan_studio.canvas.mask_edit import diff_edit
from ukan_studio.session import Session

REPO = Path(__file__).resolve().parents[2]
IMAGES = ["case 10.png", "case 2.png", "scan.png", "scan.jpg", "unlabelled.png"]


def _ukan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ukan_core.cli.main", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


EXTRAS = {"classes.json", "measurements.csv"}   # beside every export


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _masks(folder: Path) -> dict[str, bytes]:
    return {name: data for name, data in _files(folder).items() if name not in EXTRAS}


def _annotate(folder: Path) -> Session:
    """Open `folder` in a Session: two predictions, two corrections (one with label 2), one untouched."""
    for i, name in enumerate(IMAGES):
        cv2.imwrite(str(folder / name), synthetic_scan(i, 48, 64)[0])
    session = Session()
    session.open_folder(folder)
    for i, name in enumerate(["case 2.png", "scan.jpg"]):
        assert session.set_prediction(name, synthetic_scan(10 + i, 48, 64)[1], "tiny-ukan")
    for name, value in (("case 10.png", 1), ("scan.png", 2)):
        session.set_current(name)
        mask = session.current_mask()
        before = mask.copy()
        mask[5:20, 10:40] = value
        session.push_edit(diff_edit(before, mask), "Brush stroke", already_applied=True)
    assert session.flush(wait=True)
    return session


@pytest.mark.parametrize(("which", "values"), [("all", "binary"), ("corrected", "labels"), ("all", "labels")])
def test_the_cli_export_equals_the_apps_export(qtbot, tmp_path: Path, which: str, values: str) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    session = _annotate(folder)
    try:
        app_written = session.export_masks(tmp_path / "app", scope=which, mode=values)
    finally:
        session.close()
    done = _ukan("export", folder, "--out", tmp_path / "cli", "--which", which, "--values", values)
    assert done.returncode == 0, done.stderr
    app, cli = _files(tmp_path / "app"), _files(tmp_path / "cli")
    assert sorted(p.name for p in app_written) == sorted(set(app) - EXTRAS)
    assert cli == app                                     # the same names, the same bytes (extras too)
    # natural order: scan.jpg comes first and keeps <stem>.png; scan.png (corrected, label 2) then is renamed
    expected = {"case 10.png", "scan.png"} | ({"case 2.png", "scan_png.png"} if which == "all" else set())
    assert set(cli) == expected | EXTRAS
    labelled = tmp_path / "cli" / ("scan_png.png" if which == "all" else "scan.png")
    assert set(np.unique(cv2.imread(str(labelled), cv2.IMREAD_UNCHANGED))) == ({0, 2} if values == "labels" else {0, 255})
    assert f"exported {len(expected)} " in done.stdout
    assert ("scan.png: exported as scan_png.png" in done.stdout) == (which == "all")


def test_the_cli_refuses_to_overwrite_unless_asked(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    _annotate(folder).close()
    out = tmp_path / "out"
    out.mkdir()
    (out / "scan.png").write_bytes(b"keep me")
    refused = _ukan("export", folder, "--out", out)
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: scan.png: already exists in ")
    assert "--overwrite" in refused.stderr and "\n" not in refused.stderr.strip()
    assert _files(out) == {"scan.png": b"keep me"}            # nothing written, nothing replaced
    assert _ukan("export", folder, "--out", out, "--overwrite").returncode == 0
    assert len(_masks(out)) == 4 and (out / "scan.png").read_bytes() != b"keep me"


def test_the_cli_reads_the_per_user_copy_of_a_folder_it_cannot_write_into(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / ".ukan-studio").write_text("a file where the store's folder would go")   # the folder cannot hold it
    session = _annotate(folder)
    try:
        assert session.store is not None and session.store.location != folder / ".ukan-studio"
        session.export_masks(tmp_path / "app", scope="corrected")
    finally:
        session.close()
    done = _ukan("export", folder, "--out", tmp_path / "cli", "--which", "corrected")
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "cli") == _files(tmp_path / "app") and len(_masks(tmp_path / "app")) == 2


def test_a_damaged_mask_is_one_line_and_the_others_are_exported(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    session = _annotate(folder)
    assert session.store is not None
    damaged = session.store.mask_path("case 2.png")
    session.close()
    damaged.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    done = _ukan("export", folder, "--out", tmp_path / "cli")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: case 2.png: its saved mask cannot be read")
    assert set(_masks(tmp_path / "cli")) == {"case 10.png", "scan.png", "scan_png.png"}


def test_a_folder_without_annotations_or_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 8), np.uint8))
    for target, expected in ((folder, "plain: no UKAN Studio annotations found"),
                             (tmp_path / "nowhere", "nowhere: folder not found")):
        done = _ukan("export", target, "--out", tmp_path / "out")
        assert done.returncode == 2
        assert done.stderr.strip().startswith(f"error: {expected}")
        assert "\n" not in done.stderr.strip()
    assert not (tmp_path / "out").exists()
