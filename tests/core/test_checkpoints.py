"""Checkpoints: our .safetensors format, official .pth import (weights only), load_model by path or name."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ukan_core.errors import CheckpointError
from ukan_core.io.checkpoints import import_official, load_checkpoint, read_checkpoint_info, save_checkpoint
from ukan_core.model_refs import DEFAULT_MODEL, load_model, load_model_with_info, resolve_model
from ukan_core.models.registry import build_model
from ukan_core.preprocess import Preprocessing

REPO = Path(__file__).resolve().parents[2]
TINY = {"embed_dims": [16, 24, 32]}



def tiny_model(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("ukan", {**TINY, **overrides}).eval()


def forward(model: torch.nn.Module, channels: int = 3) -> torch.Tensor:
    torch.manual_seed(1)
    with torch.no_grad():
        return model(torch.randn(1, channels, 64, 64))


def assert_one_line(exc: pytest.ExceptionInfo, *fragments: str) -> None:
    text = str(exc.value)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text


# -- our format --------------------------------------------------------------------------------
def test_save_and_load_give_the_same_model_and_metadata(tmp_path: Path) -> None:
    model = tiny_model()
    pre = Preprocessing(mode="standard", fit="pad", input_size=(64, 64))
    path = save_checkpoint(model, tmp_path / "m.safetensors",
                           {"preprocessing": pre, "metrics": {"iou": 0.5}, "name": "tiny", "note": "extra kept",
                            "architecture": "lies", "config": {"embed_dims": [1, 2, 3]}})
    info = read_checkpoint_info(path)
    for key in ("format_version", "architecture", "config", "preprocessing", "input_size", "class_names",
                "created", "parent", "training", "metrics", "name", "version"):
        assert key in info
    assert info["architecture"] == "ukan" and info["config"]["embed_dims"] == [16, 24, 32]  # from the model
    assert info["preprocessing"] == pre.to_dict() and info["input_size"] == [64, 64]
    assert info["note"] == "extra kept" and info["metrics"] == {"iou": 0.5}
    assert info["class_names"] == ["foreground"]

    loaded, loaded_info = load_checkpoint(path)
    assert not loaded.training and loaded_info == info
    torch.testing.assert_close(forward(loaded), forward(model), rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp files left


def test_half_storage_loads_as_float32_and_keeps_buffers_exact(tmp_path: Path) -> None:
    model = tiny_model()
    full = save_checkpoint(model, tmp_path / "full.safetensors", {})
    half = save_checkpoint(model, tmp_path / "half.safetensors", {}, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_checkpoint_info(half)["storage_dtype"] == "float16"
    loaded, _ = load_checkpoint(half)
    assert all(t.dtype == torch.float32 for t in loaded.state_dict().values() if t.is_floating_point())
    grid = "block1.0.layer.fc1.grid"
    torch.testing.assert_close(loaded.state_dict()[grid], model.state_dict()[grid], rtol=0, atol=0)
    torch.testing.assert_close(forward(loaded), forward(model), rtol=1e-2, atol=1e-3)


def test_a_failed_save_leaves_the_old_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    path = save_checkpoint(tiny_model(), tmp_path / "m.safetensors", {"name": "old"})
    before = path.read_bytes()

    def broken_save(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tiny_model(), path, {"name": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_reading_the_header_does_not_import_torch(tmp_path: Path) -> None:
    path = save_checkpoint(tiny_model(), tmp_path / "m.safetensors", {"name": "tiny"})
    code = (
        "import sys; from ukan_core.io.checkpoints import read_checkpoint_info\n"
        f"info = read_checkpoint_info({str(path)!r})\n"
        "print(info['name'], 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["tiny", "False"]


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty file"),
    (b"\x93\x11" + bytes(range(256)) * 4, "not a UKAN Studio checkpoint"),
    ("plain text\nwith lines\n".encode(), "not a UKAN Studio checkpoint"),
])
def test_files_that_are_not_our_checkpoints_give_one_line(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    for call in (read_checkpoint_info, load_checkpoint, load_model):
        with pytest.raises(CheckpointError) as exc:
            call(path)
        assert_one_line(exc, "bad.safetensors", fragment)


def test_a_safetensors_file_without_our_metadata_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError) as exc:
        read_checkpoint_info(tmp_path / "other.safetensors")
    assert_one_line(exc, "other.safetensors", "without UKAN Studio metadata")


# -- official import ----------------------------------------------------------------------------
@pytest.mark.parametrize("wrap", ["raw", "module", "state_dict", "model", "net"])
def test_official_state_dicts_import_with_their_config(tmp_path: Path, wrap: str) -> None:
    model = tiny_model()
    state = model.state_dict()
    if wrap == "module":
        obj = {f"module.{k}": v for k, v in state.items()}
    elif wrap == "raw":
        obj = state
    else:
        obj = {wrap: state, "epoch": 12, "best_iou": 0.7}
    torch.save(obj, tmp_path / "model.pth")
    imported, info = import_official(tmp_path / "model.pth")
    assert imported.config == model.config and not imported.training
    assert info["preprocessing"] == {"mode": "official", "fit": "resize", "input_size": [256, 256]}
    assert info["input_size"] == [256, 256] and info["origin"] == "official"
    torch.testing.assert_close(forward(imported), forward(model), rtol=0, atol=0)


def test_official_import_infers_classes_channels_and_no_kan(tmp_path: Path) -> None:
    model = tiny_model(num_classes=3, input_channels=1, no_kan=True)
    torch.save(model.state_dict(), tmp_path / "mlp.pt")
    imported, info = import_official(tmp_path / "mlp.pt", input_size=(64, 96))
    assert imported.config == model.config
    assert info["input_size"] == [64, 96] and len(info["class_names"]) == 3
    torch.testing.assert_close(forward(imported, channels=1), forward(model, channels=1), rtol=0, atol=0)


def test_official_diffusion_config_is_inferred_from_block_keys(tmp_path: Path) -> None:
    config = {"T": 50, "ch": 32, "ch_mult": [1, 2], "attn": [], "num_res_blocks": 2, "embed_dims": [64, 64, 96]}
    model = build_model("diffusion_ukan", config).eval()
    torch.save(model.state_dict(), tmp_path / "ckpt_1000_.pt")
    imported, info = import_official(tmp_path / "ckpt_1000_.pt")
    assert imported.config == model.config
    assert info["architecture"] == "diffusion_ukan" and info["preprocessing"] is None


class _RunsCode:
    """Unpickling this object would create `marker` (it must never happen)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_that_needs_code_is_refused_and_never_run(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "code_ran"
    payload = {"state_dict": {"final.weight": torch.zeros(1)}, "trap": _RunsCode(marker)}
    path = tmp_path / "evil.pth"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with path.open("wb") as fh:
            pickle.dump(payload, fh, protocol=2)
    for call in (import_official, load_model):
        with pytest.raises(CheckpointError) as exc:
            call(path)
        assert_one_line(exc, "evil.pth", "contains Python objects that need code to load; refusing to unpickle it")
    assert not marker.exists()


@pytest.mark.parametrize("name, content, fragment", [
    ("empty.pth", b"", "empty file"),
    ("random.pth", bytes(range(7, 250)) * 10, "not a model checkpoint"),
    ("notes.pt", b"these are my notes, not weights\n", "not a model checkpoint"),
    ("broken.pth", b"PK\x03\x04" + b"\x00" * 40, "not a readable PyTorch checkpoint"),
])
def test_files_that_are_not_checkpoints_give_one_line(tmp_path: Path, name: str, content: bytes,
                                                     fragment: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CheckpointError) as exc:
        load_model(tmp_path / name)
    assert_one_line(exc, name, fragment)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    for name in ("gone.pth", "gone.safetensors"):
        with pytest.raises(CheckpointError) as exc:
            load_model(tmp_path / name)
        assert_one_line(exc, name, "file not found")


def test_state_dicts_that_fit_no_model_name_the_first_offending_key(tmp_path: Path) -> None:
    foreign = {"conv1.weight": torch.zeros(4, 3, 3, 3), "fc.weight": torch.zeros(2, 4)}
    torch.save(foreign, tmp_path / "resnet.pth")
    with pytest.raises(CheckpointError) as exc:
        load_model(tmp_path / "resnet.pth")
    assert_one_line(exc, "resnet.pth", "'conv1.weight'")

    state = tiny_model().state_dict()
    cases = {
        "shape.pth": ({**state, "decoder3.conv.0.weight": torch.zeros(5, 5, 3, 3)}, "'decoder3.conv.0.weight'"),
        "extra.pth": ({**state, "head2.weight": torch.zeros(1)}, "'head2.weight'"),
        "missing.pth": ({k: v for k, v in state.items() if k != "norm4.bias"}, "'norm4.bias'"),
    }
    for name, (bad_state, fragment) in cases.items():
        torch.save(bad_state, tmp_path / name)
        with pytest.raises(CheckpointError) as exc:
            load_model(tmp_path / name)
        assert_one_line(exc, name, fragment)


def test_reference_fixtures_load_through_load_model_and_reproduce_outputs(reference_dir: Path) -> None:
    seg = load_model(reference_dir / "ukan_seg_small_perturbed_state.pt")
    assert seg.config.embed_dims == (32, 40, 64) and not seg.training
    x = torch.load(reference_dir / "ukan_seg_small_input.pt", weights_only=True)
    with torch.no_grad():
        torch.testing.assert_close(seg(x), torch.load(reference_dir / "ukan_seg_small_perturbed_output.pt",
                                                      weights_only=True), rtol=1e-5, atol=1e-6)

    diffusion = load_model(reference_dir / "ukan_diffusion_small_state.pt")
    assert diffusion.config.ch == 32 and diffusion.config.ch_mult == (1, 1)
    inputs = torch.load(reference_dir / "ukan_diffusion_small_input.pt", weights_only=True)
    with torch.no_grad():
        out = diffusion(inputs["x"], inputs["t"])
    torch.testing.assert_close(out, torch.load(reference_dir / "ukan_diffusion_small_output.pt",
                                               weights_only=True), rtol=1e-5, atol=1e-5)


def test_an_imported_official_model_saves_and_reloads_as_ours(reference_dir: Path, tmp_path: Path) -> None:
    model, info = load_model_with_info(reference_dir / "ukan_seg_small_perturbed_state.pt")
    path = save_checkpoint(model, tmp_path / "converted.safetensors", info)
    again, again_info = load_model_with_info(path)
    assert again_info["preprocessing"]["mode"] == "official"
    x = torch.load(reference_dir / "ukan_seg_small_input.pt", weights_only=True)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)


# -- names ------------------------------------------------------------------------------------
def test_names_resolve_bundled_and_store_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import store as store_module

    bundled = tmp_path / "bundled"
    monkeypatch.setattr(store_module, "bundled_models_dir", lambda: bundled)
    save_checkpoint(tiny_model(), bundled / "demo.safetensors", {"name": "demo"})
    assert resolve_model("demo") == bundled / "demo.safetensors"
    assert load_model("demo").config.embed_dims == (16, 24, 32)
    _, info = load_model_with_info("demo")
    assert (info["name"], info["version"]) == ("demo", "bundled")  # a fine-tune's parent: "demo/bundled"

    store = store_module.ModelStore()
    store.add_version("mine", tiny_model(num_classes=2), {"parent": None})
    store.add_version("mine", tiny_model(num_classes=3), {"parent": "mine/v0001"})
    assert load_model("mine").config.num_classes == 3          # the selected (newest) version
    assert load_model("mine/v0001").config.num_classes == 2
    store.select("mine", "v0001")
    assert load_model("mine").config.num_classes == 2

    with pytest.raises(CheckpointError) as exc:
        load_model("nonesuch")
    assert_one_line(exc, "unknown model 'nonesuch'", "demo", "mine")
    with pytest.raises(CheckpointError) as exc:
        load_model("mine/v0009")
    assert_one_line(exc, "mine/v0009")


def test_the_default_model_name_points_at_the_bundled_file() -> None:
    assert DEFAULT_MODEL == "ukan-synthetic-us"
    from ukan_core.assets import bundled_models_dir

    if not (bundled_models_dir() / "ukan-synthetic-us.safetensors").is_file():
        pytest.skip("the bundled default model has not been trained yet")
    info = read_checkpoint_info(resolve_model(DEFAULT_MODEL))
    assert info["architecture"] == "ukan"
    json.dumps(info)


def test_the_file_format_loads_files_only_and_names_are_resolved_above_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ukan_core import store as store_module
    from ukan_core.io.checkpoints import load_model_file

    monkeypatch.setattr(store_module, "bundled_models_dir", lambda: tmp_path / "bundled")
    save_checkpoint(tiny_model(), tmp_path / "bundled" / "demo.safetensors", {"name": "demo"})
    renamed = tmp_path / "weights.bin"          # a safetensors file under another suffix
    renamed.write_bytes((tmp_path / "bundled" / "demo.safetensors").read_bytes())
    model, info = load_model_file(renamed)
    assert model.config.embed_dims == (16, 24, 32) and info["name"] == "demo"
    with pytest.raises(CheckpointError) as exc:
        load_model_file("demo")                 # a name is not a file to the format module
    assert_one_line(exc, "demo: file not found")
    assert load_model_with_info("demo")[0].config.embed_dims == (16, 24, 32)
