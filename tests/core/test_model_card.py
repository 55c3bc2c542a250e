"""Model cards beside every export, and the data fingerprint that new checkpoints record for them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.core.test_onnx_export import add_tiny_version, tiny_model
from ukan_core.cli.main import main
from ukan_core.model_card import render_model_card
from ukan_core.preprocess import Preprocessing
from ukan_core.training.publish import images_fingerprint, training_metadata


def test_a_safetensors_export_writes_its_card_with_metrics_and_n(tmp_path: Path) -> None:
    add_tiny_version()
    assert main(["models", "export", "tiny", str(tmp_path / "liver.safetensors")]) == 0
    card = (tmp_path / "liver.model-card.md").read_text()
    assert "# Model card: tiny/v0001" in card
    assert "- val_iou: 0.5000 (n = 7 images)" in card
    assert f"- Parameters: {sum(p.numel() for p in tiny_model().parameters()):,}" in card
    assert "not a medical device" in card and "## Licence" in card
    assert 'Segmenter.from_name_or_path("liver.safetensors")' in card and "InferenceSession(\"liver.onnx\"" in card


def test_a_folder_destination_gets_name_version_and_its_card(tmp_path: Path) -> None:
    add_tiny_version()
    assert main(["models", "export", "tiny", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-v0001.model-card.md", "tiny-v0001.safetensors"]


def test_the_card_holds_data_recipe_lineage_and_nested_metrics() -> None:
    header = {
        "name": "liver", "version": "v0003", "architecture": "ukan", "parent": "liver/v0002",
        "training": {"data": "scans", "n_images": 40, "n_train": 32, "n_val": 8, "images_fingerprint": "sha256:ab",
                     "data_fingerprint": "sha256:cd", "recipe": {"lr": 0.001, "epochs": 5}, "seed": 3},
        "metrics": {"held_out": {"iou": 0.71, "f1": 0.8, "n": 12}, "base_held_out": {"iou": 0.6, "n": 12}},
    }
    card = render_model_card("liver.onnx", header, parameters=1234)
    for text in ("- Images: 40", "- Training / validation images: 32 / 8", "sha256:ab", "sha256:cd",
                 '"lr": 0.001', "Parent: liver/v0002", "- held_out.iou: 0.7100 (n = 12 images)",
                 "- base_held_out.iou: 0.6000 (n = 12 images)", "- Parameters: 1,234"):
        assert text in card, text
    assert "n = 12 images)" in card and "held_out.n:" not in card


def test_metrics_without_a_count_say_so() -> None:
    assert "- iou: 0.5000 (n not recorded)" in render_model_card("m.onnx", {"metrics": {"iou": 0.5}})


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_images_fingerprint_follows_names_and_sizes_not_folders(tmp_path: Path) -> None:
    def pairs(folder: str, second: bytes) -> list[SimpleNamespace]:
        return [SimpleNamespace(image=write(tmp_path / folder / "b.png", second)),
                SimpleNamespace(image=write(tmp_path / folder / "a.png", b"1234"))]

    first = images_fingerprint(pairs("x", b"12"))
    assert first.startswith("sha256:")
    assert images_fingerprint(pairs("y", b"34")) == first             # other folder, same names and sizes
    assert images_fingerprint(list(reversed(pairs("z", b"56")))) == first   # order does not matter
    assert images_fingerprint(pairs("w", b"123")) != first            # a size changed


def test_new_checkpoint_headers_record_the_fingerprint_and_image_count(tmp_path: Path) -> None:
    pairs = [SimpleNamespace(id=str(i), image=write(tmp_path / f"{i}.png", b"img" * (i + 1)),
                             mask=write(tmp_path / "m" / f"{i}.png", b"m")) for i in range(3)]
    result = SimpleNamespace(steps=1, best_step=1, epochs=1.0, seconds=1.0, stopped="done", device="cpu",
                             history=[], metrics={"val_iou": 0.4, "val_n": 1})
    header = training_metadata(tiny_model(), result, recipe=SimpleNamespace(to_dict=lambda: {"lr": 1}),
                               preprocessing=Preprocessing(), pairs=pairs, n_train=2, n_val=1, data=tmp_path,
                               seed=0, name="t")
    assert header["training"]["n_images"] == 3
    assert header["training"]["images_fingerprint"] == images_fingerprint(pairs)
    card = render_model_card("t.safetensors", header)
    assert "- Images: 3" in card and "- val_iou: 0.4000 (n = 1 image)" in card


@pytest.mark.parametrize("flag", [[], ["--overwrite"]])
def test_an_existing_card_is_kept_unless_overwrite(tmp_path: Path, flag: list[str],
                                                   capsys: pytest.CaptureFixture) -> None:
    add_tiny_version()
    card = tmp_path / "m.model-card.md"
    card.write_text("my notes")
    code = main(["models", "export", "tiny", str(tmp_path / "m.safetensors"), *flag])
    assert code == (0 if flag else 2)
    assert (card.read_text() == "my notes") == (not flag)
    assert (tmp_path / "m.safetensors").exists() == bool(flag)
