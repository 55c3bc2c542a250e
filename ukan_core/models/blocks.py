"""Building blocks of the segmentation U-KAN: conv stages, the tokenized KAN block, patch embedding.

Module and attribute names mirror the official `Seg_UKAN/archs.py`, because they become the
state-dict keys of official checkpoints.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ukan_core.models.kan import KANLinear


def init_token_weights(module: nn.Module) -> None:
    """The official `_init_weights`: trunc-normal linears, unit LayerNorms, fan-out normal convs.

    Skipped on the meta device (a shape-only build that a checkpoint will fill): random init there
    goes through torch's Python reference kernels, whose first use imports torch._dynamo for
    seconds while holding the GIL — a frozen window when a worker loads a model.
    """
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.is_meta:
        return
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        module.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            module.bias.data.zero_()


class DropPath(nn.Module):
    """Stochastic depth: drop whole residual branches per sample while training."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def _double_conv(in_ch: int, mid_ch: int, out_ch: int) -> nn.Sequential:
    """conv3x3 + BatchNorm + ReLU twice, in -> mid -> out (keys conv.0, conv.1, conv.3, conv.4 as official)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, mid_ch, 3, padding=1),
        nn.BatchNorm2d(mid_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid_ch, out_ch, 3, padding=1),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ConvLayer(nn.Module):
    """Encoder stage: two (conv3x3 + BatchNorm + ReLU), in -> out -> out."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = _double_conv(in_ch, out_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class D_ConvLayer(nn.Module):  # noqa: N801 - official name
    """Decoder stage: two (conv3x3 + BatchNorm + ReLU), in -> in -> out."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = _double_conv(in_ch, in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class DW_bn_relu(nn.Module):  # noqa: N801 - official name
    """Depthwise 3x3 conv + BatchNorm + ReLU on tokens (B, N, C) laid out as an H x W map."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)
        self.bn = nn.BatchNorm2d(dim)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803
        B, N, C = x.shape
        x = x.transpose(1, 2).view(B, C, H, W)
        x = self.relu(self.bn(self.dwconv(x)))
        return x.flatten(2).transpose(1, 2)


class KANLayer(nn.Module):
    """fc1 -> dwconv_1 -> fc2 -> dwconv_2 -> fc3 -> dwconv_3 on tokens; no residual inside.

    `no_kan=True` uses `nn.Linear(C, C)` (with bias) instead of KANLinear: the paper's MLP baseline,
    which the official code accepts but never builds.
    """

    def __init__(self, dim: int, no_kan: bool = False) -> None:
        super().__init__()
        self.dim = dim
        for name in ("fc1", "fc2", "fc3"):
            setattr(self, name, nn.Linear(dim, dim) if no_kan else KANLinear(dim, dim))
        self.dwconv_1 = DW_bn_relu(dim)
        self.dwconv_2 = DW_bn_relu(dim)
        self.dwconv_3 = DW_bn_relu(dim)
        self.apply(init_token_weights)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803
        B, N, C = x.shape
        x = self.fc1(x.reshape(B * N, C)).reshape(B, N, C).contiguous()
        x = self.dwconv_1(x, H, W)
        x = self.fc2(x.reshape(B * N, C)).reshape(B, N, C).contiguous()
        x = self.dwconv_2(x, H, W)
        x = self.fc3(x.reshape(B * N, C)).reshape(B, N, C).contiguous()
        return self.dwconv_3(x, H, W)


class KANBlock(nn.Module):
    """Pre-norm residual block: `x + drop_path(layer(norm2(x)))`."""

    def __init__(self, dim: int, drop_path: float = 0.0, no_kan: bool = False) -> None:
        super().__init__()
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.layer = KANLayer(dim, no_kan=no_kan)
        self.apply(init_token_weights)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:  # noqa: N803
        return x + self.drop_path(self.layer(self.norm2(x), H, W))


class PatchEmbed(nn.Module):
    """Overlapping patch embedding: conv3x3 stride 2, flatten to tokens, LayerNorm; returns (tokens, H, W)."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride, padding=patch_size // 2)
        self.norm = nn.LayerNorm(embed_dim)
        self.apply(init_token_weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        _, _, H, W = x.shape
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x, H, W
