"""Uncertainty per image, `ukan rank`, and the out-of-domain signal of the bundled and of new models."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.test_trainer import one_thread  # noqa: F401 - autouse fixture
from tests.core.test_trainer import preprocessing, tiny_model
from ukan_core.cli.main import main
from ukan_core.io.checkpoints import read_checkpoint_info, save_checkpoint
from ukan_core.model_refs import DEFAULT_MODEL
from ukan_core.uncertainty import binary_entropy, entropy_score, flip_score

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "resources" / "samples"
BUNDLED = REPO / "resources" / "models" / f"{DEFAULT_MODEL}.safetensors"


def test_the_scores_are_zero_when_sure_and_one_when_not() -> None:
    sure = np.zeros((32, 32), np.float32)
    sure[8:20, 8:20] = 1.0
    assert entropy_score(sure) == pytest.approx(0.0, abs=1e-3)
    assert entropy_score(np.full((32, 32), 0.5, np.float32)) == pytest.approx(1.0, abs=1e-3)
    assert float(binary_entropy(np.array([0.5]))[0]) == pytest.approx(1.0)
    assert flip_score(sure, [sure, sure]) == 0.0
    elsewhere = np.zeros_like(sure)
    elsewhere[22:30, 22:30] = 1.0
    assert flip_score(sure, [elsewhere, elsewhere]) == 1.0
    assert flip_score(np.zeros_like(sure), [np.zeros_like(sure)]) == 0.0   # nothing, and agreed on


def _synth(folder: Path, style: str, n: int, seed: int) -> Path:
    assert main(["synth", "--n", str(n), "--seed", str(seed), "--style", style, "--out", str(folder)]) == 0
    return folder


def _inverted_copy(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for image in sorted((source / "images").iterdir()):
        cv2.imwrite(str(folder / image.name), 255 - cv2.imread(str(image)))
    return folder


@pytest.fixture(scope="module")
def bundled():
    if not BUNDLED.is_file():
        pytest.skip("the bundled model is not in this checkout")
    from ukan_core.inference import Segmenter

    return Segmenter.from_name_or_path(str(BUNDLED), device="cpu")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".png")


def test_the_bundled_model_knows_its_own_domain(bundled, tmp_path: Path) -> None:
    from ukan_core.domain import THRESHOLD, domain_score, is_out_of_domain

    assert read_checkpoint_info(BUNDLED)["domain"]["n"] >= 16
    samples = domain_score(bundled, _images(SAMPLES))
    alt = _synth(tmp_path / "alt", "alt", 8, seed=11)
    inverted = _inverted_copy(_synth(tmp_path / "usual", "default", 8, seed=12), tmp_path / "inverted")
    assert samples is not None and samples < THRESHOLD and not is_out_of_domain(bundled, _images(SAMPLES))
    assert domain_score(bundled, _images(alt / "images")) >= THRESHOLD
    assert domain_score(bundled, _images(inverted)) >= THRESHOLD
    assert is_out_of_domain(bundled, _images(inverted))


def test_images_unlike_the_training_data_are_less_sure(bundled, tmp_path: Path) -> None:
    from ukan_core.io.images import read_image
    from ukan_core.uncertainty import image_uncertainty

    alt = _synth(tmp_path / "alt", "alt", 6, seed=21)
    usual = [image_uncertainty(bundled, read_image(p)) for p in _images(SAMPLES)[:6]]
    shifted = [image_uncertainty(bundled, read_image(p)) for p in _images(alt / "images")]
    for result, path in zip(usual, _images(SAMPLES)):
        assert result.map.shape == cv2.imread(str(path)).shape[:2] and result.map.dtype == np.float32
        assert 0.0 <= result.map.min() <= result.map.max() <= 1.0
    for result in usual + shifted:
        assert 0.0 <= result.entropy <= 1.0 and 0.0 <= result.flip <= 1.0 and result.score == result.flip
    assert np.median([r.score for r in shifted]) > np.median([r.score for r in usual])


def test_the_bundled_header_was_rewritten_without_touching_the_weights(tmp_path: Path) -> None:
    from ukan_core.io.checkpoints import rewrite_metadata

    path = tmp_path / "m.safetensors"
    save_checkpoint(tiny_model(), path, {"name": "m", "preprocessing": preprocessing().to_dict()})
    before = path.read_bytes()
    rewrite_metadata(path, {"domain": {"note": "x"}})
    after = path.read_bytes()
    old, new = struct.unpack("<Q", before[:8])[0], struct.unpack("<Q", after[:8])[0]
    assert after[8 + new:] == before[8 + old:] and new % 8 == 0
    info = read_checkpoint_info(path)
    assert info["domain"] == {"note": "x"} and info["name"] == "m"
    from safetensors.torch import load_file

    assert set(load_file(str(path))) == set(tiny_model().state_dict())


def test_a_new_model_records_its_domain_and_flags_an_inverted_folder(tmp_path: Path) -> None:
    """Every trained checkpoint carries the statistics: `ukan train` on bright ellipses, then dark ones."""
    from tests.core.test_trainer import write_pairs
    from ukan_core.domain import THRESHOLD, domain_score

    data = write_pairs(tmp_path / "bright", 12)
    out = tmp_path / "model.safetensors"
    assert main(["train", str(data), "--config", "ukan-s", "--size", "64", "--max-steps", "2", "--batch-size", "4",
                 "--out", str(out), "--device", "cpu"]) == 0
    record = read_checkpoint_info(out)["domain"]
    assert record["n"] == 12 and len(record["feature_mean"]) == len(record["feature_std"]) > 0
    assert set(record["uncertainty"]) == {"entropy", "flip"}
    same = write_pairs(tmp_path / "more bright", 6, seed=5)
    dark = write_pairs(tmp_path / "dark", 6, seed=5, invert=True)
    assert domain_score(str(out), _images(same / "images")) < THRESHOLD
    assert domain_score(str(out), _images(dark / "images")) >= THRESHOLD


def test_rank_prints_one_json_line_most_uncertain_first(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from ukan_core.annotation.store import AnnotationStore

    model = tmp_path / "tiny.safetensors"
    save_checkpoint(tiny_model(), model, {"name": "tiny", "preprocessing": preprocessing().to_dict()})
    folder = tmp_path / "scans"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(folder / "images" / f"scan{i}.png"), rng.integers(0, 255, (48, 40, 3), dtype=np.uint8))
    (folder / "images" / "broken.png").write_bytes(b"not a png")
    AnnotationStore.open(folder).set_model_ref(str(model))   # the folder's own model is the default
    code = main(["rank", str(folder), "--json", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1   # one image could not be read
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    names = [item["name"] for item in result["images"]]
    scores = [item["uncertainty"] for item in result["images"]]
    assert sorted(names) == [f"images/scan{i}.png" for i in range(4)]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    # a model saved without training statistics: no domain score, and stderr says why
    assert result["out_of_domain"] is False and result["domain_score"] is None
    assert "no training statistics" in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert f"with {model}" in captured.err


def test_rank_warns_of_an_out_of_domain_folder(bundled, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    inverted = _inverted_copy(_synth(tmp_path / "usual", "default", 4, seed=31), tmp_path / "inverted")
    capsys.readouterr()
    assert main(["rank", str(inverted), "--json", "--model", str(BUNDLED), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["out_of_domain"] is True and 0.5 <= result["domain_score"] <= 1.0
    assert [item["name"] for item in result["images"]] != [] and "look unlike" in captured.err


def test_rank_of_a_missing_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["rank", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and "not a folder" in err[0]
