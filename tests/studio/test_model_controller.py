"""The Model panel only asks; the model controller writes the store's selection and rolls back."""

from __future__ import annotations

import pytest
import torch

from ukan_core.models.registry import build_model
from ukan_core.store import ModelStore
from ukan_studio.controllers.model_controller import ModelController
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel


@pytest.fixture
def two_versions() -> ModelStore:
    torch.manual_seed(0)
    model = build_model("ukan", {"embed_dims": [16, 24, 32]}).eval()
    store = ModelStore()
    store.add_version("liver", model, {"metrics": {"iou": 0.6}})
    store.add_version("liver", model, {"parent": "liver/v0001", "metrics": {"iou": 0.7}})
    store.select("liver", "v0002")
    return store


def _panel(qtbot) -> ModelsPanel:
    panel = ModelsPanel()
    qtbot.addWidget(panel)
    panel.refresh(prefer="liver/v0002")
    return panel


def test_choosing_a_version_in_the_panel_alone_changes_no_store(qtbot, two_versions: ModelStore) -> None:
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.version_chosen, timeout=1000) as chosen:
        panel.select_ref("liver/v0001")
    assert chosen.args == ["liver", "v0001"]
    assert two_versions.selected("liver") == "v0002"   # the view asked; nobody wrote


def test_the_controller_selects_what_the_user_chose(qtbot, two_versions: ModelStore) -> None:
    panel = _panel(qtbot)
    ModelController(panel, JobController(panel), parent=panel)
    panel.select_ref("liver/v0001")
    assert two_versions.selected("liver") == "v0001"


def test_a_store_error_reaches_the_window_as_one_line(qtbot, two_versions: ModelStore,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core.errors import StoreError

    def refuse(self, name: str) -> None:
        raise StoreError(f"{name}: no previous version to roll back to")

    panel = _panel(qtbot)
    controller = ModelController(panel, JobController(panel), parent=panel)
    monkeypatch.setattr(ModelStore, "rollback", refuse)
    with qtbot.waitSignal(panel.failed, timeout=1000) as failed:
        controller.roll_back("liver")
    assert failed.args == ["liver: no previous version to roll back to"]
    assert panel.current_ref() == "liver/v0002"
