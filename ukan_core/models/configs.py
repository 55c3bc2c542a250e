"""Model configurations (frozen dataclasses stored in every checkpoint) and `build_model`.

This module does not import torch at load time, so checkpoint headers can be read and
configurations validated without it; `build_model` imports the model classes on first use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from torch import nn


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

NAMED_CONFIGS: dict[str, UKANConfig] = {
    "ukan-s": UKANConfig(embed_dims=(64, 96, 128)),
    "ukan": UKANConfig(),
    "ukan-l": UKANConfig(embed_dims=(256, 320, 512)),
}

CONFIG_CLASSES: dict[str, type] = {"ukan": UKANConfig, "diffusion_ukan": DiffusionUKANConfig}


def _to_json(config: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(architecture: str, values: dict[str, Any]) -> ModelConfig:
    """The config dataclass of `architecture` from a (JSON) dict; lists become tuples.

    Raises ValueError naming an unknown architecture or unknown keys.
    """
    cls = _config_class(architecture)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{architecture} config: unknown keys {unknown}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _config_class(architecture: str) -> type:
    try:
        return CONFIG_CLASSES[architecture]
    except KeyError:
        raise ValueError(
            f"unknown architecture {architecture!r} (known: {', '.join(sorted(CONFIG_CLASSES))})"
        ) from None


def build_model(architecture: str, config: dict[str, Any] | ModelConfig | str | None = None) -> nn.Module:
    """A freshly initialised model of `architecture` ("ukan" or "diffusion_ukan") for `config`.

    `config` may be the dataclass, a dict of its fields (as stored in a checkpoint) or None
    (defaults). For "ukan" a named config ("ukan-s", "ukan", "ukan-l") is accepted as a string.
    """
    cls = _config_class(architecture)
    if config is None:
        config = cls()
    elif isinstance(config, str):
        if architecture != "ukan" or config not in NAMED_CONFIGS:
            raise ValueError(f"unknown named config {config!r} (known: {', '.join(NAMED_CONFIGS)})")
        config = NAMED_CONFIGS[config]
    elif isinstance(config, dict):
        config = config_from_dict(architecture, config)
    elif not isinstance(config, cls):
        raise ValueError(f"{architecture}: expected a {cls.__name__}, got {type(config).__name__}")

    if architecture == "ukan":
        from ukan_core.models.ukan import UKAN

        return UKAN.from_config(config)
    from ukan_core.models.diffusion_ukan import DiffusionUKAN

    return DiffusionUKAN.from_config(config)
