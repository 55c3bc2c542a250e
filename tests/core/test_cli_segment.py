"""`ukan segment`: a folder of good, broken and non-image files, one mask per good image, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core import image_factory
from ukan_core.cli.main import main
from ukan_core.io.checkpoints import save_checkpoint
from ukan_core.io.masks import read_mask
from ukan_core.models.registry import build_model
from ukan_core.preprocess import Preprocessing

REPO = Path(__file__).resolve().parents[2]



def save_tiny(path: Path, num_classes: int = 1) -> Path:
    torch.manual_seed(0)
    model = build_model("ukan", {"embed_dims": [16, 24, 32], "num_classes": num_classes}).eval()
    pre = Preprocessing(mode="standard", fit="resize", input_size=(64, 64))
    return save_checkpoint(model, path, {"preprocessing": pre, "name": "tiny"})


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("mixed")
    files = image_factory.write_mixed_folder(folder)
    (folder / "Thumbs.db").write_bytes(b"\x00" * 32)
    (folder / ".DS_Store").write_bytes(b"\x00" * 32)
    (folder / "subfolder").mkdir()
    (folder / "subfolder" / "hidden_away.png").write_bytes(b"not reached")
    return folder, files


def expected_mask_names(images: list[Path]) -> dict[str, str]:
    """<stem>.png; a stem seen before (in file-name order) gets its suffix: grey8.tif -> grey8_tif.png."""
    names, used = {}, set()
    for path in sorted(images, key=lambda p: p.name):
        stem = path.stem if path.stem.lower() not in used else f"{path.stem}_{path.suffix[1:].lower()}"
        used.add(stem.lower())
        names[path.name] = f"{stem}.png"
    return names


def test_mixed_folder_writes_one_mask_per_good_image(mixed_folder, tiny_checkpoint: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    folder, files = mixed_folder
    out = tmp_path / "masks"
    rc = main(["segment", str(folder), "--out", str(out), "--model", str(tiny_checkpoint), "--device", "cpu",
               "--batch-size", "3"])
    captured = capsys.readouterr()
    assert rc == 1

    error_lines = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err
    broken = {p.name for p in files["broken"]}
    assert len(error_lines) == len(broken)
    for name in broken:
        assert sum(line.startswith(f"error: {name}: ") for line in error_lines) == 1

    good = files["good"]
    expected = expected_mask_names(good)
    for path in good:
        mask = read_mask(out / expected[path.name])
        assert mask.shape == files["sizes"][path.name], path.name
        assert set(np.unique(mask)) <= {0, 255}
    assert sorted(p.name for p in out.iterdir()) == sorted(expected.values())
    skipped = len(files["other"]) + 3  # + Thumbs.db, .DS_Store, subfolder
    assert captured.out.strip().splitlines()[-1] == (
        f"segmented {len(good)} images, {len(broken)} failed, {skipped} skipped (not images) -> {out}"
    )


def test_all_good_images_exit_zero_and_files_can_be_listed(tiny_checkpoint: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    a = image_factory.write_png_rgb8(tmp_path / "in", "scan.png")
    b = image_factory.write_jpeg_rgb(tmp_path / "in", "scan.jpg")  # same stem: both masks kept
    notes = tmp_path / "in" / "notes.txt"
    notes.write_text("x")
    out = tmp_path / "out"
    rc = main(["segment", str(a), str(b), str(notes), "--out", str(out), "--model", str(tiny_checkpoint),
               "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.err == ""
    assert sorted(p.name for p in out.iterdir()) == ["scan.png", "scan_jpg.png"]
    assert "segmented 2 images, 0 failed, 1 skipped (not images)" in captured.out


def test_multi_class_masks_hold_label_values(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    checkpoint = save_tiny(tmp_path / "three.safetensors", num_classes=3)
    image = image_factory.write_png_rgb8(tmp_path / "in")
    rc = main(["segment", str(image), "--out", str(tmp_path / "out"), "--model", str(checkpoint),
               "--device", "cpu", "--threshold", "0.01"])
    assert rc == 0
    mask = read_mask(tmp_path / "out" / "rgb8.png")
    assert mask.shape == (image_factory.HEIGHT, image_factory.WIDTH)
    assert set(np.unique(mask)) <= {0, 1, 2, 3}


def test_usage_errors_exit_two(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    image = image_factory.write_png_rgb8(tmp_path / "in")
    assert main(["segment", "--out", str(tmp_path / "o"), "--model", str(tiny_checkpoint)]) == 2
    assert capsys.readouterr().err.startswith("error: no inputs")

    assert main(["segment", str(image), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "no.pth")]) == 2
    assert capsys.readouterr().err.strip() == "error: no.pth: file not found"

    assert main(["segment", str(image), "--out", str(tmp_path / "o"), "--model", "nonesuch"]) == 2
    assert "unknown model 'nonesuch'" in capsys.readouterr().err

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["segment", str(empty), "--out", str(tmp_path / "o"), "--model", str(tiny_checkpoint)]) == 2
    assert "no images found" in capsys.readouterr().err

    assert main(["segment", str(image.parent), "--out", str(image.parent), "--model", str(tiny_checkpoint)]) == 2
    assert "overwrite input images" in capsys.readouterr().err


def test_without_a_bundled_model_the_default_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import store

    monkeypatch.setattr(store, "bundled_models_dir", lambda: tmp_path / "no_models_here")
    image = image_factory.write_png_rgb8(tmp_path / "in")
    assert main(["segment", str(image), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "error: no bundled model found; pass --model NAME_OR_PATH"


def test_missing_inputs_are_reported_and_counted(tiny_checkpoint: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    image = image_factory.write_png_rgb8(tmp_path / "in")
    rc = main(["segment", str(image), str(tmp_path / "ghost.png"), "--out", str(tmp_path / "o"),
               "--model", str(tiny_checkpoint), "--device", "cpu"])
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.err.strip() == "error: ghost.png: file not found"
    assert "segmented 1 image, 1 failed" in captured.out


def test_the_real_command_returns_the_exit_code(mixed_folder, tiny_checkpoint: Path, tmp_path: Path) -> None:
    folder, files = mixed_folder
    out = tmp_path / "masks"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "ukan_core", "segment", str(folder), "--out", str(out),
         "--model", str(tiny_checkpoint), "--device", "cpu"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error: ")]) == len(files["broken"])
    assert len(list(out.glob("*.png"))) == len(files["good"])


def test_an_out_folder_that_cannot_be_made_is_one_line_exit_two(tiny_checkpoint: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    image_factory.write_png_rgb8(tmp_path / "in")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["segment", str(tmp_path / "in"), "--out", str(blocker / "masks"), "--model", str(tiny_checkpoint)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "cannot create the --out folder" in err and "\n" not in err
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="a read-only folder binds only non-root")
def test_a_read_only_parent_of_out_is_one_line_exit_two(tiny_checkpoint: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    image_factory.write_png_rgb8(tmp_path / "in")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code = main(["segment", str(tmp_path / "in"), "--out", str(locked / "masks"), "--model", str(tiny_checkpoint)])
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot create the --out folder (Permission denied)" in err and "\n" not in err
