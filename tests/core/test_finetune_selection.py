"""`ukan finetune` and `ukan train` outputs: the core decides the selection, every run adds a version,
names are checked before any work, the ETA keeps to the budget, and a full disk never loses the model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import SIZE, preprocessing, tiny_model, write_pairs
from ukan_core.cli.main import main
from ukan_core.store import ModelStore
from ukan_core.training import finetune as finetune_module

NO_SPACE = "Error while serializing: I/O error: No space left on device (os error 28)"  # what safetensors says


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "corrections", 5)


@pytest.fixture()
def store() -> ModelStore:
    """The user's store (in the test's own UKAN_STUDIO_HOME) holding liver/v0001, selected."""
    store = ModelStore()
    store.add_version("liver", tiny_model(), {"preprocessing": preprocessing().to_dict()})
    assert store.selected("liver") == "v0001"
    return store


def base_scores(monkeypatch: pytest.MonkeyPatch, iou: float) -> None:
    """Fix the base model's held-out scores, so that the fine-tune's verdict is known in advance."""
    scores = {"iou": iou, "iou_mean": iou, "f1": iou, "f1_mean": iou, "n": 1}
    monkeypatch.setattr(finetune_module, "_score", lambda *args, **kwargs: dict(scores))


def finetune_cli(data: Path, *extra: str) -> list[str]:
    return ["finetune", str(data), "--from", "liver/v0001", "--max-steps", "1", "--device", "cpu", *extra]


def test_a_finetune_that_does_not_improve_adds_a_version_and_leaves_the_base_selected(
        data: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    base_scores(monkeypatch, 1.0)  # a perfect base: nothing can beat it
    assert main(finetune_cli(data)) == 0
    out = capsys.readouterr().out
    assert "No clear gain — kept the previous model" in out and "added to the model store: liver/v0002" in out
    assert "not selected: keep using liver/v0001" in out
    assert [v.version for v in store.versions("liver")] == ["v0001", "v0002"]
    assert store.selected("liver") == "v0001"


def test_a_finetune_that_improves_is_selected(data: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    base_scores(monkeypatch, -1.0)  # below any IoU: the new model is better
    assert main(finetune_cli(data)) == 0
    assert "selected liver/v0002" in capsys.readouterr().out
    assert store.selected("liver") == "v0002"


def test_not_selected_over_a_bundled_base_keeps_the_bundled_version(data: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A first store version of a bundled model's name must not become selected as "the newest"."""
    from ukan_core import store as store_module
    from ukan_core.io.checkpoints import save_checkpoint

    bundled = tmp_path / "bundled"
    save_checkpoint(tiny_model(), bundled / "demo.safetensors", {"preprocessing": preprocessing().to_dict()})
    monkeypatch.setattr(store_module, "bundled_models_dir", lambda: bundled)
    base_scores(monkeypatch, 1.0)
    report = finetune_module.finetune("demo", list(_pairs(data)), recipe=_quick(), device="cpu")
    assert not report.selected and report.version.ref == "demo/v0001"
    assert ModelStore().selected("demo") == "bundled"


def test_finetune_with_out_writes_the_file_and_adds_a_store_version(data: Path, store: ModelStore, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture) -> None:
    from ukan_core.io.checkpoints import read_checkpoint_info

    base_scores(monkeypatch, 1.0)
    out = tmp_path / "tuned.safetensors"
    assert main(finetune_cli(data, "--out", str(out))) == 0
    printed = capsys.readouterr().out
    assert f"saved {out}" in printed and "added to the model store: liver/v0002" in printed
    assert read_checkpoint_info(out)["parent"] == "liver/v0001"
    assert [v.version for v in store.versions("liver")] == ["v0001", "v0002"]


@pytest.mark.parametrize("command", ["train", "finetune"])
def test_a_bad_name_is_refused_before_any_training(command: str, data: Path, store: ModelStore,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    from ukan_core.training import trainer

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("training started although the name is invalid")

    monkeypatch.setattr(trainer, "fit", never)
    args = finetune_cli(data) if command == "finetune" else ["train", str(data), "--config", "ukan-s", "--size", "64"]
    assert main([*args, "--name", "my model!"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 'my model!': a model name") and "\n" not in err


def test_the_finetune_eta_keeps_to_the_budget(data: Path) -> None:
    etas: list[float] = []

    def on_progress(p: Any) -> None:
        if p.extra.get("eta_s") is not None:
            etas.append(p.extra["eta_s"])

    budget = 2.0
    finetune_module.finetune(str(_base_file(data.parent)), _pairs(data), recipe=_quick(max_steps=100_000),
                             budget_s=budget, progress=on_progress, device="cpu", save=False)
    assert etas and max(etas) <= budget, etas


# -- a full disk -------------------------------------------------------------------------------
def fill_disk_under(monkeypatch: pytest.MonkeyPatch, full: Path, system_temp: Path) -> None:
    """Writes of checkpoints under `full` fail as safetensors fails on a full disk; others succeed.
    The system temp dir becomes `system_temp`."""
    import safetensors.torch
    from safetensors import SafetensorError

    real = safetensors.torch.save_file

    def save_file(tensors: Any, filename: str, metadata: Any = None) -> None:
        if Path(filename).resolve().is_relative_to(full.resolve()):
            raise SafetensorError(NO_SPACE)
        real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))


@pytest.mark.parametrize("command", ["train", "finetune"])
def test_a_full_disk_saves_the_trained_model_elsewhere_and_says_where(
        command: str, data: Path, store: ModelStore, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture, tmp_path_factory: pytest.TempPathFactory) -> None:
    from ukan_core.model_refs import load_model_with_info

    system_temp = tmp_path_factory.mktemp("system-temp")
    fill_disk_under(monkeypatch, store.root, system_temp)
    args = (finetune_cli(data) if command == "finetune"
            else ["train", str(data), "--config", "ukan-s", "--size", "64", "--max-steps", "1", "--device", "cpu"])
    assert main([*args, "--name", "liver"]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    err = err.splitlines()[-1]  # after the progress lines
    assert err.startswith(f"error: {store.root / 'liver'}: not saved (No space left on device); "
                          f"the trained model is safe in "), err
    rescued = Path(err.split("safe in ", 1)[1].split(" (free about", 1)[0])
    assert rescued.parent == system_temp / "ukan-rescued-models"
    model, info = load_model_with_info(rescued)
    # a fine-tune's kept model trains for as many passes over all pairs as its 2 folds did (1 step) over half
    assert info["name"] == "liver" and info["training"]["steps"] == (1 if command == "train" else 2)
    assert "free about" in err and str(store.root / "liver") in err
    assert [v.version for v in store.versions("liver")] == ["v0001"]  # no half version left behind
    assert not list((store.root / "liver").glob("*.partial"))


def test_a_full_store_after_a_written_out_file_points_at_the_file(data: Path, store: ModelStore, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture) -> None:
    from ukan_core.io.checkpoints import read_checkpoint_info

    fill_disk_under(monkeypatch, store.root, tmp_path / "system-temp")
    out = tmp_path / "tuned.safetensors"
    assert main([*finetune_cli(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {store.root / 'liver'}: not saved (No space left on device); "
                          f"the trained model is in {out} (free about "), err
    assert read_checkpoint_info(out)["parent"] == "liver/v0001"
    assert not (tmp_path / "system-temp").exists()  # nothing needed rescuing


def test_a_full_disk_everywhere_says_so_in_one_line(data: Path, store: ModelStore, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    # the store, the temp dir and the user data dir are all full
    fill_disk_under(monkeypatch, Path(tmp_path.anchor), tmp_path / "system-temp")
    assert main([*finetune_cli(data), "--out", str(tmp_path / "out.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    err = err.splitlines()[-1]
    assert err.startswith(f"error: {tmp_path / 'out.safetensors'}: not saved (No space left on device)"), err
    assert "no other place had room" in err and "free some space" in err, err


# -- helpers -----------------------------------------------------------------------------------
def _pairs(folder: Path) -> list:
    from ukan_core.data.folders import scan_labelled_folder

    return list(scan_labelled_folder(folder))


def _base_file(folder: Path) -> Path:
    from ukan_core.io.checkpoints import save_checkpoint

    return save_checkpoint(tiny_model(), folder / "base.safetensors", {"preprocessing": preprocessing().to_dict()})


def _quick(**changes: Any) -> Any:
    import dataclasses

    from ukan_core.training.recipes import FINETUNE

    return dataclasses.replace(FINETUNE, input_size=(SIZE, SIZE), **{"max_steps": 1, **changes})
