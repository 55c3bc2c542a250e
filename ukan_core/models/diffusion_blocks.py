"""Building blocks of Diffusion U-KAN: time embedding, DDPM residual blocks, tokenized KAN blocks.

Names mirror the official `Diffusion_UKAN/Diffusion/Model_UKAN_Hybrid.py` (they are state-dict
keys); the time-embedding width `tdim` is a parameter where the official code hard-codes 256.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import init

from ukan_core.models.blocks import DropPath, init_token_weights
from ukan_core.models.kan import KANLinear


def swish(x: torch.Tensor) -> torch.Tensor:
    """x * sigmoid(x), written as the official code does (F.silu differs by ~1e-6)."""
    return x * torch.sigmoid(x)


class Swish(nn.Module):
    """Module form of `swish`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return swish(x)


def sinusoid_table(T: int, d_model: int) -> torch.Tensor:  # noqa: N803
    """(T, d_model) table with interleaved [sin(p w0), cos(p w0), sin(p w1), ...], w_i = 10000^(-2i/d).

    Always computed on the CPU: under a meta-device build these ops would otherwise go through
    torch's Python reference kernels, whose first use imports for seconds while holding the GIL.
    """
    if d_model % 2:
        raise ValueError(f"time embedding width {d_model} must be even")
    freqs = torch.exp(-(torch.arange(0, d_model, step=2, device="cpu") / d_model * math.log(10000)))
    angles = torch.arange(T, device="cpu").float()[:, None] * freqs[None, :]
    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).view(T, d_model)


class TimeEmbedding(nn.Module):
    """Frozen sinusoid lookup -> Linear(d_model, dim) -> Swish -> Linear(dim, dim)."""

    def __init__(self, T: int, d_model: int, dim: int) -> None:  # noqa: N803
        super().__init__()
        self.timembedding = nn.Sequential(
            nn.Embedding.from_pretrained(sinusoid_table(T, d_model)),
            nn.Linear(d_model, dim),
            Swish(),
            nn.Linear(dim, dim),
        )
        for module in self.modules():
            if isinstance(module, nn.Linear):
                init.xavier_uniform_(module.weight)
                init.zeros_(module.bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.timembedding(t)


class DownSample(nn.Module):
    """Stride-2 conv3x3."""

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.main = nn.Conv2d(in_ch, in_ch, 3, stride=2, padding=1)
        init.xavier_uniform_(self.main.weight)
        init.zeros_(self.main.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class UpSample(nn.Module):
    """Nearest x2 then conv3x3."""

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.main = nn.Conv2d(in_ch, in_ch, 3, stride=1, padding=1)
        init.xavier_uniform_(self.main.weight)
        init.zeros_(self.main.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.main(F.interpolate(x, scale_factor=2, mode="nearest"))


class ResBlock(nn.Module):
    """DDPM residual block: GN-Swish-conv, + time projection, GN-Swish-Dropout-conv, + shortcut."""

    def __init__(self, in_ch: int, out_ch: int, tdim: int, dropout: float) -> None:
        super().__init__()
        self.block1 = nn.Sequential(nn.GroupNorm(32, in_ch), Swish(), nn.Conv2d(in_ch, out_ch, 3, stride=1, padding=1))
        self.temb_proj = nn.Sequential(Swish(), nn.Linear(tdim, out_ch))
        self.block2 = nn.Sequential(
            nn.GroupNorm(32, out_ch), Swish(), nn.Dropout(dropout), nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1)
        )
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=1, padding=0) if in_ch != out_ch else nn.Identity()
        self.attn = nn.Identity()  # the official model never builds its attention blocks
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init.xavier_uniform_(module.weight)
                init.zeros_(module.bias)
        init.xavier_uniform_(self.block2[-1].weight, gain=1e-5)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.block1(x)
        h = h + self.temb_proj(temb)[:, :, None, None]
        h = self.block2(h)
        return self.attn(h + self.shortcut(x))


class D_SingleConv(nn.Module):  # noqa: N801 - official name
    """Decoder conv of the KAN phase: GN-Swish-conv3x3, plus a projection of the time embedding."""

    def __init__(self, in_ch: int, out_ch: int, tdim: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.GroupNorm(32, in_ch), Swish(), nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.temb_proj = nn.Sequential(Swish(), nn.Linear(tdim, out_ch))

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.temb_proj(temb)[:, :, None, None]


class TokenKAN(nn.Module):
    """One KANLinear(C, C) with a Swish base, applied to every token (the official `kan`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = KANLinear(dim, dim, base_activation=Swish)
        self.apply(init_token_weights)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803
        B, N, C = x.shape
        return self.fc1(x.reshape(B * N, C)).reshape(B, N, C).contiguous()


class TimedKANBlock(nn.Module):
    """`kan(norm2(x)) + temb_proj(temb)` (the official `shiftedBlock`; note: no residual)."""

    def __init__(self, dim: int, tdim: int, drop_path: float = 0.0) -> None:
        super().__init__()
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.temb_proj = nn.Sequential(Swish(), nn.Linear(tdim, dim))
        self.kan = TokenKAN(dim)
        self.apply(init_token_weights)

    def forward(self, x: torch.Tensor, H: int, W: int, temb: torch.Tensor) -> torch.Tensor:  # noqa: N803
        temb = self.temb_proj(temb)
        x = self.drop_path(self.kan(self.norm2(x), H, W))
        return x + temb.unsqueeze(1)
