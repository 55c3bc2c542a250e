"""Our DiffusionUKAN loads the official (small, perturbed) state strictly and predicts the same noise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ukan_core.models.configs import DiffusionUKANConfig

from ukan_core.models.registry import build_model
from ukan_core.models.diffusion_blocks import sinusoid_table
from ukan_core.models.diffusion_ukan import DiffusionUKAN


@pytest.fixture(scope="module")
def official_small(reference_dir: Path) -> DiffusionUKAN:
    config = json.loads((reference_dir / "ukan_diffusion_small_config.json").read_text())
    model = DiffusionUKAN(**config["constructor_args"], embed_dims=config["embed_dims"])
    assert model.config.tdim == config["temb_dim"]
    state = torch.load(reference_dir / "ukan_diffusion_small_state.pt", weights_only=True)
    model.load_state_dict(state, strict=True)
    assert list(model.state_dict()) == list(state)
    return model.eval()


def test_small_model_reproduces_official_noise_prediction(reference_dir: Path, official_small: DiffusionUKAN) -> None:
    inputs = torch.load(reference_dir / "ukan_diffusion_small_input.pt", weights_only=True)
    with torch.no_grad():
        eps = official_small(inputs["x"], inputs["t"])
    expected = torch.load(reference_dir / "ukan_diffusion_small_output.pt", weights_only=True)
    torch.testing.assert_close(eps, expected, rtol=1e-5, atol=1e-5)


def test_fresh_sinusoid_table_equals_the_official(reference_dir: Path) -> None:
    state = torch.load(reference_dir / "ukan_diffusion_small_state.pt", weights_only=True)
    assert torch.equal(sinusoid_table(1000, 32), state["time_embedding.timembedding.0.weight"])


def test_tiny_model_trains_one_step_and_keeps_its_config() -> None:
    torch.manual_seed(0)
    config = DiffusionUKANConfig(T=10, ch=32, ch_mult=(1, 1), num_res_blocks=1, embed_dims=(32, 64, 96), image_size=16)
    model = build_model("diffusion_ukan", config.to_dict())
    assert model.config == config and model.architecture == "diffusion_ukan"
    x = torch.randn(2, 3, 16, 16)
    eps = model(x, torch.tensor([0, 9]))
    assert eps.shape == x.shape
    ((eps - x) ** 2).mean().backward()
    assert model.kan_block1[0].kan.fc1.spline_weight.grad is not None
    assert model.time_embedding.timembedding[0].weight.grad is None  # the sinusoid table is frozen


def test_mismatched_embed_dims_and_sizes_give_clear_errors() -> None:
    with pytest.raises(ValueError, match="embed_dims"):
        DiffusionUKAN(ch=32, ch_mult=(1, 2), embed_dims=(32, 64, 96))
    model = DiffusionUKAN(T=10, ch=32, ch_mult=(1, 1), num_res_blocks=1, embed_dims=(32, 64, 96))
    with pytest.raises(ValueError, match="multiples of 8"):
        model(torch.zeros(1, 3, 20, 20), torch.tensor([1]))


def test_fast_inference_copy_matches(reference_dir: Path, official_small: DiffusionUKAN) -> None:
    from ukan_core.models.fast import optimize_for_inference

    inputs = torch.load(reference_dir / "ukan_diffusion_small_input.pt", weights_only=True)
    fast = optimize_for_inference(official_small)
    with torch.inference_mode():
        quick, plain = fast(inputs["x"], inputs["t"]), official_small(inputs["x"], inputs["t"])
    torch.testing.assert_close(quick, plain, rtol=0, atol=1e-4)
