"""Each project folder has its own model: a lineage name, a model record in its index, and retrains into it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import preprocessing, tiny_model, write_pairs
from ukan_core.annotation.store import AnnotationStore
from ukan_core.cli.main import main
from ukan_core.lineage import folder_model, lineage_display, project_lineage
from ukan_core.store import ModelStore, check_model_name
from ukan_core.training import finetune as finetune_module


def test_a_lineage_is_named_after_the_folder_and_its_path(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "MRI brain", tmp_path / "two" / "MRI brain"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    name_a, name_b = project_lineage(a), project_lineage(b)
    assert name_a.startswith("MRI-brain-") and len(name_a) == len("MRI-brain-") + 4
    assert name_a != name_b and check_model_name(name_a) == name_a
    assert project_lineage(a / ".." / "MRI brain") == name_a
    assert lineage_display(name_a, "v0001") == "MRI-brain v1"
    assert lineage_display(f"{name_a}/v0012") == "MRI-brain v12"
    assert lineage_display("ukan-synthetic-us", "bundled") == "ukan-synthetic-us bundled"
    long = tmp_path / ("x" * 200)
    long.mkdir()
    assert check_model_name(project_lineage(long))


def test_the_model_record_is_saved_in_the_index_and_survives_reopening(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    store = AnnotationStore.open(folder, writer=True)
    assert store.model_ref is None and folder_model(folder) is None
    store.save_mask("a.png", np.zeros((4, 4), np.uint8), "corrected")
    store.set_model_ref("scans-1234/v0002")
    store.close()
    document = json.loads((folder / ".ukan-studio" / "annotations.json").read_text())
    assert document["model"] == "scans-1234/v0002" and "a.png" in document["images"]
    assert folder_model(folder) == "scans-1234/v0002"
    reopened = AnnotationStore.open(folder, writer=True)
    reopened.save_mask("b.png", np.zeros((4, 4), np.uint8), "corrected")   # other saves keep the record
    reopened.set_model_ref(None)
    reopened.close()
    assert folder_model(folder) is None
    assert "model" not in json.loads((folder / ".ukan-studio" / "annotations.json").read_text())


def _studio_folder(tmp_path: Path, n: int) -> Path:
    """A folder of images whose masks the user corrected in the Studio."""
    source = write_pairs(tmp_path / "source", n)
    folder = tmp_path / "mri brain"
    folder.mkdir()
    store = AnnotationStore.open(folder, writer=True)
    import cv2

    for image in sorted((source / "images").iterdir()):
        shutil.copy(image, folder / image.name)
        mask = (cv2.imread(str(source / "masks" / "0" / image.name), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
        store.save_mask(image.name, mask, "corrected")
    store.close()
    return folder


@pytest.mark.parametrize("gain", [True, False])
def test_finetune_on_a_studio_folder_extends_its_own_lineage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture, gain: bool) -> None:
    store = ModelStore()
    store.add_version("liver", tiny_model(), {"preprocessing": preprocessing().to_dict()})
    folder = _studio_folder(tmp_path, 4)
    AnnotationStore.open(folder).set_model_ref("liver/v0001")   # the folder's model so far
    iou = -1.0 if gain else 1.0
    monkeypatch.setattr(finetune_module, "_score", lambda *a, **k: {"iou": iou, "iou_mean": iou, "f1": iou,
                                                                    "f1_mean": iou, "n": 1})
    assert main(["finetune", str(folder), "--max-steps", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lineage = project_lineage(folder)
    assert [v.version for v in store.versions(lineage)] == ["v0001"]
    version = store.version_info(lineage, "v0001")
    assert version.metadata["parent"] == "liver/v0001"      # started from the folder's own model
    if gain:
        assert folder_model(folder) == f"{lineage}/v0001" and "now uses mri-brain v1" in out
    else:
        assert folder_model(folder) == "liver/v0001" and "No clear gain" in out
    assert store.selected("liver") == "v0001"               # the other project's model is untouched


def test_from_still_chooses_the_base_of_a_studio_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ModelStore()
    for name in ("liver", "kidney"):
        store.add_version(name, tiny_model(), {"preprocessing": preprocessing().to_dict()})
    folder = _studio_folder(tmp_path, 3)
    AnnotationStore.open(folder).set_model_ref("liver/v0001")
    monkeypatch.setattr(finetune_module, "_score", lambda *a, **k: {"iou": 1.0, "iou_mean": 1.0, "f1": 1.0,
                                                                    "f1_mean": 1.0, "n": 1})
    assert main(["finetune", str(folder), "--from", "kidney/v0001", "--max-steps", "1", "--device", "cpu"]) == 0
    assert store.version_info(project_lineage(folder), "v0001").metadata["parent"] == "kidney/v0001"
    assert folder_model(folder) == "liver/v0001"              # no clear gain: the folder keeps its model
