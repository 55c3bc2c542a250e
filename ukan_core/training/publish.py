"""Write a trained model: its checkpoint metadata, a data fingerprint, the file and/or a store version."""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from ukan_core import __version__


def data_fingerprint(pairs: Sequence[Any]) -> str:
    """SHA-256 over the bytes of every pair's image and mask, in id order ("sha256:<hex>").

    Two runs on the same files have the same fingerprint, whatever the folder is called.
    """
    digest = hashlib.sha256()
    for pair in sorted(pairs, key=lambda p: str(p.id)):
        for path in (pair.image, *getattr(pair, "masks", (pair.mask,))):
            digest.update(Path(path).read_bytes())
            digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def class_names(num_classes: int) -> list[str]:
    """Default names of the output channels."""
    return ["foreground"] if num_classes == 1 else [f"class {k + 1}" for k in range(num_classes)]


def training_metadata(
    model: nn.Module,
    result: Any,
    *,
    recipe: Any,
    preprocessing: Any,
    pairs: Sequence[Any],
    n_train: int,
    n_val: int,
    data: str | Path | None,
    seed: int,
    name: str | None,
    parent: Any = None,
    base_info: dict[str, Any] | None = None,
    extra_training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint metadata of a model `fit` just trained (see `ukan_core.io.checkpoints`)."""
    config = model.config
    base_info = base_info or {}
    training = {
        "recipe": recipe.to_dict(),
        "seed": seed,
        "steps": result.steps,
        "best_step": result.best_step,
        "epochs": round(result.epochs, 3),
        "seconds": round(result.seconds, 1),
        "stopped": result.stopped,
        "device": result.device,
        "n_train": n_train,
        "n_val": n_val,
        "data": Path(data).name if data else None,
        "data_fingerprint": data_fingerprint(pairs),
        "history": result.history[-50:],
        "ukan_studio": __version__,
    }
    training.update(extra_training or {})
    return {
        "format_version": 1,
        "architecture": model.architecture,
        "config": config.to_dict(),
        "preprocessing": preprocessing.to_dict(),
        "input_size": list(preprocessing.input_size),
        "class_names": base_info.get("class_names") or class_names(config.num_classes),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parent": parent,
        "training": training,
        "metrics": metrics if metrics is not None else dict(result.metrics),
        "name": name or base_info.get("name") or "",
    }


def publish(model: nn.Module, metadata: dict[str, Any], *, out: Path | None = None, name: str | None = None,
            store: Any = None) -> tuple[Path | None, Any]:
    """Save to `out` and/or add a version of `name` to the store (default: the user's store).

    Returns (file written or None, store version or None).
    """
    from ukan_core.io.checkpoints import save_checkpoint

    path = version = None
    if out is not None:
        path = Path(out)
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        path = save_checkpoint(model, path, metadata)
    if name:
        if store is None:
            from ukan_core.store import ModelStore

            store = ModelStore()
        version = store.add_version(name, model, metadata)
    return path, version


def save_trained(model: nn.Module, result: Any, *, out: Path | None, name: str | None,
                 **facts: Any) -> tuple[Path | None, Any]:
    """`training_metadata` + `publish` in one call (what `ukan train` does).

    Without a store name the model is named after the file it is written to.
    """
    label = name or (Path(out).name.removesuffix(".safetensors") if out is not None else None)
    metadata = training_metadata(model, result, name=label, **facts)
    return publish(model, metadata, out=out, name=name)
