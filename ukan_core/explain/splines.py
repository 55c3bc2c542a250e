"""The learned edge functions of a KANLinear, and a plot of the most influential ones.

Every input→output edge (i → o) of a KANLinear carries its own function

    φ_{o,i}(x) = base_weight[o,i]·SiLU(x) + spline_scaler[o,i]·Σ_k spline_weight[o,i,k]·B_k(x),

with B_k the cubic B-spline bases on the layer's knots (the `grid` buffer, −2.2 … 2.2 by
default). Edges are ranked by the L2 norm of φ over that knot range, computed exactly for all
edges at once through a small Gram matrix per input, so even a 512×512 layer ranks in moments.
matplotlib is imported only inside `plot_edge_functions` (object API, Agg canvas, no pyplot),
so importing this module never pulls in a plotting backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ukan_core.atomic import atomic_path
from ukan_core.errors import UkanError

if TYPE_CHECKING:
    import torch
    from torch import nn

SAMPLES = 201


@dataclass(frozen=True, eq=False)
class EdgeFunction:
    """φ of one edge sampled on its input's knot range; `phi = base + spline`."""

    input: int
    output: int
    x: np.ndarray          # (SAMPLES,) float64
    phi: np.ndarray
    base: np.ndarray       # base_weight·SiLU(x)
    spline: np.ndarray     # spline_scaler·Σ spline_weight·B(x)
    l2_norm: float         # sqrt(∫ φ² dx) over the knot range, from the evenly spaced samples


def kan_layer_names(model: nn.Module) -> list[str]:
    """Module names of every KANLinear in `model`, in registration order."""
    from ukan_core.models.kan import KANLinear

    return [name for name, module in model.named_modules() if isinstance(module, KANLinear)]


def kan_edge_functions(layer: nn.Module, top: int = 8, samples: int = SAMPLES) -> list[EdgeFunction]:
    """The `top` edges of a KANLinear with the largest L2 norm of φ over the knot range, largest first."""
    import torch

    weights = _weights(layer)
    x, base_feature, bases = _sample_inputs(layer, samples)        # (P, in), (P, in), (P, in, K)
    features = torch.cat([base_feature[..., None], bases], dim=-1)   # (P, in, 1+K)
    coeffs = torch.cat([weights["base"][..., None], weights["spline"]], dim=-1)  # (out, in, 1+K)
    gram = torch.einsum("pik,pil->ikl", features, features) / x.shape[0]   # mean over samples
    mean_square = torch.einsum("oik,ikl,oil->oi", coeffs, gram, coeffs).clamp_min(0)
    length = (x[-1] - x[0]).clamp_min(0)                              # (in,)
    norms = torch.sqrt(mean_square * length[None, :])                # (out, in)

    k = max(0, min(int(top), norms.numel()))
    order = torch.argsort(norms.flatten(), descending=True, stable=True)[:k]
    edges = []
    for flat in order.tolist():
        o, i = divmod(flat, norms.shape[1])
        base = (weights["base"][o, i] * base_feature[:, i]).numpy()
        spline = (bases[:, i, :] @ weights["spline"][o, i]).numpy()
        edges.append(EdgeFunction(input=i, output=o, x=x[:, i].numpy().copy(), phi=base + spline,
                                  base=base, spline=spline, l2_norm=float(norms[o, i])))
    return edges


def edge_function(layer: nn.Module, input: int, output: int, samples: int = SAMPLES) -> EdgeFunction:
    """φ of one chosen edge (input → output)."""
    weights = _weights(layer)
    n_out, n_in = weights["base"].shape
    if not (0 <= input < n_in and 0 <= output < n_out):
        raise UkanError(f"edge {input}->{output} is outside this {n_in}->{n_out} KAN layer")
    x, base_feature, bases = _sample_inputs(layer, samples)
    base = (weights["base"][output, input] * base_feature[:, input]).numpy()
    spline = (bases[:, input, :] @ weights["spline"][output, input]).numpy()
    phi = base + spline
    length = float(x[-1, input] - x[0, input])
    return EdgeFunction(input, output, x[:, input].numpy().copy(), phi, base, spline,
                        float(np.sqrt(np.mean(phi ** 2) * max(length, 0.0))))


def plot_edge_functions(edges: list[EdgeFunction], path: str | Path, title: str | None = None,
                        columns: int = 4) -> Path:
    """Save a grid of φ(x) plots (φ solid, its SiLU and spline parts dashed) as a PNG; atomic."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not edges:
        raise UkanError("no edge functions to plot")
    columns = max(1, min(columns, len(edges)))
    rows = -(-len(edges) // columns)
    fig = Figure(figsize=(3.0 * columns, 2.4 * rows + (0.4 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, edge in zip(axes.flat, edges):
        ax.plot(edge.x, edge.phi, color="C0", lw=1.8, label="φ")
        ax.plot(edge.x, edge.base, color="C1", lw=1, ls="--", label="w·SiLU")
        ax.plot(edge.x, edge.spline, color="C2", lw=1, ls=":", label="spline")
        ax.axhline(0, color="0.8", lw=0.6)
        ax.set_title(f"in {edge.input} → out {edge.output}  (‖φ‖={edge.l2_norm:.3g})", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(edges):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=6, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return target


def _weights(layer: nn.Module) -> dict[str, torch.Tensor]:
    from ukan_core.models.kan import KANLinear

    if not isinstance(layer, KANLinear):
        raise UkanError(f"{type(layer).__name__} is not a KAN layer; choose a KANLinear (an MLP model has none)")
    base = layer.base_weight.detach().double().cpu()
    spline = layer.scaled_spline_weight.detach().double().cpu()
    return {"base": base, "spline": spline}


def _sample_inputs(layer: nn.Module, samples: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (P, in) evenly over each input's knot range, base activation (P, in), B-spline bases (P, in, K)."""
    import torch

    from ukan_core.models.kan import b_spline_bases

    grid = layer.grid.detach().double().cpu()                          # (in, knots)
    steps = torch.linspace(0.0, 1.0, max(2, int(samples)), dtype=torch.float64)[:, None]
    x = grid[:, 0][None] + steps * (grid[:, -1] - grid[:, 0])[None]     # (P, in)
    bases = b_spline_bases(x, grid, layer.spline_order)
    with torch.no_grad():
        base_feature = layer.base_activation(x)   # SiLU in every U-KAN
    return x, base_feature, bases
