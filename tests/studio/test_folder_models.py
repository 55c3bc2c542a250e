"""Each folder uses its own model: Retrain in folder A makes A's lineage; B keeps the bundled model;
reopening A brings A's model back; a model picked in the panel is recorded in A's index on disk."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from PySide6.QtGui import QAction

from ukan_core.store import ModelStore
from tests.studio.conftest import synthetic_scan


def _index_model(folder: Path) -> str | None:
    from ukan_core.annotation.store import INDEX_FILE, STORE_FOLDER

    return json.loads((folder / STORE_FOLDER / INDEX_FILE).read_text()).get("model")


def _bundled_ref() -> str:
    from ukan_studio.model_catalog import default_model_ref, list_model_choices

    ref = default_model_ref(list_model_choices())
    assert ref.startswith("ukan-synthetic-us/"), ref
    return ref


@pytest.fixture
def folder_b(tmp_path: Path) -> Path:
    folder = tmp_path / "other scans"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"b{i}.png"), synthetic_scan(10 + i)[0])
    return folder


@pytest.fixture
def tiny_window(window, tiny_model_path: Path):
    from ukan_core.model_refs import load_model_with_info

    model, info = load_model_with_info(tiny_model_path)
    ModelStore().add_version("tiny-ukan", model, {"preprocessing": info["preprocessing"], "name": "tiny-ukan"})
    window.settings.device = "cpu"
    window.models_panel.refresh()
    return window


def test_a_new_folder_uses_the_bundled_model_not_the_last_choice(tiny_window, folder_b: Path) -> None:
    window = tiny_window
    folder_a = window.session.folder
    window.models_panel.select_ref("tiny-ukan/v0001")                 # the user's choice, for A
    assert window.session.model_ref() == "tiny-ukan/v0001"
    name = window.session.names[0]
    window.session.store.save_mask(name, window.session.mask_for(name), "corrected")   # a later index save
    assert _index_model(folder_a) == "tiny-ukan/v0001"               # ...keeps the record
    assert window.folder.open_folder(folder_b)
    assert window.models_panel.current_ref() == _bundled_ref()
    assert window.session.model_ref() is None                        # B records nothing it did not choose
    assert window.folder.open_folder(folder_a)
    assert window.models_panel.current_ref() == "tiny-ukan/v0001"


def test_retrain_in_a_stays_with_a(tiny_window, folder_b: Path, qtbot) -> None:
    from ukan_core.lineage import lineage_display, project_lineage

    window = tiny_window
    folder_a = window.session.folder
    window.models_panel.select_ref("tiny-ukan/v0001")
    truth = folder_a.parent / "truth"
    for name in window.session.names:
        window.session.store.save_mask(name, cv2.imread(str(truth / name), cv2.IMREAD_UNCHANGED), "corrected")
    window.retrain_panel.budget.setValue(0.05)
    with qtbot.waitSignal(window.job_finished, timeout=180_000, check_params_cb=lambda k: k == "retrain"):
        window.findChild(QAction, "actionRetrain").trigger()
    lineage = project_lineage(folder_a)
    new_ref = f"{lineage}/v0001"
    assert ModelStore().version_info(lineage, "v0001").metadata.get("parent") == "tiny-ukan/v0001"
    if window.session.model_ref() != new_ref:   # no clear gain: the user picks it by hand
        window.models_panel.select_ref(new_ref)
    assert window.models_panel.current_ref() == new_ref
    assert window.models_panel.combo.currentText() == lineage_display(lineage, "v0001") == "scans v1"
    assert _index_model(folder_a) == new_ref
    assert window.folder.open_folder(folder_b)
    assert window.models_panel.current_ref() == _bundled_ref()       # never leaks into B
    assert window.folder.open_folder(folder_a)
    assert window.models_panel.current_ref() == new_ref              # survives the reopen
