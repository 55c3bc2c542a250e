"""KANLinear: a Kolmogorov-Arnold layer with learnable cubic B-spline edges (efficient-KAN form).

Each output is `sum_i SiLU(x_i) * w_base[o, i] + sum_i spline_{o,i}(x_i)`, where every spline is a
B-spline on a fixed knot vector (the persistent `grid` buffer). Parameter names, buffer and
numerics follow the official U-KAN `KANLinear`, so official checkpoints load unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def uniform_knots(in_features: int, grid_size: int, spline_order: int, grid_range: Sequence[float]) -> torch.Tensor:
    """The official knot vector, `grid_size + 2*spline_order + 1` knots per input (−2.2 … 2.2 by default).

    Computed on the CPU even inside a meta-device build (see `init_token_weights` for why).
    """
    h = (grid_range[1] - grid_range[0]) / grid_size
    knots = torch.arange(-spline_order, grid_size + spline_order + 1, device="cpu") * h + grid_range[0]
    return knots.expand(in_features, -1).contiguous()


def b_spline_bases(x: torch.Tensor, grid: torch.Tensor, spline_order: int) -> torch.Tensor:
    """B-spline bases of `x` (N, in) on `grid` (in, K) by the Cox-de Boor recursion -> (N, in, K-1-order).

    Order-0 bases are `g[j] <= x < g[j+1]`, so every basis is 0 outside `[g[0], g[-1])`.
    """
    x = x.unsqueeze(-1)
    bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
    for k in range(1, spline_order + 1):
        left = (x - grid[:, : -(k + 1)]) / (grid[:, k:-1] - grid[:, : -(k + 1)]) * bases[:, :, :-1]
        right = (grid[:, k + 1 :] - x) / (grid[:, k + 1 :] - grid[:, 1:(-k)]) * bases[:, :, 1:]
        bases = left + right
    return bases.contiguous()


class KANLinear(nn.Module):
    """A KAN layer `in_features -> out_features`; accepts any (..., in_features) input.

    Defaults are the official ones: grid 5, order 3, SiLU base, knots on [-1, 1] extended by the order.
    `spline_scaler` exists only when `enable_standalone_scale_spline` (the official default).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        spline_order: int = 3,
        scale_noise: float = 0.1,
        scale_base: float = 1.0,
        scale_spline: float = 1.0,
        enable_standalone_scale_spline: bool = True,
        base_activation: type[nn.Module] = nn.SiLU,
        grid_eps: float = 0.02,
        grid_range: Sequence[float] = (-1, 1),
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.grid_size = grid_size
        self.spline_order = spline_order
        self.register_buffer("grid", uniform_knots(in_features, grid_size, spline_order, grid_range))

        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        if enable_standalone_scale_spline:
            self.spline_scaler = nn.Parameter(torch.empty(out_features, in_features))

        self.scale_noise = scale_noise
        self.scale_base = scale_base
        self.scale_spline = scale_spline
        self.enable_standalone_scale_spline = enable_standalone_scale_spline
        self.base_activation = base_activation()
        self.grid_eps = grid_eps
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Official init: kaiming-uniform base weights; splines least-squares fitted to small noise.

        On the meta device (shape-only builds) there is nothing to fit, so the lstsq step is skipped.
        """
        if self.spline_weight.is_meta:
            return
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
        with torch.no_grad():
            noise = (
                (torch.rand(self.grid_size + 1, self.in_features, self.out_features) - 1 / 2)
                * self.scale_noise
                / self.grid_size
            )
            scale = 1.0 if self.enable_standalone_scale_spline else self.scale_spline
            knots_inside = self.grid.T[self.spline_order : -self.spline_order]
            self.spline_weight.data.copy_(scale * self.curve_to_coefficients(knots_inside, noise))
            if self.enable_standalone_scale_spline:
                nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)

    @property
    def num_bases(self) -> int:
        """Number of B-spline bases per input (grid_size + spline_order)."""
        return self.grid_size + self.spline_order

    def b_splines(self, x: torch.Tensor) -> torch.Tensor:
        """Bases of a 2-D input (N, in) -> (N, in, grid_size + spline_order)."""
        if x.dim() != 2 or x.size(1) != self.in_features:
            raise ValueError(f"KANLinear.b_splines: expected (N, {self.in_features}) input, got {tuple(x.shape)}")
        return b_spline_bases(x, self.grid, self.spline_order)

    def curve_to_coefficients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Spline coefficients (out, in, bases) whose curves pass closest to points y (N, in, out) at x (N, in)."""
        a = self.b_splines(x).transpose(0, 1).double()  # (in, N, bases)
        b = y.transpose(0, 1).double()  # (in, N, out)
        # Solved in float64: LAPACK's float32 answer differs in its last bits from run to run (memory
        # alignment picks the kernel), which made a seeded model differ; rounded back, it is reproducible.
        solution = torch.linalg.lstsq(a, b).solution.to(y.dtype)  # (in, bases, out)
        return solution.permute(2, 0, 1).contiguous()

    @property
    def scaled_spline_weight(self) -> torch.Tensor:
        """Spline coefficients times their per-edge scaler, (out, in, bases)."""
        if self.enable_standalone_scale_spline:
            return self.spline_weight * self.spline_scaler.unsqueeze(-1)
        return self.spline_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(-1) != self.in_features:
            raise ValueError(f"KANLinear: expected last dimension {self.in_features}, got {tuple(x.shape)}")
        leading = x.shape[:-1]
        x = x.reshape(-1, self.in_features)
        base_output = F.linear(self.base_activation(x), self.base_weight)
        spline_output = F.linear(
            self.b_splines(x).view(x.size(0), -1),
            self.scaled_spline_weight.view(self.out_features, -1),
        )
        return (base_output + spline_output).reshape(*leading, self.out_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"grid_size={self.grid_size}, spline_order={self.spline_order}"
        )
