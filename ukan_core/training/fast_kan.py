"""A lean training path for KANLinear: closed-form cubic bases, recomputed in the backward pass.

The eager KANLinear evaluates its B-spline bases by the Cox-de Boor recursion, and autograd keeps
every intermediate of it: about a dozen (tokens, in, ~10) tensors per layer, which dominates the
memory (and much of the time) of a U-KAN training step. `KANSplineFunction` keeps only the layer
input and recomputes the bases, and their derivative, in closed form during the backward pass.

`lean_kan_layers(model)` swaps every KANLinear with a cubic, uniform grid for a `LeanKANLinear`
that shares the same Parameter and buffer objects, so the optimiser, `state_dict()` keys and the
saved checkpoint are unchanged; the original modules are put back on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ukan_core.models.kan import KANLinear

_CUBIC = 3


def _cubic_pieces(x: torch.Tensor, first_knot: torch.Tensor, inv_step: torch.Tensor, intervals: int):
    """Column index (N, 4, in) of the four non-zero bases and local coordinate t (N, in) of x.

    Bases live basis-major in a padded (N, intervals + 4, in) buffer: basis j at row j + 3.
    Values outside [first knot, last knot) (and NaN) point at rows past the kept bases, so
    they contribute nothing, as in the recursion.
    """
    u = (x - first_knot) * inv_step
    k = torch.floor(u)
    t = u - k
    start = k.masked_fill_(~((k >= 0) & (k < intervals)), intervals).long()
    rows = start.unsqueeze(1) + torch.arange(4, device=x.device).view(1, 4, 1)
    return rows, t


def _bases(t: torch.Tensor) -> torch.Tensor:
    """The four cubic pieces (N, 4, in) at local coordinate t (N, in)."""
    s = 1.0 - t
    t2 = t * t
    b0 = s * s * s * (1.0 / 6.0)
    b1 = t2 * (0.5 * t - 1.0) + (2.0 / 3.0)
    b3 = t2 * t * (1.0 / 6.0)
    b2 = 1.0 - b0 - b1 - b3
    return torch.stack((b0, b1, b2, b3), dim=1)


def _bases_derivative(t: torch.Tensor) -> torch.Tensor:
    """d(pieces)/dt (N, 4, in)."""
    s = 1.0 - t
    d0 = -0.5 * s * s
    d1 = t * (1.5 * t - 2.0)
    d3 = 0.5 * t * t
    d2 = -(d0 + d1 + d3)
    return torch.stack((d0, d1, d2, d3), dim=1)


def _dense_bases(t: torch.Tensor, rows: torch.Tensor, intervals: int, num_bases: int) -> torch.Tensor:
    """All bases as an (N, num_bases * in) basis-major matrix (a view of a padded buffer, no copy)."""
    n, d = t.shape
    padded = t.new_zeros(n, intervals + 4, d)
    padded.scatter_(1, rows, _bases(t))
    return padded[:, _CUBIC : _CUBIC + num_bases, :].reshape(n, num_bases * d)


class KANSplineFunction(torch.autograd.Function):
    """y = SiLU(x) @ Wb^T + bases(x) @ Ws^T, saving only x for the backward pass.

    `spline_weight` is basis-major, (out, num_bases * in), to match the bases' layout.
    """

    @staticmethod
    def forward(ctx, x, base_weight, spline_weight, first_knot, inv_step, intervals: int):  # noqa: ANN001
        num_bases = spline_weight.shape[1] // x.shape[1]
        rows, t = _cubic_pieces(x, first_knot, inv_step, intervals)
        out = F.linear(F.silu(x), base_weight)
        out.addmm_(_dense_bases(t, rows, intervals, num_bases), spline_weight.t())
        ctx.save_for_backward(x, base_weight, spline_weight, first_knot, inv_step)
        ctx.intervals = intervals
        return out

    @staticmethod
    def backward(ctx, grad_out):  # noqa: ANN001
        x, base_weight, spline_weight, first_knot, inv_step = ctx.saved_tensors
        intervals = ctx.intervals
        n, d = x.shape
        num_bases = spline_weight.shape[1] // d
        grad_out = grad_out.contiguous()
        rows, t = _cubic_pieces(x, first_knot, inv_step, intervals)
        sig = torch.sigmoid(x)
        grad_x = grad_base_w = grad_spline_w = None
        if ctx.needs_input_grad[1]:
            grad_base_w = grad_out.t().mm(x * sig)
        if ctx.needs_input_grad[2]:
            grad_spline_w = grad_out.t().mm(_dense_bases(t, rows, intervals, num_bases))
        if ctx.needs_input_grad[0]:
            # d SiLU / dx = sig * (1 + x * (1 - sig))
            grad_x = grad_out.mm(base_weight) * (sig * (1.0 + x * (1.0 - sig)))
            padded = x.new_zeros(n, intervals + 4, d)
            padded[:, _CUBIC : _CUBIC + num_bases, :] = grad_out.mm(spline_weight).view(n, num_bases, d)
            near = padded.gather(1, rows)
            del padded
            grad_x += (near * _bases_derivative(t)).sum(1) * inv_step
        return grad_x, grad_base_w, grad_spline_w, None, None, None


def _uniform_grid(layer: KANLinear) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(first knot, 1/step) per input when the layer is cubic on evenly spaced knots, else None."""
    if layer.spline_order != _CUBIC:
        return None
    grid = layer.grid
    steps = grid[:, 1:] - grid[:, :-1]
    h = steps.mean(dim=1)
    if not bool((h > 0).all()) or not torch.allclose(steps, h[:, None].expand_as(steps), rtol=1e-4, atol=1e-6):
        return None
    return grid[:, 0].detach().clone(), (1.0 / h).detach()


class LeanKANLinear(nn.Module):
    """Training stand-in for a KANLinear: the same Parameters and grid, a leaner autograd graph."""

    def __init__(self, layer: KANLinear, first_knot: torch.Tensor, inv_step: torch.Tensor) -> None:
        super().__init__()
        self.in_features = layer.in_features
        self.out_features = layer.out_features
        self.enable_standalone_scale_spline = layer.enable_standalone_scale_spline
        self.base_weight = layer.base_weight
        self.spline_weight = layer.spline_weight
        if layer.enable_standalone_scale_spline:
            self.spline_scaler = layer.spline_scaler
        self.register_buffer("grid", layer.grid)
        self.first_knot = first_knot
        self.inv_step = inv_step
        self.intervals = layer.grid.shape[1] - 1
        self.original = [layer]  # a list, so it is not registered as a child module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leading = x.shape[:-1]
        x = x.reshape(-1, self.in_features)
        spline = self.spline_weight
        if self.enable_standalone_scale_spline:
            spline = spline * self.spline_scaler.unsqueeze(-1)
        spline = spline.transpose(1, 2).reshape(self.out_features, -1)  # basis-major, as the bases
        dtype = torch.promote_types(x.dtype, self.base_weight.dtype)
        if x.is_cuda and torch.is_autocast_enabled():
            dtype = torch.float32  # the bases need fp32; the matmuls are small next to the convs
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = KANSplineFunction.apply(
                x.to(dtype),
                self.base_weight.to(dtype),
                spline.to(dtype),
                self.first_knot.to(x.device, dtype),
                self.inv_step.to(x.device, dtype),
                self.intervals,
            )
        return out.reshape(*leading, self.out_features)


def _lean_swaps(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module, nn.Module]]:
    """(parent, attribute, original KANLinear, lean replacement) for every swappable layer."""
    swaps = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is KANLinear and isinstance(child.base_activation, nn.SiLU):
                spacing = _uniform_grid(child)
                if spacing is not None:
                    swaps.append((parent, name, child, LeanKANLinear(child, *spacing)))
    return swaps


@contextlib.contextmanager
def lean_kan_layers(model: nn.Module, enabled: bool = True) -> Iterator[int]:
    """Within the block, every eligible KANLinear of `model` trains through `KANSplineFunction`.

    Yields how many layers were swapped. Parameters are shared, so training updates the
    original layers; they are restored in place on exit, even after an error.
    """
    swaps = _lean_swaps(model) if enabled else []
    for parent, name, _, lean in swaps:
        setattr(parent, name, lean)
    try:
        yield len(swaps)
    finally:
        for parent, name, original, _ in swaps:
            setattr(parent, name, original)
