"""Configs, build_model, official key lists/shapes, variants and input-size checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ukan_core.models.configs import DiffusionUKANConfig, UKANConfig
from ukan_core.models.registry import NAMED_CONFIGS, build_model, config_from_dict
from ukan_core.models.ukan import UKAN


def _shapes(model: torch.nn.Module) -> list[tuple[str, list[int]]]:
    return [(name, list(t.shape)) for name, t in model.state_dict().items()]


def _official_shapes(path: Path) -> list[tuple[str, list[int]]]:
    return [(k["name"], k["shape"]) for k in json.loads(path.read_text())["keys"]]


@pytest.mark.parametrize(
    ("key_file", "embed_dims"),
    [("ukan_seg_trainpy_default_keys.json", (128, 160, 256)), ("ukan_seg_default_keys.json", (256, 320, 512))],
)
def test_seg_keys_and_shapes_equal_the_official(reference_dir: Path, key_file: str, embed_dims: tuple) -> None:
    with torch.device("meta"):
        model = UKAN(embed_dims=embed_dims)
    assert _shapes(model) == _official_shapes(reference_dir / key_file)


def test_diffusion_keys_and_shapes_equal_the_official(reference_dir: Path) -> None:
    with torch.device("meta"):
        model = build_model("diffusion_ukan", DiffusionUKANConfig())
    assert _shapes(model) == _official_shapes(reference_dir / "ukan_diffusion_default_keys.json")
    assert sum(p.numel() for p in model.parameters()) == 26_871_811


@pytest.mark.parametrize(("name", "params"), [("ukan-s", None), ("ukan", 6_356_689), ("ukan-l", 25_359_265)])
def test_named_configs_param_counts(name: str, params: int | None) -> None:
    with torch.device("meta"):
        model = build_model("ukan", NAMED_CONFIGS[name])
    count = sum(p.numel() for p in model.parameters())
    if params is not None:
        assert count == params
    assert model.config == NAMED_CONFIGS[name]
    assert model.architecture == "ukan"


def test_ukan_s_is_smaller_than_ukan() -> None:
    with torch.device("meta"):
        small, base = build_model("ukan", "ukan-s"), build_model("ukan", "ukan")
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in base.parameters())


def test_config_round_trips_through_json() -> None:
    config = UKANConfig(num_classes=3, input_channels=1, embed_dims=(64, 96, 128), no_kan=True)
    again = config_from_dict("ukan", json.loads(json.dumps(config.to_dict())))
    assert again == config
    diffusion = DiffusionUKANConfig(ch=32, ch_mult=(1, 1), embed_dims=(32, 64, 96))
    assert config_from_dict("diffusion_ukan", json.loads(json.dumps(diffusion.to_dict()))) == diffusion
    assert diffusion.tdim == 128


def test_build_model_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("unet", {})
    with pytest.raises(ValueError, match="unknown keys"):
        build_model("ukan", {"num_classes": 1, "depth": 3})


def test_official_constructor_kwargs_are_accepted() -> None:
    with torch.device("meta"):
        model = UKAN(1, 3, deep_supervision=False, img_size=256, patch_size=16, in_chans=3,
                     embed_dims=[32, 40, 64], drop_rate=0.0, depths=[1, 1, 1], norm_layer=torch.nn.LayerNorm)
    assert model.config.embed_dims == (32, 40, 64)
    with pytest.raises(TypeError, match="unexpected"):
        UKAN(embed_dims=[32, 40, 64], bogus=1)


def test_one_channel_model_runs_forward_and_backward() -> None:
    torch.manual_seed(0)
    model = build_model("ukan", {"input_channels": 1, "num_classes": 2, "embed_dims": [32, 40, 64]})
    assert model.encoder1.conv[0].in_channels == 1
    logits = model(torch.randn(2, 1, 32, 64))
    assert logits.shape == (2, 2, 32, 64)
    logits.sum().backward()
    assert model.encoder1.conv[0].weight.grad is not None


def test_no_kan_variant_uses_linear_layers() -> None:
    torch.manual_seed(0)
    model = UKAN(embed_dims=[32, 40, 64], no_kan=True)
    keys = [k for k in model.state_dict() if k.startswith("block1.0.layer.fc1")]
    assert keys == ["block1.0.layer.fc1.weight", "block1.0.layer.fc1.bias"]
    logits = model(torch.randn(1, 3, 64, 64))
    logits.mean().backward()
    assert model.block1[0].layer.fc1.weight.grad is not None


@pytest.mark.parametrize("size", [(48, 48), (64, 80), (0, 32)])
def test_sizes_not_multiple_of_32_give_a_clear_error(size: tuple[int, int]) -> None:
    model = UKAN(embed_dims=[32, 40, 64]).eval()
    with pytest.raises(ValueError, match="multiple of 32") as info:
        model(torch.zeros(1, 3, *size))
    assert "\n" not in str(info.value)


def test_wrong_channel_count_gives_a_clear_error() -> None:
    model = UKAN(embed_dims=[32, 40, 64]).eval()
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.zeros(1, 1, 64, 64))


# -- the registry ------------------------------------------------------------------------------
def test_every_registered_architecture_names_its_config_and_model_class() -> None:
    from ukan_core.models.registry import ARCHITECTURES

    assert set(ARCHITECTURES) == {"ukan", "diffusion_ukan"}
    for name, entry in ARCHITECTURES.items():
        model_class = entry.model_class()
        assert entry.name == name and model_class.architecture == name
        with torch.device("meta"):
            model = build_model(name)
        assert type(model) is model_class and model.config == entry.config_class()
        assert all(key in model.state_dict() for key in entry.official_keys)


def test_every_registered_architecture_has_checkpoint_config_checks() -> None:
    from ukan_core.io import checkpoint_schema
    from ukan_core.models.registry import ARCHITECTURES

    for name, entry in ARCHITECTURES.items():
        checkpoint_schema.validate_config(name, entry.config_class().to_dict(), "x.safetensors")


def test_the_generator_presets_build_valid_generators() -> None:
    from ukan_core.io.checkpoint_schema import validate_config
    from ukan_core.models.registry import GENERATOR_PRESETS

    assert list(GENERATOR_PRESETS) == ["small", "official"]
    for overrides in GENERATOR_PRESETS.values():
        with torch.device("meta"):
            model = build_model("diffusion_ukan", {**overrides, "image_size": 32})
        validate_config("diffusion_ukan", model.config.to_dict(), "x.safetensors")


def test_an_unknown_or_malformed_architecture_is_one_line() -> None:
    from ukan_core.errors import CheckpointError
    from ukan_core.io.checkpoint_schema import validate_metadata

    with pytest.raises(ValueError, match="unknown architecture 'resnet' \\(known: diffusion_ukan, ukan\\)"):
        build_model("resnet")
    for bad in ("resnet", ["ukan"], {"a": 1}):
        with pytest.raises(CheckpointError, match="^m.safetensors: unknown architecture") as info:
            validate_metadata({"architecture": bad, "config": {}}, "m.safetensors")
        assert "\n" not in str(info.value)
