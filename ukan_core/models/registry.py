"""The one list of architectures and named configurations.

An architecture name ("ukan", "diffusion_ukan") is what a checkpoint stores; here it maps to its
config dataclass and its model class. Model classes are imported on first use, so this module
(like `configs`) can be imported without torch, e.g. to read a checkpoint header or fill a menu.
The named presets live here too: the segmentation sizes `ukan-s`, `ukan`, `ukan-l` and the sizes
offered for a new generator.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ukan_core.models.configs import DiffusionUKANConfig, ModelConfig, UKANConfig

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "ARCHITECTURES", "Architecture", "GENERATOR_PRESETS", "NAMED_CONFIGS",
    "architecture", "build_model", "config_from_dict",
]


@dataclass(frozen=True)
class Architecture:
    """One network family: its stored name, config class, model class and official state-dict marks."""

    name: str
    title: str                          # for people: "U-KAN", "Diffusion U-KAN"
    config_class: type
    model_path: str                     # "module:Class", imported on first use (torch)
    official_keys: tuple[str, ...]      # keys that tell an official state dict of this family

    def model_class(self) -> type:
        """The nn.Module class (imports torch and the model module)."""
        module, _, name = self.model_path.partition(":")
        return getattr(importlib.import_module(module), name)


ARCHITECTURES: dict[str, Architecture] = {
    "ukan": Architecture("ukan", "U-KAN", UKANConfig, "ukan_core.models.ukan:UKAN",
                         ("encoder1.conv.0.weight", "final.weight")),
    "diffusion_ukan": Architecture("diffusion_ukan", "Diffusion U-KAN", DiffusionUKANConfig,
                                   "ukan_core.models.diffusion_ukan:DiffusionUKAN",
                                   ("time_embedding.timembedding.0.weight", "head.weight")),
}

# Segmentation sizes (`ukan train --config`): small, the paper's, large.
NAMED_CONFIGS: dict[str, UKANConfig] = {
    "ukan-s": UKANConfig(embed_dims=(64, 96, 128)),
    "ukan": UKANConfig(),
    "ukan-l": UKANConfig(embed_dims=(256, 320, 512)),
}

# Generator sizes offered for a new model (overrides of DiffusionUKANConfig); "official" is the paper's.
GENERATOR_PRESETS: dict[str, dict[str, Any]] = {
    "small": {"ch": 32, "ch_mult": [1, 2, 3, 4], "embed_dims": [128, 160, 256]},
    "official": {},
}


def architecture(name: str) -> Architecture:
    """The registered architecture `name`; ValueError listing the known ones otherwise."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown architecture {name!r} (known: {', '.join(sorted(ARCHITECTURES))})"
        ) from None


def config_from_dict(architecture_name: str, values: dict[str, Any]) -> ModelConfig:
    """The config dataclass of `architecture_name` from a (JSON) dict; lists become tuples.

    Raises ValueError naming an unknown architecture or unknown keys.
    """
    cls = architecture(architecture_name).config_class
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{architecture_name} config: unknown keys {unknown}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def build_model(architecture_name: str, config: dict[str, Any] | ModelConfig | str | None = None) -> nn.Module:
    """A freshly initialised model of `architecture_name` ("ukan" or "diffusion_ukan") for `config`.

    `config` may be the dataclass, a dict of its fields (as stored in a checkpoint) or None
    (defaults). For "ukan" a named config ("ukan-s", "ukan", "ukan-l") is accepted as a string.
    """
    entry = architecture(architecture_name)
    cls = entry.config_class
    if config is None:
        config = cls()
    elif isinstance(config, str):
        if architecture_name != "ukan" or config not in NAMED_CONFIGS:
            raise ValueError(f"unknown named config {config!r} (known: {', '.join(NAMED_CONFIGS)})")
        config = NAMED_CONFIGS[config]
    elif isinstance(config, dict):
        config = config_from_dict(architecture_name, config)
    elif not isinstance(config, cls):
        raise ValueError(f"{architecture_name}: expected a {cls.__name__}, got {type(config).__name__}")
    return entry.model_class().from_config(config)
