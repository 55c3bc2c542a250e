"""Trust signals in the window: uncertainty badges that survive reopen, "Most uncertain first",
the uncertainty map on the canvas, the out-of-domain notice (once, and not on the samples), stale scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from tests.studio.conftest import stroke
from ukan_core.annotation.store import STORE_FOLDER
from ukan_core.annotation.uncertainty_scores import SCORES_FILE
from ukan_studio.panels.image_list import SCORE_ROLE, name_of

ROOT = Path(__file__).resolve().parents[2]


def _segment_all(qtbot, window, timeout: int = 120_000) -> None:
    qtbot.waitUntil(lambda: window.session.image is not None, timeout=10_000)
    with qtbot.waitSignal(window.job_finished, timeout=timeout, check_params_cb=lambda k: k == "segment_all"):
        window.findChild(QAction, "actionSegmentAll").trigger()   # Model ▸ Segment All


def _visible(window) -> list[str]:
    proxy = window.image_filter
    return [name_of(proxy.index(row, 0)) for row in range(proxy.rowCount())]


def _badge(window, name: str):
    return window.image_model.index(window.image_model.row_of(name)).data(SCORE_ROLE)


def _saved(folder: Path) -> dict:
    return json.loads((folder / STORE_FOLDER / SCORES_FILE).read_text())


def _choose_order(qtbot, window, text: str) -> None:
    combo = window.order_combo
    combo.setFocus()
    target = combo.findText(text)
    for _ in range(combo.count()):
        if combo.currentIndex() == target:
            break
        qtbot.keyClick(combo, Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up)
    assert combo.currentIndex() == target


@pytest.fixture
def cpu_window(window):
    window.settings.device = "cpu"
    return window


def test_badges_appear_after_segment_all_and_survive_reopen(cpu_window, qtbot, image_folder: Path) -> None:
    window = cpu_window
    assert all(_badge(window, n) is None for n in window.session.names)
    _segment_all(qtbot, window)
    model = window.models_panel.current_ref()
    saved = _saved(image_folder)["images"]
    assert sorted(saved) == sorted(window.session.names)
    for name in window.session.names:
        score, stale = _badge(window, name)
        assert 0.0 <= score <= 1.0 and not stale
        assert saved[name] == {"score": pytest.approx(score, abs=1e-6), "model": model}
    assert "Uncertainty" in window.image_model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    window.image_list.grab()   # the delegate paints the badges
    window.close()

    from ukan_studio.app import create_main_window

    again = create_main_window(image_folder, warm_up=False)
    qtbot.addWidget(again)
    again.show()
    try:
        for name in again.session.names:
            assert _badge(again, name) == (pytest.approx(saved[name]["score"]), False)
    finally:
        again.close()


def test_most_uncertain_first_is_by_score_and_navigation_follows_it(cpu_window, qtbot) -> None:
    window = cpu_window
    _segment_all(qtbot, window)
    stroke(qtbot, window.canvas, [(5, 5), (25, 5)])            # case00 becomes corrected: done, no badge
    assert window.session.status("case00.png") == "corrected" and _badge(window, "case00.png") is None
    _choose_order(qtbot, window, "Most uncertain first")
    visible = _visible(window)
    scored = [n for n in visible if _badge(window, n) is not None]
    scores = [_badge(window, n)[0] for n in scored]
    assert scores == sorted(scores, reverse=True) and len(scored) == 3
    assert visible[-1] == "case00.png"                        # no current score: last
    window.navigation.select_list_row(0)
    qtbot.waitUntil(lambda: window.session.current == visible[0], timeout=5000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)                # Next Image follows the visible order
    qtbot.waitUntil(lambda: window.session.current == visible[1], timeout=5000)
    status = window.status_filter                              # the status filter keeps the order
    status.setFocus()
    for _ in range(status.count()):
        if status.currentData() == "predicted":
            break
        qtbot.keyClick(status, Qt.Key.Key_Down)
    assert status.currentData() == "predicted"
    assert _visible(window) == scored
    _choose_order(qtbot, window, "File order")
    assert _visible(window) == sorted(scored)


def test_uncertainty_map_toggles_on_and_clears_on_image_change(cpu_window, qtbot) -> None:
    window = cpu_window
    action = window.findChild(QAction, "actionUncertaintyMap")
    assert "U" in [s.toString() for s in action.shortcuts()]
    qtbot.keyClick(window.canvas, Qt.Key.Key_U)
    assert action.isChecked()
    qtbot.waitUntil(lambda: window.canvas.heatmap.overlay is not None, timeout=60_000)
    overlay = window.canvas.heatmap.overlay
    assert overlay.shape == window.session.image.pixels.shape[:2]
    assert window.canvas.heatmap.isVisible() and not window.canvas.overlay.isVisible()
    assert overlay.rgba[..., 3].max() > 0                      # uncertain pixels are coloured
    qtbot.keyClick(window.canvas, Qt.Key.Key_D)                # another image: the map goes
    qtbot.waitUntil(lambda: window.session.current == "case01.png" and window.session.image is not None
                    and not window.session.loading, timeout=5000)
    assert window.canvas.heatmap.overlay is None and not action.isChecked()
    qtbot.keyClick(window.canvas, Qt.Key.Key_U)
    assert action.isChecked(), window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.canvas.heatmap.overlay is not None, timeout=60_000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_U)                # and off again
    assert window.canvas.heatmap.overlay is None and window.canvas.overlay.isVisible()


def _open(qtbot, folder: Path):
    from ukan_studio.app import create_main_window

    win = create_main_window(folder, warm_up=False)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitExposed(win)
    win.settings.device = "cpu"
    return win


def test_out_of_domain_warning_fires_once_on_a_shifted_folder(qtbot, tmp_path: Path) -> None:
    from ukan_core.data.synthetic import write_synthetic_dataset

    write_synthetic_dataset(tmp_path / "shifted", 6, seed=3, style="inverted")
    folder = tmp_path / "shifted" / "images"
    window = _open(qtbot, folder)
    try:
        _segment_all(qtbot, window)
        assert window.trust.warnings_shown == 1
        assert window.notice.isVisible() and window.notice.sticky
        assert "Correct a few images, then Retrain" in window.notice.text
        window.notice.close_button.click()
        _segment_all(qtbot, window)                             # the same folder and model: not again
        assert window.trust.warnings_shown == 1 and not window.notice.isVisible()
        assert _saved(folder)["warned"] == [window.models_panel.current_ref()]
    finally:
        window.close()
    window = _open(qtbot, folder)                                # nor after reopening
    try:
        _segment_all(qtbot, window)
        assert window.trust.warnings_shown == 0
    finally:
        window.close()


def test_no_out_of_domain_warning_on_the_bundled_samples(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "samples"
    shutil.copytree(ROOT / "resources" / "samples", folder)
    window = _open(qtbot, folder)
    try:
        _segment_all(qtbot, window)
        assert window.trust.warnings_shown == 0
        assert "Retrain" not in window.notice.text
        assert len(_saved(folder)["images"]) == len(window.session.names)
    finally:
        window.close()


def test_scores_of_another_model_are_shown_stale(cpu_window, qtbot, tiny_model_path: Path) -> None:
    window = cpu_window
    _segment_all(qtbot, window)
    assert all(_badge(window, n)[1] is False for n in window.session.names)
    window.models_panel.add_model_file(tiny_model_path)        # another model is selected
    assert window.models_panel.current_ref() == str(tiny_model_path)
    assert all(_badge(window, n)[1] is True for n in window.session.names)
    assert "another model" in window.image_model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    _choose_order(qtbot, window, "Most uncertain first")
    assert _visible(window) == sorted(window.session.names)   # stale scores do not order the list
