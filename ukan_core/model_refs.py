"""What a model reference means: a checkpoint path, a bundled model name, or a store `name[/version]`.

This module sits above the model store (`ukan_core.store`) and the checkpoint file format
(`ukan_core.io.checkpoints`): it turns the text a user typed into a file, then into a model.
The format module knows only files; the store knows only its folders; neither imports this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ukan_core.errors import CheckpointError, StoreError
from ukan_core.io.checkpoints import CHECKPOINT_SUFFIX, OFFICIAL_SUFFIXES, load_model_file
from ukan_core.store import ModelStore, bundled_location

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["DEFAULT_GENERATOR", "DEFAULT_MODEL", "resolve_model", "load_model", "load_model_with_info"]

DEFAULT_MODEL = "ukan-synthetic-us"  # resources/models/ukan-synthetic-us.safetensors
DEFAULT_GENERATOR = "ukan-synthetic-us-pairs"  # resources/models/ukan-synthetic-us-pairs.safetensors


def resolve_model(path_or_name: str | Path) -> Path:
    """The checkpoint file meant by a path, a bundled model name, or a store name (`name[/version]`)."""
    text = str(path_or_name).strip()
    if not text:
        raise CheckpointError("no model given; pass a model name or a checkpoint file")
    candidate = Path(text).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.is_dir() and (candidate / f"model{CHECKPOINT_SUFFIX}").is_file():
        return candidate / f"model{CHECKPOINT_SUFFIX}"
    if candidate.suffix.lower() in (CHECKPOINT_SUFFIX, *OFFICIAL_SUFFIXES) or candidate.exists():
        raise CheckpointError(f"{candidate.name}: file not found" if not candidate.exists()
                              else f"{candidate.name}: not a checkpoint file")
    store = ModelStore()
    name, _, version = text.partition("/")
    try:
        return store.path(name, version or None)
    except StoreError as exc:
        known = store.names()
        listing = ", ".join(known) if known else "none installed"
        if name in known:
            raise CheckpointError(str(exc)) from None
        raise CheckpointError(
            f"unknown model {text!r}; known models: {listing} (or pass a .safetensors/.pth file)"
        ) from None


def load_model_with_info(path_or_name: str | Path, device: str | torch.device = "cpu"
                         ) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, checkpoint info) for our `.safetensors`, an official `.pth`/`.pt`, or a name."""
    path = resolve_model(path_or_name)
    model, info = load_model_file(path, device)
    location = bundled_location(path)
    if location is not None:  # so that a fine-tune names its parent "name/bundled"
        info["name"], info["version"] = location
    return model, info


def load_model(path_or_name: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The model (eval mode, on `device`) of a checkpoint file, bundled model name or store name."""
    return load_model_with_info(path_or_name, device)[0]
