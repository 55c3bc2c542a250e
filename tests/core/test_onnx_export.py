"""`ukan models export ... FILE.onnx` and `ukan segment --model FILE.onnx`: ONNX Runtime equals torch."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ukan_core.cli.main import main
from ukan_core.inference import Segmenter
from ukan_core.io.masks import read_mask
from ukan_core.models.registry import build_model
from ukan_core.onnx_support import missing_onnx_packages
from ukan_core.preprocess import Preprocessing
from ukan_core.store import ModelStore

needs_onnx = pytest.mark.skipif(bool(missing_onnx_packages(export=True)),
                                reason='the ONNX extra is not installed (pip install "ukan-studio[onnx]")')


def tiny_model(num_classes: int = 1) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("ukan", {"embed_dims": [16, 24, 32], "num_classes": num_classes}).eval()


def add_tiny_version(num_classes: int = 1, fit: str = "resize") -> ModelStore:
    store = ModelStore()
    pre = Preprocessing(mode="standard", fit=fit, input_size=(64, 64))
    store.add_version("tiny", tiny_model(num_classes), {"preprocessing": pre.to_dict(),
                                                        "metrics": {"val_iou": 0.5, "val_n": 7}})
    return store


def images(folder: Path, count: int = 3) -> list[Path]:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"img{i}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 256, (50 + 10 * i, 70, 3), dtype=np.uint8))
    return paths


@needs_onnx
@pytest.mark.parametrize("num_classes, fit", [(1, "resize"), (3, "pad")])
def test_onnx_runtime_equals_torch_within_1e_4(tmp_path: Path, capsys: pytest.CaptureFixture,
                                               num_classes: int, fit: str) -> None:
    import onnx

    from ukan_core.onnx_runtime import OnnxSegmenter

    add_tiny_version(num_classes, fit)
    target = tmp_path / "tiny.onnx"
    assert main(["models", "export", "tiny", str(target)]) == 0
    assert "tiny.model-card.md" in capsys.readouterr().out
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(target)).metadata_props}
    assert meta["ukan.preprocessing"] == {"mode": "standard", "fit": fit, "input_size": [64, 64]}
    assert meta["ukan.num_classes"] == num_classes and meta["ukan.threshold"] == 0.5
    assert meta["ukan.input_size"] == [64, 64] and meta["ukan.config"]["num_classes"] == num_classes
    torch_seg = Segmenter.from_name_or_path("tiny", device="cpu", batch_size=2)
    onnx_seg = OnnxSegmenter.from_file(target, batch_size=2)
    pictures = [np.asarray(read_rgb(p)) for p in images(tmp_path / "in")]
    for ours, theirs in zip(onnx_seg.predict_batch(pictures), torch_seg.predict_batch(pictures)):
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 1e-4
    x = np.random.default_rng(0).standard_normal((3, 3, 64, 96)).astype(np.float32)   # batch 3, another size
    assert np.abs(onnx_seg.forward(x) - torch_seg.forward(x)).max() < 1e-4
    ours, theirs = onnx_seg.predict_mask(pictures[0]), torch_seg.predict_mask(pictures[0])  # masks too
    assert ours.shape == theirs.shape and (ours != theirs).mean() < 0.001


def read_rgb(path: Path) -> np.ndarray:
    from ukan_core.io.images import read_image, to_rgb8

    return to_rgb8(read_image(path))


@needs_onnx
def test_segment_with_an_onnx_file_writes_the_torch_masks(tmp_path: Path) -> None:
    add_tiny_version()
    target = tmp_path / "tiny.onnx"
    assert main(["models", "export", "tiny", str(target), "--format", "onnx"]) == 0
    folder = tmp_path / "in"
    paths = images(folder)
    assert main(["segment", str(folder), "--out", str(tmp_path / "onnx"), "--model", str(target)]) == 0
    assert main(["segment", str(folder), "--out", str(tmp_path / "torch"), "--model", "tiny"]) == 0
    for path in paths:
        ours = read_mask(tmp_path / "onnx" / f"{path.stem}.png")
        theirs = read_mask(tmp_path / "torch" / f"{path.stem}.png")
        assert ours.shape == theirs.shape and (ours != theirs).mean() < 0.001


@needs_onnx
def test_export_refuses_to_overwrite_the_file_or_its_card(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    add_tiny_version()
    target = tmp_path / "tiny.onnx"
    (tmp_path / "tiny.model-card.md").write_text("mine")
    assert main(["models", "export", "tiny", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "tiny.model-card.md" in err and "--overwrite" in err
    assert not target.exists() and (tmp_path / "tiny.model-card.md").read_text() == "mine"
    assert main(["models", "export", "tiny", str(target), "--overwrite"]) == 0
    assert target.is_file() and "not a medical device" in (tmp_path / "tiny.model-card.md").read_text()


def test_suffix_and_format_that_disagree_are_one_line_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    add_tiny_version()
    assert main(["models", "export", "tiny", str(tmp_path / "x.safetensors"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--format" in err
    assert not list(tmp_path.iterdir())


def test_without_the_extra_both_commands_say_how_to_install_it(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import onnx_support

    add_tiny_version()
    real = onnx_support.importlib.util.find_spec
    monkeypatch.setattr(onnx_support.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnx", "onnxruntime", "onnxscript") else real(name, *a))
    assert main(["models", "export", "tiny", str(tmp_path / "tiny.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "ukan-studio[onnx]"' in err
    assert not list(tmp_path.iterdir())   # neither the model nor its card
    folder = tmp_path / "in"
    images(folder, 1)
    (tmp_path / "m.onnx").write_bytes(b"x")
    assert main(["segment", str(folder), "--out", str(tmp_path / "out"), "--model", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "ukan-studio[onnx]"' in err


@needs_onnx
def test_a_file_that_is_not_onnx_is_one_line_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "in"
    images(folder, 1)
    (tmp_path / "broken.onnx").write_bytes(b"\x00garbage" * 10)
    assert main(["segment", str(folder), "--out", str(tmp_path / "out"), "--model", str(tmp_path / "broken.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "broken.onnx" in err
