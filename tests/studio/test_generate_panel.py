"""Generate panel: train a tiny generator on a folder, generate with a chosen sampler, steps and
seed, watch the preview, save the selected images; pairs go to a training set in the official layout."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Slot

from tests.studio.conftest import synthetic_scan
from ukan_studio.panels import generate as generate_module
from ukan_studio.panels import train_generator_box as train_box_module
from ukan_studio.panels.generate import SAMPLER_STEPS, GeneratePanel
from ukan_studio.workers.base import WorkerRunner
from ukan_studio.workers.generate import GenerateWorker, TrainGeneratorWorker

TINY = {"ch": 32, "ch_mult": [1, 1], "num_res_blocks": 1, "embed_dims": [32, 64, 96]}


class Host(QObject):
    """Does what the main window does with the panel's intents (a tiny model size for the test)."""

    def __init__(self, panel: GeneratePanel) -> None:
        super().__init__()
        self.panel, self.runner = panel, WorkerRunner()
        self.requests: list[object] = []
        panel.generate_requested.connect(self.on_generate_requested)
        panel.train_requested.connect(self.on_train_requested)

    @Slot(object)
    def on_generate_requested(self, request: object) -> None:
        self.requests.append(request)
        worker = GenerateWorker(replace(request, device="cpu"))
        self.panel.attach(worker)
        self.runner.start("generate", worker)

    @Slot(object)
    def on_train_requested(self, request: object) -> None:
        self.requests.append(request)
        worker = TrainGeneratorWorker(replace(request, device="cpu", config=TINY, image_size=32, batch_size=4))
        self.panel.attach_training(worker)
        self.runner.start("train_generator", worker)

    def wait(self, qtbot, kind: str) -> None:
        qtbot.waitUntil(lambda: not self.runner.is_busy(kind), timeout=60_000)
        qtbot.wait(20)   # the panel's finished slot runs after the result


@pytest.fixture
def panel(qtbot) -> GeneratePanel:
    widget = GeneratePanel()
    qtbot.addWidget(widget)
    widget.resize(480, 900)
    widget.show()
    return widget


@pytest.fixture(scope="module")
def tiny_pairs_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny image + mask Diffusion U-KAN (random weights) in a .safetensors file."""
    import torch

    from ukan_core.io.checkpoints import save_checkpoint
    from ukan_core.models.registry import build_model

    torch.manual_seed(0)
    model = build_model("diffusion_ukan", {**TINY, "image_size": 32, "in_channels": 4})
    path = tmp_path_factory.mktemp("generators") / "tiny-pairs.safetensors"
    save_checkpoint(model, path, {"name": "tiny-pairs", "pairs": True})
    return path


def _choose(monkeypatch, name: str, *answers: Path, module: object = generate_module) -> None:
    """Make `module.name` (a file dialog) answer `answers` in turn."""
    queue = iter(str(a) for a in answers)
    monkeypatch.setattr(module, name, lambda *args: next(queue))


def _select_all_by_clicking(qtbot, panel: GeneratePanel) -> None:
    viewport = panel.gallery.viewport()
    for row in range(panel.gallery.count()):
        rect = panel.gallery.visualItemRect(panel.gallery.item(row))
        modifier = Qt.KeyboardModifier.NoModifier if row == 0 else Qt.KeyboardModifier.ControlModifier
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, modifier, rect.center())


def test_train_on_a_folder_then_generate_and_save(qtbot, panel, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"case{i}.png"), synthetic_scan(i, 40, 48)[0])
    host = Host(panel)
    panel.set_folder(str(folder))
    assert panel.current_generator().startswith("ukan-synthetic-us-pairs/"), "the bundled generator is offered"
    assert panel.generate_button.isEnabled()

    box = panel.train_box
    box.train_name.setText("tiny-gen")
    box.train_steps.setValue(2)
    _choose(monkeypatch, "choose_folder", folder, module=train_box_module)
    qtbot.mouseClick(box.train_button, Qt.MouseButton.LeftButton)
    assert host.requests[-1].folder == folder and host.requests[-1].steps == 2 and not host.requests[-1].pairs
    host.wait(qtbot, "train_generator")
    assert "tiny-gen/v0001" in box.train_status.text(), box.train_status.text()
    assert panel.current_generator() == "tiny-gen/v0001" and panel.generate_button.isEnabled()

    panel.count.setValue(2)
    for name in ("dpmpp2m", "ddim"):   # choosing a sampler brings its own step count
        panel.sampler.setCurrentIndex(panel.sampler.findData(name))
        assert panel.steps.value() == SAMPLER_STEPS[name]
    panel.steps.setValue(3)
    panel.random_seed.setChecked(False)
    panel.seed.setValue(7)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert not panel.generate_button.isEnabled() and panel.cancel_button.isEnabled()
    host.wait(qtbot, "generate")
    assert panel.gallery.count() == 2, panel.status.text()
    assert panel.previews >= 1 and not panel.preview.pixmap().isNull()
    assert "seed 7" in panel.status.text() and panel.generate_button.isEnabled()
    assert not panel.save_button.isEnabled(), "nothing selected yet"

    _select_all_by_clicking(qtbot, panel)
    assert len(panel.selected_samples()) == 2
    assert panel.save_button.isEnabled() and not panel.add_pairs_button.isEnabled(), "no masks to add"
    out = tmp_path / "kept"
    _choose(monkeypatch, "choose_folder", out)
    qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    for index, sample in enumerate(panel.samples):
        written = cv2.imread(str(out / f"gen-7-{index:03d}.png"))
        assert written is not None and written.shape == (32, 32, 3)
        np.testing.assert_array_equal(written[:, :, ::-1], sample.image)


def test_pairs_go_to_a_training_set_in_the_official_layout(qtbot, panel, tiny_pairs_generator, tmp_path,
                                                            monkeypatch) -> None:
    from ukan_core.data.folders import scan_labelled_folder

    host = Host(panel)
    _choose(monkeypatch, "choose_model_file", tiny_pairs_generator)
    qtbot.mouseClick(panel.add_file_button, Qt.MouseButton.LeftButton)
    assert panel.current_generator() == str(tiny_pairs_generator)
    panel.count.setValue(2)
    panel.steps.setValue(3)
    panel.random_seed.setChecked(False)
    panel.seed.setValue(5)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    host.wait(qtbot, "generate")
    assert panel.gallery.count() == 2 and all(s.mask is not None for s in panel.samples), panel.status.text()
    assert "pairs" in panel.status.text()

    _select_all_by_clicking(qtbot, panel)
    assert panel.add_pairs_button.isEnabled()
    training_set = tmp_path / "train"
    _choose(monkeypatch, "choose_folder", training_set, training_set)
    monkeypatch.setattr(generate_module.generator_info, "confirm_add_pairs", lambda *args: True)   # "Yes"
    qtbot.mouseClick(panel.add_pairs_button, Qt.MouseButton.LeftButton)
    for index, sample in enumerate(panel.samples):
        mask = cv2.imread(str(training_set / "masks" / "0" / f"gen-5-{index:03d}.png"), cv2.IMREAD_UNCHANGED)
        assert mask is not None and mask.shape == (32, 32) and set(np.unique(mask)) <= {0, 255}
        np.testing.assert_array_equal(mask > 0, sample.mask > 0)
        assert (training_set / "images" / f"gen-5-{index:03d}.png").is_file()
    assert len(scan_labelled_folder(training_set)) == 2
    qtbot.mouseClick(panel.add_pairs_button, Qt.MouseButton.LeftButton)   # again: new names, nothing overwritten
    assert (training_set / "images" / "gen-5-000-2.png").is_file()
    assert len(scan_labelled_folder(training_set)) == 4


def test_cancel_keeps_the_gallery_unchanged(qtbot, panel, tiny_pairs_generator) -> None:
    host = Host(panel)
    panel.add_generator_file(tiny_pairs_generator)
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddpm"))
    assert panel.steps.value() == 1000
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    host.wait(qtbot, "generate")
    assert panel.gallery.count() == 0 and "cancelled" in panel.status.text()
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_training_on_a_folder_without_images_fails_in_one_line(qtbot, panel, tmp_path, monkeypatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    host = Host(panel)
    box = panel.train_box
    _choose(monkeypatch, "choose_folder", empty, module=train_box_module)
    qtbot.mouseClick(box.train_button, Qt.MouseButton.LeftButton)
    host.wait(qtbot, "train_generator")
    assert "empty" in box.train_status.text() and "\n" not in box.train_status.text()
    assert box.train_button.isEnabled()


def test_the_train_request_starts_in_the_open_folder_and_can_continue_the_chosen_generator(
        qtbot, panel, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    panel.set_folder(str(folder))
    starts: list[str] = []

    def answer(parent: object, title: str, start: str) -> str:
        starts.append(start)
        return str(folder)

    monkeypatch.setattr(train_box_module, "choose_folder", answer)
    box = panel.train_box
    with qtbot.waitSignal(panel.train_requested, timeout=1000) as fresh:
        qtbot.mouseClick(box.train_button, Qt.MouseButton.LeftButton)
    request = fresh.args[0]
    assert starts == [str(folder)]
    assert (request.folder, request.name, request.base, request.preset) == (folder, "generator", None, "small")
    assert request.budget_s == pytest.approx(600.0) and request.steps == 2000 and not request.pairs

    box.train_continue.setChecked(True)
    box.train_pairs.setChecked(True)
    with qtbot.waitSignal(panel.train_requested, timeout=1000) as continued:
        qtbot.mouseClick(box.train_button, Qt.MouseButton.LeftButton)
    assert continued.args[0].base == panel.current_generator() != "" and continued.args[0].pairs


def test_the_offered_generator_sizes_are_the_core_registrys(panel) -> None:
    from ukan_core.models.registry import GENERATOR_PRESETS

    box = panel.train_box
    assert [box.train_size.itemData(i) for i in range(box.train_size.count())] == list(GENERATOR_PRESETS)


def test_the_offered_samplers_are_the_cores() -> None:
    from ukan_core.diffusion.samplers import SAMPLERS

    assert {name: cls.default_steps for name, cls in SAMPLERS.items()} == SAMPLER_STEPS


def test_a_generator_brings_its_recommended_sampler(qtbot, panel, tiny_pairs_generator, tmp_path) -> None:
    from ukan_core.io.checkpoints import load_checkpoint, read_checkpoint_info, save_checkpoint

    recommended = panel._choices[panel.model_combo.currentIndex()].metadata["recommended_sampler"]
    assert panel.sampler.currentData() == recommended["sampler"]
    assert panel.steps.value() == recommended["steps"] and panel.eta.value() == pytest.approx(recommended["eta"])
    assert panel.eta.isEnabled() == (recommended["sampler"] == "ddim")

    panel.steps.setValue(7)
    panel.add_generator_file(tiny_pairs_generator)   # no recommendation: the user's settings stay
    assert panel.sampler.currentData() == recommended["sampler"] and panel.steps.value() == 7

    model, info = load_checkpoint(tiny_pairs_generator)
    fast = tmp_path / "fast.safetensors"
    save_checkpoint(model, fast, {**info, "recommended_sampler": {"sampler": "dpmpp2m", "steps": 12}})
    assert read_checkpoint_info(fast)["recommended_sampler"]["steps"] == 12
    panel.add_generator_file(fast)
    assert panel.sampler.currentData() == "dpmpp2m" and panel.steps.value() == 12 and not panel.eta.isEnabled()
    panel.refresh_generators()                        # the same generator again: no reset of the settings
    panel.steps.setValue(9)
    panel.refresh_generators()
    assert panel.steps.value() == 9

    panel.model_combo.setCurrentIndex(panel.model_combo.findData(str(tiny_pairs_generator)))
    panel.sampler.setCurrentIndex(panel.sampler.findData("ddim"))
    panel.eta.setValue(0.5)
    panel.random_seed.setChecked(False)
    request = panel.make_request()
    assert (request.sampler, request.eta, request.model) == ("ddim", 0.5, str(tiny_pairs_generator))


def test_the_worker_samples_with_the_requested_eta(tiny_pairs_generator) -> None:
    from ukan_studio.workers.generate import GenerateRequest

    def images(eta: float) -> np.ndarray:
        request = GenerateRequest(model=str(tiny_pairs_generator), count=1, sampler="ddim", steps=3, seed=3,
                                  eta=eta, device="cpu")
        return GenerateWorker(request).run().images

    np.testing.assert_array_equal(images(1.0), images(1.0))
    assert not np.array_equal(images(0.0), images(1.0)), "η must reach the DDIM sampler"
