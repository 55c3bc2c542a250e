"""Diffusion U-KAN: the DDPM noise predictor with a tokenized KAN bottleneck (official `UKan_Hybrid`).

Identical to the official model at its default `ch=64`; here `embed_dims` and the time-embedding
width (`tdim = 4 * ch`) follow the config instead of being hard-coded, so small models can be built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import init

from ukan_core.models.blocks import PatchEmbed
from ukan_core.models.configs import DiffusionUKANConfig
from ukan_core.models.diffusion_blocks import (
    D_SingleConv,
    DownSample,
    ResBlock,
    Swish,
    TimedKANBlock,
    TimeEmbedding,
    UpSample,
    swish,
)


def _tokens_to_map(tokens: torch.Tensor, B: int, H: int, W: int) -> torch.Tensor:  # noqa: N803
    return tokens.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()


class DiffusionUKAN(nn.Module):
    """Predicts the noise in `x` (B, C, H, W) at integer timesteps `t` (B,); H, W divisible by 4 * 2**levels."""

    architecture: ClassVar[str] = "diffusion_ukan"

    def __init__(
        self,
        T: int = 1000,  # noqa: N803
        ch: int = 64,
        ch_mult: Sequence[int] = (1, 2, 3, 4),
        attn: Sequence[int] = (2,),
        num_res_blocks: int = 2,
        dropout: float = 0.15,
        embed_dims: Sequence[int] = (256, 320, 512),
        image_size: int = 64,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        ch_mult, attn, embed_dims = tuple(ch_mult), tuple(attn), tuple(int(d) for d in embed_dims)
        # `attn` is recorded but, exactly as in the official model, no attention block is built; it is
        # therefore not validated against ch_mult (the official assert would only reject unused values).
        if len(embed_dims) != 3 or embed_dims[0] != ch * ch_mult[-1]:
            raise ValueError(
                f"Diffusion U-KAN: embed_dims[0] must equal ch * ch_mult[-1] = {ch * ch_mult[-1]}, "
                f"got {list(embed_dims)}"
            )
        self._config = DiffusionUKANConfig(
            T=T, ch=ch, ch_mult=ch_mult, attn=attn, num_res_blocks=num_res_blocks, dropout=dropout,
            embed_dims=embed_dims, image_size=image_size, in_channels=in_channels,
        )
        tdim = self._config.tdim
        self.time_embedding = TimeEmbedding(T, ch, tdim)
        self.head = nn.Conv2d(in_channels, ch, kernel_size=3, stride=1, padding=1)

        self.downblocks = nn.ModuleList()
        skip_channels = [ch]
        now_ch = ch
        for level, mult in enumerate(ch_mult):
            out_ch = ch * mult
            for _ in range(num_res_blocks):
                self.downblocks.append(ResBlock(now_ch, out_ch, tdim, dropout))
                now_ch = out_ch
                skip_channels.append(now_ch)
            if level != len(ch_mult) - 1:
                self.downblocks.append(DownSample(now_ch))
                skip_channels.append(now_ch)

        self.upblocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(ch_mult))):
            out_ch = ch * mult
            for _ in range(num_res_blocks + 1):
                self.upblocks.append(ResBlock(skip_channels.pop() + now_ch, out_ch, tdim, dropout))
                now_ch = out_ch
            if level != 0:
                self.upblocks.append(UpSample(now_ch))

        self.tail = nn.Sequential(
            nn.GroupNorm(32, now_ch), Swish(), nn.Conv2d(now_ch, in_channels, 3, stride=1, padding=1)
        )

        e0, e1, e2 = embed_dims
        self.patch_embed3 = PatchEmbed(e0, e1)
        self.patch_embed4 = PatchEmbed(e1, e2)
        self.norm3 = nn.LayerNorm(e1)
        self.norm4 = nn.LayerNorm(e2)
        self.dnorm3 = nn.LayerNorm(e1)
        self.kan_block1 = nn.ModuleList([TimedKANBlock(e1, tdim)])
        self.kan_block2 = nn.ModuleList([TimedKANBlock(e2, tdim)])
        self.kan_dblock1 = nn.ModuleList([TimedKANBlock(e1, tdim)])
        self.decoder1 = D_SingleConv(e2, e1, tdim)
        self.decoder2 = D_SingleConv(e1, e0, tdim)

        init.xavier_uniform_(self.head.weight)
        init.zeros_(self.head.bias)
        init.xavier_uniform_(self.tail[-1].weight, gain=1e-5)
        init.zeros_(self.tail[-1].bias)

    @classmethod
    def from_config(cls, config: DiffusionUKANConfig) -> DiffusionUKAN:
        """A freshly initialised model for `config`."""
        return cls(
            T=config.T, ch=config.ch, ch_mult=config.ch_mult, attn=config.attn,
            num_res_blocks=config.num_res_blocks, dropout=config.dropout, embed_dims=config.embed_dims,
            image_size=config.image_size, in_channels=config.in_channels,
        )

    @property
    def config(self) -> DiffusionUKANConfig:
        """The hyper-parameters this model was built with."""
        return self._config

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 4 * 2 ** (len(self._config.ch_mult) - 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        multiple = self.size_multiple
        if x.dim() != 4 or x.shape[2] % multiple or x.shape[3] % multiple:
            raise ValueError(
                f"Diffusion U-KAN input must be (B, C, H, W) with H, W multiples of {multiple}, got {tuple(x.shape)}"
            )
        temb = self.time_embedding(t)
        hs = [self.head(x)]
        for layer in self.downblocks:
            hs.append(layer(hs[-1], temb))

        # Tokenized KAN phase in place of the DDPM middle block.
        B = x.shape[0]
        t3 = h = hs[-1]
        h, H, W = self.patch_embed3(h)
        for blk in self.kan_block1:
            h = blk(h, H, W, temb)
        t4 = h = _tokens_to_map(self.norm3(h), B, H, W)

        h, H, W = self.patch_embed4(h)
        for blk in self.kan_block2:
            h = blk(h, H, W, temb)
        h = _tokens_to_map(self.norm4(h), B, H, W)

        h = torch.add(swish(F.interpolate(self.decoder1(h, temb), scale_factor=(2, 2), mode="bilinear")), t4)
        _, _, H, W = h.shape
        h = h.flatten(2).transpose(1, 2)
        for blk in self.kan_dblock1:
            h = blk(h, H, W, temb)
        h = _tokens_to_map(self.dnorm3(h), B, H, W)
        h = torch.add(swish(F.interpolate(self.decoder2(h, temb), scale_factor=(2, 2), mode="bilinear")), t3)

        for layer in self.upblocks:
            if isinstance(layer, ResBlock):
                h = torch.cat([h, hs.pop()], dim=1)
            h = layer(h, temb)
        return self.tail(h)
