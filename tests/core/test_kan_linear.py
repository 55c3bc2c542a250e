"""KANLinear equals the official layer: bases at exact knots and outside the grid, outputs, init."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ukan_core.models.kan import KANLinear


@pytest.fixture(scope="module")
def unit(reference_dir: Path) -> dict:
    return torch.load(reference_dir / "kanlinear_unit.pt", weights_only=True)


def _loaded(unit: dict) -> KANLinear:
    layer = KANLinear(6, 4)
    layer.load_state_dict(unit["state"], strict=True)
    return layer


def test_fresh_grid_equals_the_official_knots(unit: dict) -> None:
    assert torch.equal(KANLinear(6, 4).grid, unit["state"]["grid"])


def test_bases_match_including_knots_and_out_of_grid_values(unit: dict) -> None:
    layer = _loaded(unit)
    torch.testing.assert_close(layer.b_splines(unit["x"]), unit["b_splines"], rtol=0, atol=1e-7)


def test_outputs_and_scaled_weights_match(unit: dict) -> None:
    layer = _loaded(unit)
    with torch.no_grad():
        torch.testing.assert_close(layer(unit["x"]), unit["output"], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(layer.scaled_spline_weight, unit["scaled_spline_weight"])


def test_bases_vanish_outside_the_grid_and_at_its_last_knot() -> None:
    layer = KANLinear(2, 3)
    x = torch.tensor([[-2.2001, 2.2], [5.0, -7.0]])
    assert torch.count_nonzero(layer.b_splines(x)) == 0
    # Inside the grid the bases are a partition of unity.
    inside = torch.linspace(-0.99, 0.99, 7).unsqueeze(1).expand(-1, 2)
    torch.testing.assert_close(layer.b_splines(inside).sum(-1), torch.ones(7, 2))


def test_accepts_any_leading_dimensions() -> None:
    torch.manual_seed(0)
    layer = KANLinear(5, 3)
    x = torch.randn(2, 4, 5)
    with torch.no_grad():
        flat = layer(x.reshape(8, 5)).reshape(2, 4, 3)
        torch.testing.assert_close(layer(x), flat)
    with pytest.raises(ValueError, match="last dimension 5"):
        layer(torch.randn(4, 6))


def test_init_shapes_and_scale() -> None:
    torch.manual_seed(0)
    layer = KANLinear(16, 8)
    names = {n: tuple(t.shape) for n, t in layer.state_dict().items()}
    assert names == {"grid": (16, 12), "base_weight": (8, 16), "spline_weight": (8, 16, 8), "spline_scaler": (8, 16)}
    # The spline fit is to +-0.01 noise: its coefficients are small but not zero.
    assert 0 < layer.spline_weight.abs().max() < 0.1
    assert layer.base_weight.abs().max() <= 1 / 16**0.5 + 1e-6


def test_fast_layer_equals_the_official_layer(unit: dict) -> None:
    from ukan_core.models.fast import FastKANLinear

    fast = FastKANLinear(_loaded(unit))
    assert fast.uniform
    torch.testing.assert_close(fast.bases(unit["x"]), unit["b_splines"], rtol=0, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(fast(unit["x"]), unit["output"], rtol=1e-4, atol=1e-5)


def test_fast_layer_falls_back_to_the_recursion_on_a_non_uniform_grid() -> None:
    from ukan_core.models.fast import FastKANLinear

    torch.manual_seed(0)
    layer = KANLinear(3, 2)
    with torch.no_grad():
        layer.grid.copy_(torch.sort(torch.rand(3, 12) * 4 - 2, dim=1).values)
    fast = FastKANLinear(layer)
    assert not fast.uniform
    x = torch.randn(10, 3)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), layer(x), rtol=1e-5, atol=1e-6)


def test_fast_layer_survives_nan_and_inf_inputs() -> None:
    from ukan_core.models.fast import FastKANLinear

    layer = KANLinear(3, 2)
    x = torch.tensor([[float("nan"), float("inf"), -float("inf")], [0.1, 2.2, -2.2]])
    with torch.no_grad():
        fast_out, plain_out = FastKANLinear(layer)(x), layer(x)
    assert torch.isnan(fast_out[0]).all() and torch.isnan(plain_out[0]).all()
    torch.testing.assert_close(fast_out[1], plain_out[1], rtol=1e-4, atol=1e-5)


def test_a_seeded_model_is_the_same_in_every_process() -> None:
    """The spline init's least squares used to differ in its last bits from process to process, so a seeded
    model (and everything trained from it) was not reproducible."""
    import subprocess
    import sys

    code = ("import hashlib, torch; from ukan_core.models.ukan import UKAN; torch.manual_seed(0); "
            "h = hashlib.sha1(); [h.update(t.numpy().tobytes()) for t in UKAN(embed_dims=(32, 48, 64)).state_dict().values()]; "
            "print(h.hexdigest())")
    root = Path(__file__).resolve().parents[2]
    digests = {subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
               for _ in range(4)}
    assert len(digests) == 1, digests
