"""A faster, numerically equivalent inference copy of a U-KAN / Diffusion U-KAN model.

`optimize_for_inference(model)` returns an eval-mode deep copy in which
- every KANLinear becomes a `FastKANLinear`: cubic B-spline bases of a uniform grid are computed in
  closed form (four cubic pieces scattered into place) instead of the Cox-de Boor recursion, which
  dominates the eager forward on CPU; weights are pre-scaled once; a non-uniform grid or another
  spline order falls back to the general recursion;
- every Conv2d directly followed by a BatchNorm2d is folded into one conv (eval statistics);
- conv weights are stored channels-last, which oneDNN runs much faster on CPU (inputs may stay
  NCHW; outputs are returned contiguous).
Outputs agree with the plain model within ~1e-5. The original model, its parameters and its
state-dict keys are untouched, so it remains the one to save or fine-tune; the copy is for
inference only (its KAN weights are frozen buffers).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ukan_core.models.blocks import DW_bn_relu
from ukan_core.models.diffusion_blocks import Swish
from ukan_core.models.kan import KANLinear, b_spline_bases

_CUBIC = 3


def _uniform_spacing(grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(first knot, 1 / spacing) per input when every row of `grid` is evenly spaced, else None."""
    steps = grid[:, 1:] - grid[:, :-1]
    h = steps.mean(dim=1)
    if not bool((h > 0).all()) or not torch.allclose(steps, h[:, None].expand_as(steps), rtol=1e-4, atol=1e-6):
        return None
    return grid[:, 0].clone(), (1.0 / h)


def uniform_cubic_basis_matrix(
    x: torch.Tensor, first_knot: torch.Tensor, inv_step: torch.Tensor, num_knots: int
) -> torch.Tensor:
    """Cubic B-spline bases of x (N, in) on uniform knots in closed form, basis-major: (N, bases * in).

    Column `j * in + i` holds basis j of input i. On knot interval k (0 <= k < num_knots - 1) with
    local coordinate t in [0, 1) only bases k-3 .. k are non-zero: (1-t)^3/6, (3t^3 - 6t^2 + 4)/6,
    their complement to 1, t^3/6. Outside [first knot, last knot) every basis is 0, as in the
    recursion. The result is a column slice of a padded buffer (row stride > width), which BLAS
    consumes without a copy.
    """
    n, width = x.shape
    intervals = num_knots - 1
    num_bases = num_knots - 1 - _CUBIC
    u = (x - first_knot) * inv_step
    k = torch.floor(u)
    t = u - k
    t2 = t * t
    t3 = t2 * t
    one_minus_t = 1.0 - t
    b0 = one_minus_t * one_minus_t * one_minus_t * (1.0 / 6.0)
    b1 = t2 * (0.5 * t - 1.0) + (2.0 / 3.0)
    b3 = t3 * (1.0 / 6.0)
    b2 = 1.0 - b0 - b1 - b3
    pieces = torch.stack((b0, b1, b2, b3), dim=1)  # (N, 4, in)
    # Padded rows: basis j sits in block j + 3; out-of-grid values (written as "not inside" so NaN
    # and inf count too) go to blocks past the last basis.
    start = k.masked_fill(~((k >= 0) & (k < intervals)), intervals).long()
    index = start.unsqueeze(1) + torch.arange(4, device=x.device).view(1, 4, 1)
    padded = x.new_zeros(n, intervals + 4, width)
    padded.scatter_(1, index, pieces)
    return padded.view(n, -1)[:, _CUBIC * width : (_CUBIC + num_bases) * width]


class FastKANLinear(nn.Module):
    """Inference form of a KANLinear: same outputs, pre-scaled weights, closed-form uniform bases."""

    def __init__(self, layer: KANLinear) -> None:
        super().__init__()
        self.in_features = layer.in_features
        self.out_features = layer.out_features
        self.spline_order = layer.spline_order
        self.num_bases = layer.grid_size + layer.spline_order
        with torch.no_grad():
            self.register_buffer("base_weight", layer.base_weight.detach().clone())
            # Basis-major (out, bases * in), matching `uniform_cubic_basis_matrix`.
            scaled = layer.scaled_spline_weight.detach()
            self.register_buffer("spline_weight", scaled.permute(0, 2, 1).reshape(layer.out_features, -1).clone())
            self.register_buffer("grid", layer.grid.detach().clone())
            spacing = _uniform_spacing(layer.grid) if layer.spline_order == _CUBIC else None
        self.uniform = spacing is not None
        if spacing is not None:
            self.register_buffer("first_knot", spacing[0])
            self.register_buffer("inv_step", spacing[1])
        act = layer.base_activation
        self.base_activation = F.silu if isinstance(act, (nn.SiLU, Swish)) else act

    def basis_matrix(self, x: torch.Tensor) -> torch.Tensor:
        """Bases of x (N, in) as the basis-major matrix (N, bases * in) the spline weights expect."""
        if self.uniform:
            return uniform_cubic_basis_matrix(x, self.first_knot, self.inv_step, self.grid.shape[1])
        return b_spline_bases(x, self.grid, self.spline_order).transpose(1, 2).reshape(x.shape[0], -1)

    def bases(self, x: torch.Tensor) -> torch.Tensor:
        """Bases of x (N, in) in the KANLinear layout (N, in, bases)."""
        return self.basis_matrix(x).reshape(x.shape[0], self.num_bases, self.in_features).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leading = x.shape[:-1]
        x = x.reshape(-1, self.in_features)
        out = F.linear(self.base_activation(x), self.base_weight)
        out = out.addmm_(self.basis_matrix(x), self.spline_weight.t())
        return out.reshape(*leading, self.out_features)


def _fold_batchnorms(module: nn.Module) -> None:
    """Fold each eval-mode BatchNorm2d into the Conv2d just before it (in Sequentials and DW_bn_relu)."""
    for child in module.children():
        _fold_batchnorms(child)
    if isinstance(module, nn.Sequential):
        for i in range(len(module) - 1):
            conv, bn = module[i], module[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                module[i] = fuse_conv_bn_eval(conv, bn)
                module[i + 1] = nn.Identity()
    elif isinstance(module, DW_bn_relu) and isinstance(module.bn, nn.BatchNorm2d):
        module.dwconv = fuse_conv_bn_eval(module.dwconv, module.bn)
        module.bn = nn.Identity()


def _replace_kan_layers(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, KANLinear):
            setattr(module, name, FastKANLinear(child))
        else:
            _replace_kan_layers(child)


def _contiguous_output(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return output.contiguous()


def optimize_for_inference(model: nn.Module, *, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of `model` with fast KAN layers and folded BatchNorms; `model` is unchanged.

    The copy keeps `.config` and `.architecture`, takes the same inputs and gives the same outputs
    (within ~1e-5); use it under `torch.inference_mode()`. Save and train the original, not the copy.
    """
    fast = copy.deepcopy(model).eval()
    for p in fast.parameters():
        p.requires_grad_(False)
    _fold_batchnorms(fast)
    _replace_kan_layers(fast)
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
        fast.register_forward_hook(_contiguous_output)
    fast.optimized_for_inference = True
    return fast
