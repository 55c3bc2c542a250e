"""Model configurations: the frozen dataclasses stored in every checkpoint.

This module imports neither torch nor the models, so checkpoint headers can be read and
configurations validated without them. Which name means which config and model class, the
named presets and `build_model` live in `ukan_core.models.registry`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class UKANConfig:
    """Segmentation U-KAN: `embed_dims` = (C3, D1, D2); the conv widths are C3//8, C3//4, C3."""

    num_classes: int = 1
    input_channels: int = 3
    embed_dims: tuple[int, int, int] = (128, 160, 256)
    no_kan: bool = False
    drop_path_rate: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return _to_json(self)


@dataclass(frozen=True)
class DiffusionUKANConfig:
    """Diffusion U-KAN noise predictor (official `UKan_Hybrid`); time-embedding width is 4 * ch.

    `embed_dims[0]` must equal `ch * ch_mult[-1]`. `attn` is kept for fidelity but, as in the
    official code, no attention block is built. `image_size` is the training/sampling size.
    """

    T: int = 1000
    ch: int = 64
    ch_mult: tuple[int, ...] = (1, 2, 3, 4)
    attn: tuple[int, ...] = (2,)
    num_res_blocks: int = 2
    dropout: float = 0.15
    embed_dims: tuple[int, int, int] = (256, 320, 512)
    image_size: int = 64
    in_channels: int = 3

    @property
    def tdim(self) -> int:
        """Width of the time embedding."""
        return 4 * self.ch

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return _to_json(self)


ModelConfig = Union[UKANConfig, DiffusionUKANConfig]


def _to_json(config: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
