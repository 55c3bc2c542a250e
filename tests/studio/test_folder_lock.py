"""Two apps on one folder: the second opens it read-only and refuses edits; a killed app's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from ukan_studio.canvas.mask_edit import diff_edit
from ukan_studio.session import Session

REPO_ROOT = Path(__file__).resolve().parents[2]

SECOND_APP = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication
    from ukan_studio.canvas.mask_edit import diff_edit, paint_segment
    from ukan_studio.session import Session

    app = QApplication([])
    session = Session()
    messages = []
    session.save_failed.connect(messages.append)
    session.open_folder(sys.argv[1])
    print("read-only:", bool(session.read_only), flush=True)
    for name in ("case00.png", "case02.png"):
        session.set_current(name)
        mask = session.current_mask()
        before = mask.copy()
        paint_segment(mask, (10, 70), (100, 70), 5, 1)
        edit = diff_edit(before, mask)
        mask[:] = before   # the canvas of a read-only window does not paint; the edit is only offered
        session.push_edit(edit, "Brush stroke")
    print("saved:", session.flush(wait=True), flush=True)
    print("refused:", sum("edit refused" in m for m in messages), flush=True)
    if len(sys.argv) > 2:
        input()   # hold the folder until killed
    session.close()
    """
)


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", UKAN_STUDIO_HOME=str(home),
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


def _paint(session: Session, name: str, row: int) -> None:
    session.set_current(name)
    before = session.current_mask().copy()
    after = before.copy()
    after[row, 5:60] = 1
    session.push_edit(diff_edit(before, after), "Brush")
    assert session.flush(wait=True)


def test_a_second_app_opens_the_folder_read_only(qtbot, image_folder: Path, isolated_home: Path) -> None:
    first = Session()
    first.open_folder(image_folder)
    try:
        assert not first.read_only
        _paint(first, "case00.png", 10)
        _paint(first, "case01.png", 20)
        done = subprocess.run([sys.executable, "-c", SECOND_APP, str(image_folder)], cwd=REPO_ROOT,
                              env=_env(isolated_home), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:3] == ["read-only: True", "saved: True", "refused: 2"], done.stdout
        index = json.loads((image_folder / ".ukan-studio" / "annotations.json").read_text())["images"]
        assert {n: r["status"] for n, r in index.items()} == {"case00.png": "corrected", "case01.png": "corrected"}
        saved = first.store.mask("case00.png")
        assert saved[10, 5:60].all() and not saved[70].any(), "the second app changed nothing"
        _paint(first, "case00.png", 30)   # the first app keeps saving as before
        assert type(first.store).open(image_folder).mask("case00.png")[[10, 30], 5:60].all()
    finally:
        first.close()
    assert not (image_folder / ".ukan-studio" / "lock").exists(), "closing releases the lock"


def test_a_killed_apps_lock_is_taken_over(qtbot, image_folder: Path, isolated_home: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", SECOND_APP, str(image_folder), "hold"], cwd=REPO_ROOT,
                              env=_env(isolated_home), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "read-only: False", holder.stderr.read()
        blocked = Session()
        blocked.open_folder(image_folder)
        assert blocked.read_only and f"process {holder.pid}" in blocked.read_only
        blocked.close()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        for stream in (holder.stdin, holder.stdout, holder.stderr):
            stream.close()
    session = Session()
    session.open_folder(image_folder)
    try:
        assert not session.read_only, "a dead process's lock is stale"
        owner = json.loads((image_folder / ".ukan-studio" / "lock").read_text())
        assert owner["pid"] == os.getpid()
        _paint(session, "case03.png", 40)
        assert np.count_nonzero(session.store.mask("case03.png")) == 55
    finally:
        session.close()


def test_a_read_only_window_does_not_paint_and_says_why(qtbot, image_folder: Path) -> None:
    import socket

    from PySide6.QtGui import QAction

    from tests.studio.conftest import stroke
    from ukan_studio.app import create_main_window

    (image_folder / ".ukan-studio").mkdir()
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    other = {"pid": 1, "host": socket.gethostname(), "started": now}   # pid 1 is alive (and older than the lock)
    (image_folder / ".ukan-studio" / "lock").write_text(json.dumps(other))
    win = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.fit()
    assert "another UKAN Studio" in win.notice.text and "read-only" in win.store_label.text()
    win.findChild(QAction, "actionNextImage").trigger()   # another image: the opening notice is gone
    assert "another UKAN Studio" not in win.notice.text
    stroke(qtbot, win.canvas, [(10, 10), (80, 40)])
    assert not win.current_mask().any(), "the brush does not change a mask that cannot be saved"
    assert "another UKAN Studio" in win.notice.text, "pressing the brush says why nothing happens"
    assert not win.session.set_prediction("case02.png", np.ones((96, 128), np.uint8), "m")   # a Segment result
    assert "case02.png: prediction not stored" in win.notice.text
    win.close()
    assert json.loads((image_folder / ".ukan-studio" / "lock").read_text())["pid"] == 1, "the other's lock stays"
    assert not (image_folder / ".ukan-studio" / "masks").exists()


def test_a_lock_whose_pid_now_belongs_to_a_newer_process_is_stale(tmp_path: Path) -> None:
    import socket

    from ukan_core.annotation import lock

    if not Path("/proc/1/stat").is_file():
        import pytest

        pytest.skip("process start times are read from /proc (Linux)")
    reused = lock.LockOwner(os.getpid(), socket.gethostname(), "2000-01-01T00:00:00+00:00")
    assert lock.is_stale(reused), "our pid started long after that lock was written: its owner is gone"
    assert not lock.is_stale(lock.LockOwner(1, socket.gethostname(), "2099-01-01T00:00:00+00:00"))
    assert not lock.is_stale(lock.LockOwner(1, "another-host", "2000-01-01T00:00:00+00:00"))
