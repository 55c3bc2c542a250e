"""The Model panel's Export button: safetensors or ONNX with a model card, on a worker thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from ukan_core.models.registry import build_model
from ukan_core.onnx_support import missing_onnx_packages
from ukan_core.store import ModelStore
from ukan_studio.controllers.model_controller import ModelController
from ukan_studio.jobs import JobController
from ukan_studio.panels.models import ModelsPanel


@pytest.fixture
def panel(qtbot) -> ModelsPanel:
    torch.manual_seed(0)
    ModelStore().add_version("liver", build_model("ukan", {"embed_dims": [16, 24, 32]}).eval(),
                             {"preprocessing": {"mode": "standard", "fit": "resize", "input_size": [64, 64]},
                              "metrics": {"val_iou": 0.6, "val_n": 4}})
    widget = ModelsPanel()
    qtbot.addWidget(widget)
    ModelController(widget, JobController(widget), parent=widget)   # runs the export, as in the window
    widget.refresh(prefer="liver/v0001")
    assert widget.current_ref() == "liver/v0001" and widget.export_button.isEnabled()
    return widget


def test_export_runs_on_a_worker_and_writes_the_card(qtbot, panel: ModelsPanel, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import model_export

    threads = []
    real = model_export.export_model
    monkeypatch.setattr(model_export, "export_model",
                        lambda *a, **k: threads.append(threading.current_thread()) or real(*a, **k))
    with qtbot.waitSignal(panel.exported, timeout=60000) as blocker:
        assert panel.export_current(tmp_path / "liver.safetensors")
        assert not panel.export_button.isEnabled()   # one export at a time
    assert threads and threads[0] is not threading.main_thread()
    assert "liver/v0001" in blocker.args[0] and "liver.model-card.md" in blocker.args[0]
    assert (tmp_path / "liver.safetensors").is_file()
    assert "(n = 4 images)" in (tmp_path / "liver.model-card.md").read_text()
    qtbot.waitUntil(lambda: not panel.is_exporting() and panel.export_button.isEnabled(), timeout=5000)


@pytest.mark.skipif(bool(missing_onnx_packages(export=True)),
                    reason='the ONNX extra is not installed (pip install "ukan-studio[onnx]")')
def test_export_offers_onnx(qtbot, panel: ModelsPanel, tmp_path: Path) -> None:
    with qtbot.waitSignal(panel.exported, timeout=120000):
        assert panel.export_current(tmp_path / "liver.onnx")
    assert (tmp_path / "liver.onnx").stat().st_size > 0 and (tmp_path / "liver.model-card.md").is_file()
    qtbot.waitUntil(lambda: not panel.is_exporting(), timeout=5000)


def test_onnx_without_the_extra_says_how_to_install_it(qtbot, panel: ModelsPanel, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import onnx_support

    real = onnx_support.importlib.util.find_spec
    monkeypatch.setattr(onnx_support.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnx", "onnxruntime", "onnxscript") else real(name, *a))
    with qtbot.waitSignal(panel.failed, timeout=2000) as blocker:
        assert not panel.export_current(tmp_path / "liver.onnx")
    assert 'pip install "ukan-studio[onnx]"' in blocker.args[0] and "\n" not in blocker.args[0]
    assert not panel.is_exporting() and not list(tmp_path.iterdir())


def test_the_dialog_offers_both_formats(qtbot, panel: ModelsPanel, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    offered = []

    def fake_dialog(_parent, _title, start, filters):
        offered.append((start, filters))
        return str(tmp_path / "picked"), filters.split(";;")[1]   # the ONNX entry, no suffix typed

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_dialog))
    started = []
    monkeypatch.setattr(panel, "export_current", lambda path, fmt, overwrite: started.append((path, fmt)))
    panel.export_button.click()
    assert offered and "*.safetensors" in offered[0][1] and "*.onnx" in offered[0][1]
    assert started == [(str(tmp_path / "picked.onnx"), "onnx")]
