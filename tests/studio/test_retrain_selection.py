"""Retrain follows the core's selection: the window never changes the store's selection itself,
and its verdict says what the store did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest
from PySide6.QtGui import QAction

from ukan_core.store import ModelStore


@pytest.fixture
def store_window(window, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The window on the store version tiny-ukan/v0001 (selected); the window may not select anything."""
    from ukan_core.model_refs import load_model_with_info

    model, info = load_model_with_info(tiny_model_path)
    ModelStore().add_version("tiny-ukan", model, {"preprocessing": info["preprocessing"], "name": "tiny-ukan"})
    window.settings.device = "cpu"
    window.models_panel.refresh(prefer="tiny-ukan/v0001")
    assert window.models_panel.current_ref() == "tiny-ukan/v0001"

    def no_select(self: ModelStore, name: str, version: str) -> None:
        raise AssertionError(f"the window changed the store's selection to {name}/{version}")

    monkeypatch.setattr(ModelStore, "select", no_select)
    return window


def _correct_all(window) -> None:
    truth = window.session.folder.parent / "truth"
    for name in window.session.names:
        window.session.store.save_mask(name, cv2.imread(str(truth / name), cv2.IMREAD_UNCHANGED), "corrected")


def test_retrain_in_the_window_keeps_to_the_cores_choice(store_window, qtbot) -> None:
    from ukan_core.lineage import lineage_display, project_lineage

    _correct_all(store_window)
    store_window.retrain_panel.budget.setValue(0.05)
    with qtbot.waitSignal(store_window.job_finished, timeout=180_000, check_params_cb=lambda k: k == "retrain"):
        store_window.findChild(QAction, "actionRetrain").trigger()
    store = ModelStore()
    lineage = project_lineage(store_window.session.folder)
    assert [v.version for v in store.versions("tiny-ukan")] == ["v0001"]   # the base lineage is untouched
    new = store.version_info(lineage, "v0001")                            # the folder's own lineage
    assert new.metadata.get("parent") == "tiny-ukan/v0001"
    text = store_window.retrain_panel.report.text()
    assert "early_stop" not in text and "Mean IoU per image" in text, text
    shown = lineage_display(lineage, "v0001")
    if store_window.session.model_ref() == f"{lineage}/v0001":
        assert store_window.models_panel.current_ref() == f"{lineage}/v0001"
        assert f"{shown} is now this folder's model" in text, text
    else:
        assert store_window.session.model_ref() is None
        assert store_window.models_panel.current_ref() == "tiny-ukan/v0001"
        assert "No clear gain — kept the previous model" in text, text
        assert f"{shown} is saved; tiny-ukan v1 stays in use" in text, text


def _report(selected: bool, improved: bool) -> Any:
    from ukan_core.training.finetune import FinetuneReport

    store = ModelStore()
    version = store.version_info("tiny-ukan", "v0001")
    scores = {"iou": 0.5, "iou_mean": 0.5, "f1": 0.5, "f1_mean": 0.5, "n": 1}
    better = {**scores, "iou": 0.6 if improved else 0.4}
    return FinetuneReport(base="tiny-ukan/v0001", base_metrics=scores, new_metrics=better, n_train=4, n_val=1,
                          steps=3, seconds=1.0, version=version, selected=selected)


@pytest.mark.parametrize("selected", [True, False])
def test_the_verdict_says_what_the_core_chose(store_window, selected: bool) -> None:
    store_window.retrain_controller.base = "tiny-ukan/v0001"
    store_window.retrain_controller.show_report(_report(selected=selected, improved=selected))
    text = store_window.retrain_panel.report.text()
    if selected:
        assert "tiny-ukan v1 is now this folder's model" in text
        assert "Clear gain: the new model is now in use." in text
        assert store_window.notice.property("kind") == "success"
        assert store_window.session.store.model_ref == "tiny-ukan/v0001"   # recorded for the open folder
    else:
        assert "tiny-ukan v1 stays in use" in text
        assert "No clear gain — kept the previous model" in text
        assert store_window.notice.property("kind") == "info"
        assert store_window.session.store.model_ref is None
    assert "IoU 0.50 before, 0.60 after" in text or "IoU 0.50 before, 0.40 after" in text
