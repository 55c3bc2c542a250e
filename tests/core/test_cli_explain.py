"""`ukan explain IMAGE --out DIR`: heatmaps, aggregates and scores.csv from a tiny checkpoint."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ukan_core.cli.main import main
from ukan_core.models.ukan import UKAN

COLUMNS = ["layer", "channel", "plausibility_iou", "best_iou", "threshold", "reference"]



@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ukan_core.io.checkpoints import save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_checkpoint(UKAN(embed_dims=(16, 24, 32)), path, {
        "name": "tiny", "preprocessing": {"mode": "standard", "fit": "resize", "input_size": [64, 64]},
    })
    return path


@pytest.fixture()
def scan(tmp_path: Path) -> tuple[Path, Path]:
    """A 48x80 RGB image and its lesion mask (0/255)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    rgb = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype(np.uint8)
    mask = np.zeros((48, 80), np.uint8)
    mask[10:30, 20:50] = 255
    Image.fromarray(rgb).save(folder / "case1.png")
    Image.fromarray(mask).save(tmp_path / "case1_mask.png")
    return folder / "case1.png", tmp_path / "case1_mask.png"


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "scores.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_explain_writes_heatmaps_aggregates_and_scores(checkpoint, scan, tmp_path, capsys):
    image, mask = scan
    out = tmp_path / "explained"
    rc = main(["explain", str(image), "--mask", str(mask), "--model", str(checkpoint), "--top", "3",
               "--out", str(out)])
    assert rc == 0
    rows = _rows(out)
    assert len(rows) == 16  # one row per channel of dblock2.0 (E0 = 16)
    assert {r["layer"] for r in rows} == {"dblock2.0"} and {r["reference"] for r in rows} == {"ground_truth"}
    assert sorted(int(r["channel"]) for r in rows) == list(range(16))
    pious = [float(r["plausibility_iou"]) for r in rows]
    assert pious == sorted(pious, reverse=True)
    assert all(0.0 <= float(r["best_iou"]) <= 1.0 and 0.0 < float(r["threshold"]) < 1.0 for r in rows)
    assert all(float(r["best_iou"]) >= float(r["plausibility_iou"]) - 1e-9 for r in rows)
    pngs = sorted(p.name for p in out.glob("*.png"))
    tops = [f"dblock2.0_top{k}_ch{int(rows[k - 1]['channel']):03d}.png" for k in (1, 2, 3)]
    assert pngs == sorted(tops + ["dblock2.0_aggregate_max.png", "dblock2.0_aggregate_mean.png",
                                  "dblock2.0_aggregate_top3.png"])
    with Image.open(out / tops[0]) as im:
        assert im.size == (80, 48) and im.mode == "RGB"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # atomic writes leave no temporaries
    text = capsys.readouterr().out
    assert "reference: ground_truth" in text and "dblock2.0: best channel" in text


def test_several_layers(checkpoint, scan, tmp_path):
    image, mask = scan
    out = tmp_path / "out"
    rc = main(["explain", str(image), "--mask", str(mask), "--model", str(checkpoint), "--layer", "block1.fc2",
               "--layer", "block2", "--top", "1", "--out", str(out)])
    assert rc == 0
    rows = _rows(out)
    assert [r["layer"] for r in rows] == ["block1.0.layer.fc2"] * 24 + ["block2.0"] * 32
    assert (out / f"block1.0.layer.fc2_top1_ch{int(rows[0]['channel']):03d}.png").is_file()


def test_splines_plot_the_chosen_kan_layer(checkpoint, scan, tmp_path):
    image, _ = scan
    out = tmp_path / "splines"
    assert main(["explain", str(image), "--model", str(checkpoint), "--layer", "dblock2.fc3", "--top", "1",
                 "--splines", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*_splines.png")) == ["dblock2.0.layer.fc3_splines.png"]


def test_all_layers(checkpoint, scan, tmp_path):
    image, _ = scan
    out = tmp_path / "all"
    assert main(["explain", str(image), "--model", str(checkpoint), "--layer", "all", "--top", "1",
                 "--out", str(out)]) == 0
    rows = _rows(out)
    assert len({r["layer"] for r in rows}) == 16
    assert len(rows) == 8 * 24 + 4 * 32 + 4 * 16  # 4 layers (fc1..3 + block) per block
    assert {r["reference"] for r in rows} == {"predicted"}


def test_corrected_mask_from_the_studio_store_is_the_reference(checkpoint, scan, tmp_path):
    from ukan_core.annotation import AnnotationStore

    image, _ = scan
    corrected = np.zeros((48, 80), np.uint8)
    corrected[5:20, 5:30] = 1
    AnnotationStore.open(image.parent).save_mask(image.name, corrected, "corrected")
    out = tmp_path / "corr"
    assert main(["explain", str(image), "--model", str(checkpoint), "--out", str(out), "--top", "1"]) == 0
    assert {r["reference"] for r in _rows(out)} == {"corrected"}


def test_a_predicted_mask_in_the_store_is_not_a_correction(checkpoint, scan, tmp_path):
    from ukan_core.annotation import AnnotationStore

    image, _ = scan
    AnnotationStore.open(image.parent).save_mask(image.name, np.ones((48, 80), np.uint8), "predicted")
    out = tmp_path / "pred"
    assert main(["explain", str(image), "--model", str(checkpoint), "--out", str(out), "--top", "1"]) == 0
    assert {r["reference"] for r in _rows(out)} == {"predicted"}


def test_no_store_is_created_just_to_look(checkpoint, scan, tmp_path):
    image, _ = scan
    assert main(["explain", str(image), "--model", str(checkpoint), "--out", str(tmp_path / "o"), "--top", "1"]) == 0
    assert not (image.parent / ".ukan-studio").exists()


@pytest.mark.parametrize("extra, message", [
    (["--top", "0"], "--top"),
    (["--threshold", "0"], "--threshold"),
    (["--layer", "encoder1"], "unknown layer"),
    (["--model", "no-such-model"], "unknown model"),
])
def test_usage_errors_exit_2_with_one_line(checkpoint, scan, tmp_path, capsys, extra, message):
    image, _ = scan
    args = ["explain", str(image), "--out", str(tmp_path / "o")]
    if "--model" not in extra:
        args += ["--model", str(checkpoint)]
    assert main(args + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_missing_image_and_mismatched_mask(checkpoint, scan, tmp_path, capsys):
    image, _ = scan
    assert main(["explain", str(tmp_path / "nope.png"), "--model", str(checkpoint), "--out", str(tmp_path / "o")]) == 2
    assert "nope.png: file not found" in capsys.readouterr().err
    small = tmp_path / "small_mask.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(small)
    assert main(["explain", str(image), "--mask", str(small), "--model", str(checkpoint),
                 "--out", str(tmp_path / "o")]) == 2
    assert "small_mask.png: mask is 10x10 but case1.png is 80x48" in capsys.readouterr().err


def test_without_a_bundled_model_asks_for_one(scan, tmp_path, capsys, monkeypatch):
    import ukan_core.model_refs as model_refs

    monkeypatch.setattr(model_refs, "DEFAULT_MODEL", "definitely-not-bundled")
    image, _ = scan
    assert main(["explain", str(image), "--out", str(tmp_path / "o")]) == 2
    assert "--model" in capsys.readouterr().err


def test_compare_mlp_writes_both_rankings_side_by_side(checkpoint, scan, tmp_path, capsys):
    from ukan_core.io.checkpoints import save_checkpoint

    torch.manual_seed(1)
    mlp_path = tmp_path / "tiny-mlp.safetensors"
    save_checkpoint(UKAN(embed_dims=(16, 24, 32), no_kan=True), mlp_path, {
        "name": "tiny-mlp", "preprocessing": {"mode": "standard", "fit": "resize", "input_size": [64, 64]},
    })
    image, mask = scan
    out = tmp_path / "cmp"
    code = main(["explain", str(image), "--mask", str(mask), "--model", str(checkpoint), "--compare-mlp",
                 str(mlp_path), "--layer", "dblock2", "--top", "3", "--out", str(out)])
    assert code == 0
    with (out / "comparison.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["layer", "rank", "kan_channel", "kan_piou", "kan_best_iou", "mlp_channel", "mlp_piou",
                             "mlp_best_iou", "reference"]
    assert len(rows) == 16 and {r["reference"] for r in rows} == {"ground_truth"}  # dblock2 has E0 = 16 channels
    kan = [float(r["kan_piou"]) for r in rows]
    assert kan == sorted(kan, reverse=True)
    assert "KAN vs MLP" in capsys.readouterr().out
    assert main(["explain", str(image), "--model", str(checkpoint), "--compare-mlp", str(checkpoint),
                 "--out", str(tmp_path / "bad")]) == 2
