"""Our UKAN loads the official state dicts strictly and reproduces the official outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ukan_core.models.ukan import UKAN

SMALL_DIMS = [32, 40, 64]


def _official_small(reference_dir: Path, state_file: str) -> UKAN:
    model = UKAN(num_classes=1, input_channels=3, deep_supervision=False, img_size=64, embed_dims=SMALL_DIMS)
    state = torch.load(reference_dir / state_file, weights_only=True)
    model.load_state_dict(state, strict=True)
    assert list(model.state_dict()) == list(state), "state_dict key order differs from the official"
    return model.eval()


def _input(reference_dir: Path) -> torch.Tensor:
    return torch.load(reference_dir / "ukan_seg_small_input.pt", weights_only=True)


def test_init_model_reproduces_official_logits(reference_dir: Path) -> None:
    model = _official_small(reference_dir, "ukan_seg_small_state.pt")
    with torch.no_grad():
        logits = model(_input(reference_dir))
    expected = torch.load(reference_dir / "ukan_seg_small_output.pt", weights_only=True)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-6)


def _first_diverging_module(model: UKAN, x: torch.Tensor, expected: dict[str, torch.Tensor]) -> str:
    """Name of the first hooked module (in forward order) whose output differs from the official one."""
    seen: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    handles = [
        modules[name].register_forward_hook(
            lambda _m, _i, out, name=name: seen.__setitem__(name, out[0] if isinstance(out, tuple) else out)
        )
        for name in expected
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    order = sorted(seen, key=list(modules).index)  # hooks fire in forward order; sort by definition as a fallback
    for name in order:
        if not torch.allclose(seen[name], expected[name], rtol=1e-4, atol=1e-5):
            diff = (seen[name] - expected[name]).abs().max().item()
            return f"{name} (max abs diff {diff:.3g})"
    return "none of the hooked modules (the difference is in the head)"


def test_perturbed_model_reproduces_official_logits(reference_dir: Path) -> None:
    model = _official_small(reference_dir, "ukan_seg_small_perturbed_state.pt")
    x = _input(reference_dir)
    with torch.no_grad():
        logits = model(x)
    expected = torch.load(reference_dir / "ukan_seg_small_perturbed_output.pt", weights_only=True)
    if not torch.allclose(logits, expected, rtol=1e-5, atol=1e-6):
        intermediates = torch.load(reference_dir / "ukan_seg_small_perturbed_intermediates.pt", weights_only=True)
        first = _first_diverging_module(model, x, intermediates)
        pytest.fail(f"perturbed logits differ; first diverging module: {first}")


def test_perturbed_intermediates_match(reference_dir: Path) -> None:
    model = _official_small(reference_dir, "ukan_seg_small_perturbed_state.pt")
    intermediates = torch.load(reference_dir / "ukan_seg_small_perturbed_intermediates.pt", weights_only=True)
    assert _first_diverging_module(model, _input(reference_dir), intermediates).startswith("none")


def test_train_mode_forward_backward_runs(reference_dir: Path) -> None:
    model = _official_small(reference_dir, "ukan_seg_small_perturbed_state.pt").train()
    logits = model(_input(reference_dir)[:1])
    logits.mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_fast_inference_copy_matches_and_leaves_the_model_untouched(reference_dir: Path) -> None:
    from ukan_core.models.fast import optimize_for_inference

    model = _official_small(reference_dir, "ukan_seg_small_perturbed_state.pt")
    keys_before = list(model.state_dict())
    fast = optimize_for_inference(model)
    assert list(model.state_dict()) == keys_before
    assert fast.config == model.config and fast.architecture == "ukan"
    x = _input(reference_dir)
    with torch.inference_mode():
        plain, quick = model(x), fast(x)
    assert quick.is_contiguous()
    torch.testing.assert_close(quick, plain, rtol=0, atol=1e-4)
    expected = torch.load(reference_dir / "ukan_seg_small_perturbed_output.pt", weights_only=True)
    torch.testing.assert_close(quick, expected, rtol=0, atol=1e-4)


def test_fast_copy_of_a_multiclass_no_kan_model_matches() -> None:
    from ukan_core.models.fast import optimize_for_inference

    torch.manual_seed(0)
    model = UKAN(num_classes=3, input_channels=1, embed_dims=SMALL_DIMS, no_kan=True).eval()
    x = torch.randn(1, 1, 64, 32)
    with torch.inference_mode():
        quick = optimize_for_inference(model)(x)
        torch.testing.assert_close(quick, model(x), rtol=0, atol=1e-4)
    assert quick.is_contiguous()
