"""A kill -9 of the running app loses no saved stroke: every edit reaches disk within a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

APP_SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from ukan_studio.app import create_main_window, ensure_application
    from ukan_studio.canvas.mask_edit import diff_edit, paint_segment

    app = ensure_application()
    window = create_main_window(sys.argv[1], warm_up=False)
    window.show()

    def paint(row):
        mask = window.session.current_mask()
        before = mask.copy()
        paint_segment(mask, (10, row), (100, row), 5, 1)
        window.session.push_edit(diff_edit(before, mask), "Brush stroke", already_applied=True)
        print(f"painted {row}", flush=True)

    QTimer.singleShot(100, lambda: paint(20))
    QTimer.singleShot(300, lambda: paint(60))   # the last stroke, ~1 s before the kill
    app.exec()
    """
)


def test_kill_9_after_a_second_loses_no_stroke(image_folder: Path, isolated_home: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", UKAN_STUDIO_HOME=str(isolated_home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, str(image_folder)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while len(lines) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert lines == ["painted 20", "painted 60"], proc.stderr.read() if proc.poll() is not None else lines
        time.sleep(1.1)
        assert proc.poll() is None, "the app must still be running when it is killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    saved = cv2.imread(str(image_folder / ".ukan-studio" / "masks" / "case00.png@0.png"), cv2.IMREAD_UNCHANGED)
    assert saved is not None, "the mask was never saved"
    assert saved[20, 10:101].all() and saved[60, 10:101].all()
    assert not saved[40, 50]
    index = (image_folder / ".ukan-studio" / "annotations.json").read_text()
    assert '"corrected"' in index
    assert not [p for p in image_folder.rglob("*partial*")], "no half-written files"
    assert np.count_nonzero(saved) > 0


def _child_env(isolated_home: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", UKAN_STUDIO_HOME=str(isolated_home),
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


HANG_BEFORE_INDEX_RENAME = textwrap.dedent(
    """
    import os, sys, time
    import ukan_core.atomic as atomic
    from PySide6.QtWidgets import QApplication
    from ukan_studio.canvas.mask_edit import diff_edit, paint_segment
    from ukan_studio.session import Session

    real_replace = os.replace
    def replace(src, dst):
        if str(dst).endswith("annotations.json"):
            print("index about to land", flush=True)
            time.sleep(60)   # killed here: the mask is on disk, the index is not
        real_replace(src, dst)
    atomic.os.replace = replace

    app = QApplication([])
    session = Session()
    session.open_folder(sys.argv[1])
    session.set_current("case01.png")
    mask = session.current_mask()
    before = mask.copy()
    paint_segment(mask, (10, 30), (100, 30), 5, 1)
    session.push_edit(diff_edit(before, mask), "Brush stroke", already_applied=True)
    session.flush(wait=True)
    """
)


def test_kill_between_the_mask_and_the_index_keeps_the_status(image_folder: Path, isolated_home: Path,
                                                              qtbot) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HANG_BEFORE_INDEX_RENAME, str(image_folder)], cwd=REPO_ROOT,
                            env=_child_env(isolated_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == "index about to land", proc.stderr.read() if proc.poll() is not None else line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    store_folder = image_folder / ".ukan-studio"
    assert [p for p in store_folder.rglob("*.partial")], "the killed save left its temp file (the case to clean)"

    from ukan_core.annotation import AnnotationStore
    from ukan_studio.session import Session

    reader = AnnotationStore.open(image_folder)
    assert reader.status("case01.png") == "corrected", "the mask's own record gives the status back"
    assert reader.mask("case01.png")[30, 10:101].all()

    session = Session()
    session.open_folder(image_folder)   # the app takes the folder: repairs the index, sweeps the temp files
    try:
        assert session.status("case01.png") == "corrected"
        assert not session.set_prediction("case01.png", np.zeros((96, 128), np.uint8), "m"), \
            "Segment all must not overwrite the recovered correction"
        assert not [p for p in store_folder.rglob("*.partial")]
        index = json.loads((store_folder / "annotations.json").read_text())
        assert index["images"]["case01.png"]["status"] == "corrected"
    finally:
        session.close()
