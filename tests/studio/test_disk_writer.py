"""Masks are written off the GUI thread: a slow disk never blocks the window, nothing is read stale,
writes land in order, and a failed write is reported once and tried again."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from ukan_core.errors import StoreError
from ukan_studio.disk_writer import DiskWriter
from ukan_studio.session import Session


def test_writes_run_in_order_and_pending_answers_until_written(qtbot, tmp_path: Path) -> None:
    writer = DiskWriter()
    gate = threading.Event()
    started = threading.Event()
    order: list[str] = []
    writer.submit("a", lambda: (started.set(), gate.wait(10), order.append("a1")), payload="first")
    assert started.wait(10)
    writer.submit("b", lambda: order.append("b"), payload="other")
    writer.submit("a", lambda: order.append("a2"), payload="second")
    assert writer.busy and writer.pending("a") == "second" and writer.pending("b") == "other"
    assert not writer.wait(timeout=0.05), "the first write is held at the gate"
    gate.set()
    assert writer.wait(timeout=10)
    assert order == ["a1", "b", "a2"]
    assert writer.pending("a") is None and writer.pending("b") is None and not writer.busy


def test_a_queued_write_is_superseded_by_a_newer_one_of_the_same_file(qtbot) -> None:
    writer = DiskWriter()
    gate, started = threading.Event(), threading.Event()
    order: list[str] = []
    writer.submit("slow", lambda: (started.set(), gate.wait(10), order.append("slow")))
    assert started.wait(10)
    for i in range(30):   # a painter on a slow disk: 30 snapshots of two masks and the index
        writer.submit("mask-a", lambda i=i: order.append(f"a{i}"), payload=i)
        writer.submit("mask-b", lambda i=i: order.append(f"b{i}"), payload=i)
        writer.submit("index", lambda i=i: order.append(f"index{i}"), keep_last=True)
    writer.submit("mask-c", lambda: order.append("c"), payload="c")
    writer.submit("index", lambda: order.append("index-last"), keep_last=True)
    assert writer.pending("mask-a") == 29
    gate.set()
    assert writer.wait(timeout=10)
    assert order == ["slow", "a29", "b29", "c", "index-last"], "only the newest of each file, the index last"
    assert writer.superseded == 29 * 3 + 1


def test_a_failed_write_is_reported_once_and_keeps_its_data(qtbot) -> None:
    writer = DiskWriter()

    def refuse() -> None:
        raise StoreError("case1.png: cannot save the mask (No space left on device)")

    with qtbot.waitSignal(writer.failed, timeout=5000):
        writer.submit("k", refuse, payload="data", tag="case1.png")
    failures = writer.take_failures()
    assert [(f.tag, f.message) for f in failures] == [("case1.png", "case1.png: cannot save the mask (No space left on device)")]
    assert writer.take_failures() == []
    assert writer.pending("k") == "data", "what could not be written stays readable"

    def bug() -> None:
        raise ValueError("unexpected")

    writer.submit("k2", bug, tag="x")
    writer.submit("k3", lambda: None, payload="fine")
    assert writer.wait(timeout=10) and writer.pending("k3") is None, "a bug in one write does not stop the writer"
    assert "ValueError" in writer.take_failures()[0].message


@pytest.fixture
def session(qtbot, image_folder: Path) -> Session:
    session = Session()
    session.open_folder(image_folder)
    yield session
    session.close()


def test_a_slow_disk_does_not_hold_the_session(session: Session, monkeypatch, image_folder: Path) -> None:
    store = session.store
    gate = threading.Event()
    real_write = store.write_mask_file

    def slow_write(name: str, mask: np.ndarray, *record) -> Path:
        gate.wait(10)   # a network share that takes its time
        return real_write(name, mask, *record)

    monkeypatch.setattr(store, "write_mask_file", slow_write)
    predicted = np.zeros((96, 128), np.uint8)
    predicted[20:40, 30:60] = 1
    assert session.set_prediction("case02.png", predicted, "model v1")
    assert session.flush(wait=False), "handing the files to the writer does not wait for the disk"
    target = store.mask_path("case02.png")
    assert not target.exists() and session.has_unsaved
    np.testing.assert_array_equal(session.mask_for("case02.png"), predicted)   # never a stale read
    assert session.status("case02.png") == "predicted"

    gate.set()
    assert session.flush(wait=True) and not session.has_unsaved
    np.testing.assert_array_equal(store.mask("case02.png"), predicted)
    reopened = type(store).open(image_folder)
    assert reopened.status("case02.png") == "predicted" and reopened.record("case02.png")["model"] == "model v1"


def test_a_failed_save_is_reported_and_tried_again(qtbot, session: Session, monkeypatch) -> None:
    from ukan_studio.canvas.mask_edit import diff_edit

    session.set_current("case00.png")
    store = session.store
    real_write = store.write_mask_file
    broken = {"on": True}

    def flaky_write(name: str, mask: np.ndarray, *record) -> Path:
        if broken["on"]:
            raise StoreError(f"{name}: cannot save the mask (Read-only file system)")
        return real_write(name, mask, *record)

    monkeypatch.setattr(store, "write_mask_file", flaky_write)
    before = session.current_mask().copy()
    after = before.copy()
    after[5:15, 5:25] = 1
    session.push_edit(diff_edit(before, after), "Brush")
    messages: list[str] = []
    session.save_failed.connect(messages.append)
    assert not session.flush(wait=True)
    assert messages == ["case00.png: cannot save the mask (Read-only file system)"]
    assert session.has_unsaved, "the correction is still unsaved, not dropped"
    qtbot.wait(50)   # the writer's queued notice finds nothing new to report
    assert len(messages) == 1

    broken["on"] = False
    assert session.flush(wait=True) and not session.has_unsaved
    np.testing.assert_array_equal(store.mask("case00.png"), after)
    assert type(store).open(session.folder).status("case00.png") == "corrected"


def test_on_a_slow_disk_only_the_newest_snapshot_is_written(session: Session, monkeypatch) -> None:
    from ukan_studio.canvas.mask_edit import diff_edit

    session.set_current("case00.png")
    store = session.store
    gate, started = threading.Event(), threading.Event()
    real_write = store.write_mask_file
    written: list[int] = []

    def slow_write(name: str, mask: np.ndarray, *record) -> Path:
        started.set()
        gate.wait(10)   # every fsync takes ages
        written.append(int(mask.sum()))
        return real_write(name, mask, *record)

    monkeypatch.setattr(store, "write_mask_file", slow_write)
    for row in range(10):   # ten autosave ticks of painting while the disk is busy with the first
        before = session.current_mask().copy()
        after = before.copy()
        after[row, :20] = 1
        session.push_edit(diff_edit(before, after), "Brush")
        session.flush(wait=False)
        if row == 0:
            assert started.wait(10)
    gate.set()
    assert session.flush(wait=True)
    assert written == [20, 200], "the first write, then only the newest state; no backlog of superseded ones"
    assert int(store.mask("case00.png").sum()) == 200


def test_a_correction_is_written_before_a_backlog_of_predictions(session: Session, monkeypatch) -> None:
    from ukan_studio.canvas.mask_edit import diff_edit

    session.set_current("case00.png")
    store = session.store
    gate, started = threading.Event(), threading.Event()
    real_write = store.write_mask_file
    order: list[str] = []

    def slow_write(name: str, mask: np.ndarray, *record) -> Path:
        started.set()
        gate.wait(10)
        order.append(name)
        return real_write(name, mask, *record)

    monkeypatch.setattr(store, "write_mask_file", slow_write)
    for name in ("case01.png", "case02.png", "case03.png"):   # Segment all on a slow share
        assert session.set_prediction(name, np.ones((96, 128), np.uint8), "m")
    assert started.wait(10)
    before = session.current_mask().copy()
    after = before.copy()
    after[5:9, 5:9] = 1
    session.push_edit(diff_edit(before, after), "Brush")
    session.flush(wait=False)
    gate.set()
    assert session.flush(wait=True)
    assert order == ["case01.png", "case00.png", "case02.png", "case03.png"], "the stroke jumps the queue"
