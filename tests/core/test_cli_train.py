"""`ukan train`, `ukan finetune` and `ukan eval` from the command line, on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import write_pairs
from ukan_core.cli.main import main


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "my data", 10)


@pytest.mark.slow
def test_train_then_eval_then_finetune(data: Path, tmp_path: Path, capsys) -> None:
    from ukan_core.io.checkpoints import read_checkpoint_info

    out = tmp_path / "model.safetensors"
    code = main(["train", str(data), "--config", "ukan-s", "--epochs", "2", "--size", "64", "--batch-size", "4",
                 "--out", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "val IoU" in captured.out and f"saved {out}" in captured.out
    assert "epoch 2/2" in captured.err
    info = read_checkpoint_info(out)
    assert info["architecture"] == "ukan" and info["config"]["embed_dims"] == [64, 96, 128]
    assert info["name"] == "model"
    assert info["preprocessing"]["input_size"] == [64, 64]
    assert info["training"]["n_train"] == 8 and info["training"]["n_val"] == 2
    assert {"val_iou", "val_iou_mean", "val_f1", "val_f1_mean"} <= set(info["metrics"])

    csv_file = tmp_path / "scores.csv"
    code = main(["eval", str(data), "--model", str(out), "--json", "--csv", str(csv_file), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    scores = json.loads(captured.out.strip().splitlines()[-1])
    assert {"iou", "iou_mean", "f1", "n"} <= set(scores) and scores["n"] == 10
    assert 0.0 <= scores["iou"] <= 1.0
    assert len(csv_file.read_text().strip().splitlines()) == 11

    code = main(["finetune", str(data), "--from", str(out), "--max-steps", "2", "--name", "tuned", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "held-out corrections" in captured.out and "added to the model store: tuned/v0001" in captured.out


def test_train_without_out_adds_a_store_version_named_after_the_folder(data: Path, capsys) -> None:
    code = main(["train", str(data), "--config", "ukan-s", "--epochs", "1", "--size", "64", "--max-steps", "1",
                 "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "added to the model store: my-data/v0001" in captured.out


def test_bad_size_is_one_line_usage_error(data: Path, capsys) -> None:
    code = main(["train", str(data), "--size", "100", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: --size") and "\n" not in err


def test_empty_folder_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    code = main(["eval", str(tmp_path / "empty"), "--model", "whatever", "--json"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:")
