"""U-KAN for 2D segmentation: conv encoder, tokenized KAN bottleneck, additive-skip decoder.

Numerically identical to the official `Seg_UKAN/archs.py::UKAN` with the same state-dict keys,
with two deliberate differences: `input_channels` and `no_kan` are honoured (the official
constructor accepts and ignores them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ukan_core.models.blocks import ConvLayer, D_ConvLayer, KANBlock, PatchEmbed
from ukan_core.models.configs import UKANConfig

# Official constructor arguments that have no effect there either; accepted so official calls work.
_IGNORED_OFFICIAL_KWARGS = frozenset(
    {"deep_supervision", "img_size", "patch_size", "in_chans", "drop_rate", "depths", "norm_layer"}
)

SIZE_MULTIPLE = 32


def check_input_size(height: int, width: int) -> None:
    """Raise a one-line ValueError unless height and width are positive multiples of 32."""
    if height <= 0 or width <= 0 or height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(
            f"U-KAN input size {height}x{width} is not a multiple of {SIZE_MULTIPLE}; "
            f"resize or pad the image (e.g. to {_round_up(height)}x{_round_up(width)})"
        )


def _round_up(n: int) -> int:
    return max(SIZE_MULTIPLE, -(-n // SIZE_MULTIPLE) * SIZE_MULTIPLE)


def _tokens_to_map(tokens: torch.Tensor, B: int, H: int, W: int) -> torch.Tensor:  # noqa: N803
    return tokens.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()


def _upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=(2, 2), mode="bilinear")


class UKAN(nn.Module):
    """Segmentation U-KAN returning logits (B, num_classes, H, W) for H, W multiples of 32."""

    architecture: ClassVar[str] = "ukan"

    def __init__(
        self,
        num_classes: int = 1,
        input_channels: int = 3,
        embed_dims: Sequence[int] = (128, 160, 256),
        no_kan: bool = False,
        drop_path_rate: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        unknown = sorted(set(kwargs) - _IGNORED_OFFICIAL_KWARGS)
        if unknown:
            raise TypeError(f"UKAN: unexpected arguments {unknown}")
        e0, e1, e2 = (int(d) for d in embed_dims)
        self._config = UKANConfig(
            num_classes=int(num_classes),
            input_channels=int(input_channels),
            embed_dims=(e0, e1, e2),
            no_kan=bool(no_kan),
            drop_path_rate=float(drop_path_rate),
        )
        # Registration order follows the official class, so state_dict order matches too.
        self.encoder1 = ConvLayer(input_channels, e0 // 8)
        self.encoder2 = ConvLayer(e0 // 8, e0 // 4)
        self.encoder3 = ConvLayer(e0 // 4, e0)

        self.norm3 = nn.LayerNorm(e1)
        self.norm4 = nn.LayerNorm(e2)
        self.dnorm3 = nn.LayerNorm(e1)
        self.dnorm4 = nn.LayerNorm(e0)

        # Official: linspace over sum(depths) = 3 entries; stage 1 uses dpr[0] (= 0), stage 2 dpr[1].
        dpr = [drop_path_rate * i / 2 for i in range(3)]
        self.block1 = nn.ModuleList([KANBlock(e1, drop_path=dpr[0], no_kan=no_kan)])
        self.block2 = nn.ModuleList([KANBlock(e2, drop_path=dpr[1], no_kan=no_kan)])
        self.dblock1 = nn.ModuleList([KANBlock(e1, drop_path=dpr[0], no_kan=no_kan)])
        self.dblock2 = nn.ModuleList([KANBlock(e0, drop_path=dpr[1], no_kan=no_kan)])

        self.patch_embed3 = PatchEmbed(e0, e1)
        self.patch_embed4 = PatchEmbed(e1, e2)

        self.decoder1 = D_ConvLayer(e2, e1)
        self.decoder2 = D_ConvLayer(e1, e0)
        self.decoder3 = D_ConvLayer(e0, e0 // 4)
        self.decoder4 = D_ConvLayer(e0 // 4, e0 // 8)
        self.decoder5 = D_ConvLayer(e0 // 8, e0 // 8)
        self.final = nn.Conv2d(e0 // 8, num_classes, kernel_size=1)

    @classmethod
    def from_config(cls, config: UKANConfig) -> UKAN:
        """A freshly initialised model for `config`."""
        return cls(
            num_classes=config.num_classes,
            input_channels=config.input_channels,
            embed_dims=config.embed_dims,
            no_kan=config.no_kan,
            drop_path_rate=config.drop_path_rate,
        )

    @property
    def config(self) -> UKANConfig:
        """The hyper-parameters this model was built with."""
        return self._config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self._config.input_channels:
            raise ValueError(
                f"U-KAN expects input (B, {self._config.input_channels}, H, W), got {tuple(x.shape)}"
            )
        check_input_size(x.shape[2], x.shape[3])
        B = x.shape[0]
        # The ReLUs after pooling/upsampling are no-ops (inputs >= 0); kept to mirror the official graph.
        t1 = out = F.relu(F.max_pool2d(self.encoder1(x), 2, 2))
        t2 = out = F.relu(F.max_pool2d(self.encoder2(out), 2, 2))
        t3 = out = F.relu(F.max_pool2d(self.encoder3(out), 2, 2))

        out, H, W = self.patch_embed3(out)
        for blk in self.block1:
            out = blk(out, H, W)
        t4 = out = _tokens_to_map(self.norm3(out), B, H, W)

        out, H, W = self.patch_embed4(out)
        for blk in self.block2:
            out = blk(out, H, W)
        out = _tokens_to_map(self.norm4(out), B, H, W)

        out = torch.add(F.relu(_upsample2(self.decoder1(out))), t4)
        _, _, H, W = out.shape
        out = out.flatten(2).transpose(1, 2)
        for blk in self.dblock1:
            out = blk(out, H, W)
        out = _tokens_to_map(self.dnorm3(out), B, H, W)

        out = torch.add(F.relu(_upsample2(self.decoder2(out))), t3)
        _, _, H, W = out.shape
        out = out.flatten(2).transpose(1, 2)
        for blk in self.dblock2:
            out = blk(out, H, W)
        out = _tokens_to_map(self.dnorm4(out), B, H, W)

        out = torch.add(F.relu(_upsample2(self.decoder3(out))), t2)
        out = torch.add(F.relu(_upsample2(self.decoder4(out))), t1)
        out = F.relu(_upsample2(self.decoder5(out)))
        return self.final(out)
