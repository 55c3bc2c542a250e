"""Generate in a non-ultrasound project: the panel says what a generator was trained on, never saves
into the image folder by default, and asks before pairs join a training set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from tests.studio.test_generate_panel import _select_all_by_clicking, panel  # noqa: F401 (fixture)
from ukan_studio.panels import generate as generate_module
from ukan_studio.panels.generated_samples import Sample


def _add_pairs(panel, count: int = 2) -> None:  # noqa: F811
    rng = np.random.default_rng(0)
    panel.gallery.add_samples([Sample(f"gen-1-{i:03d}", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                                      (rng.random((32, 32)) > 0.5).astype(np.uint8)) for i in range(count)])
    panel._update_enabled()


def _answer_question(qtbot, button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click `button` of the question box once it is up (a real click on the real dialog)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)
    QTimer.singleShot(20, click)


def test_the_bundled_generator_says_it_makes_synthetic_ultrasound(panel) -> None:  # noqa: F811
    refs = [panel.model_combo.itemData(i) for i in range(panel.model_combo.count())]
    bundled = [r for r in refs if str(r).startswith("ukan-synthetic-us-pairs")]
    if not bundled:
        pytest.skip("the bundled generator is not installed in this checkout")
    panel.model_combo.setCurrentIndex(refs.index(bundled[0]))
    assert panel.findChild(QLabel, "generatorDomain").text() == "synthetic ultrasound-like, 64×64"


def test_a_generator_file_shows_the_data_it_was_trained_on(panel, tmp_path: Path) -> None:  # noqa: F811
    from ukan_studio.panels.generator_info import generator_domain

    assert generator_domain({"data": "brain MRI slices, T1", "image_size": 128}) == "brain MRI slices, T1, 128×128"
    assert generator_domain({"command": "ukan train-generator mri/ --pairs"}).startswith("made with: ukan train")
    assert "does not say" in generator_domain({})


def test_save_never_starts_in_the_image_folder(panel, qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    images = tmp_path / "mri"
    images.mkdir()
    panel.set_folder(str(images))
    _add_pairs(panel, 1)
    _select_all_by_clicking(qtbot, panel)
    starts: list[str] = []
    out = tmp_path / "chosen"
    monkeypatch.setattr(generate_module, "choose_folder", lambda _p, _t, start: starts.append(start) or str(out))
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    from ukan_core.paths import user_data_dir

    assert starts[0] == str(user_data_dir() / "generated")
    assert starts[1] == str(out)                      # then the last folder used
    assert not any(images.iterdir())


def test_adding_pairs_asks_first_and_no_adds_nothing(panel, qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    training_set = tmp_path / "train"
    _add_pairs(panel)
    _select_all_by_clicking(qtbot, panel)
    monkeypatch.setattr(generate_module, "choose_folder", lambda *_args: str(training_set))
    seen: list[str] = []
    _answer_question(qtbot, QMessageBox.StandardButton.No, seen)
    qtbot.mouseClick(panel.add_pairs_button, Qt.MouseButton.LeftButton)
    assert seen and "trained on" in seen[0] and str(training_set) in seen[0]
    assert not training_set.exists()
    _answer_question(qtbot, QMessageBox.StandardButton.Yes, seen)
    qtbot.mouseClick(panel.add_pairs_button, Qt.MouseButton.LeftButton)
    assert len(list((training_set / "images").iterdir())) == 2
