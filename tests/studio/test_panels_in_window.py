"""The Explain and Generate docks work from the main window: tabbed with Retrain, listed in View, jobs run."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.studio.test_generate_panel import TINY


def test_explain_and_generate_docks_work_from_the_window(qtbot, window, tiny_model_path, tmp_path) -> None:
    win = window
    tabbed = win.tabifiedDockWidgets(win._docks["retrainDock"])
    assert win._docks["explainDock"] in tabbed and win._docks["generateDock"] in tabbed
    view = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    assert {"Explain", "Generate"} <= {a.text() for a in view.actions()}
    win.models_panel.add_model_file(tiny_model_path)
    with qtbot.waitSignal(win.job_finished, timeout=60000, check_params_cb=lambda k: k == "segment"):
        win.actions["actionSegment"].trigger()
    with qtbot.waitSignal(win.job_finished, timeout=60000, check_params_cb=lambda k: k == "explain"):
        qtbot.mouseClick(win.explain_panel.explain_button, Qt.MouseButton.LeftButton)
    result = win.explain_panel.result
    assert result is not None and result.reference_kind == "predicted"
    assert (result.reference == (win.current_mask() > 0)).all()

    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.models.registry import build_model

    generator = tmp_path / "g.safetensors"
    save_checkpoint(build_model("diffusion_ukan", {**TINY, "image_size": 32}), generator, {"name": "g"})
    win.generate_panel.add_generator_file(generator)
    win.generate_panel.count.setValue(2)
    win.generate_panel.steps.setValue(3)
    with qtbot.waitSignal(win.job_finished, timeout=60000, check_params_cb=lambda k: k == "generate"):
        qtbot.mouseClick(win.generate_panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.generate_panel.gallery.count() == 2, timeout=5000)
