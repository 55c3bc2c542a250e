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


def images_fingerprint(pairs: Sequence[Any]) -> str:
    """SHA-256 over the sorted image file names and byte sizes ("sha256:<hex>"): cheap, and the same
    for the same images wherever they lie."""
    entries = sorted((Path(pair.image).name, Path(pair.image).stat().st_size) for pair in pairs)
    digest = hashlib.sha256()
    for name, size in entries:
        digest.update(f"{name}\0{size}\n".encode("utf-8", "surrogateescape"))
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
    """The checkpoint metadata of a model `fit` just trained (see `ukan_core.io.checkpoints`).

    "domain" holds the statistics the out-of-domain signal compares new images with
    (`ukan_core.domain.domain_reference` over the training images).
    """
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
        "images_fingerprint": images_fingerprint(pairs),
        "n_images": len(pairs),
        "history": result.history[-50:],
        "ukan_studio": __version__,
    }
    training.update(extra_training or {})
    domain = _domain_record(model, preprocessing, pairs)
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
        **({"domain": domain} if domain is not None else {}),
    }


def _domain_record(model: nn.Module, preprocessing: Any, pairs: Sequence[Any]) -> dict[str, Any] | None:
    """The out-of-domain reference of the trained model on its training images (`ukan_core.domain`).

    A statistic that cannot be computed is left out (logged), never the reason a trained model is lost.
    """
    import logging

    from ukan_core.domain import domain_reference
    from ukan_core.errors import UkanError

    if getattr(model, "architecture", None) != "ukan" or not pairs:
        return None
    try:
        return domain_reference(model, preprocessing, [pair.image for pair in pairs])
    except (UkanError, OSError, ValueError, RuntimeError) as exc:
        logging.getLogger(__name__).warning("out-of-domain statistics left out: %s", exc)
        return None


def publish(model: nn.Module, metadata: dict[str, Any], *, out: Path | None = None, name: str | None = None,
            store: Any = None, select: bool = True) -> tuple[Path | None, Any]:
    """Save to `out` and/or add a version of `name` to the store (default: the user's store).

    `select` says whether the new store version becomes the selected one. Returns (file written
    or None, store version or None). When a write fails (disk full, no permission) the trained
    weights are not lost: they go to `rescue_locations()` and ModelNotSavedError says where.
    """
    from ukan_core.io.checkpoints import save_checkpoint

    path = version = None
    failed: tuple[Path, OSError] | None = None
    if out is not None:
        target = Path(out)
        if target.suffix != ".safetensors":
            target = target.with_name(target.name + ".safetensors")
        try:
            path = save_checkpoint(model, target, metadata)
        except OSError as exc:
            failed = (target, exc)
    if name:
        if store is None:
            from ukan_core.store import ModelStore

            store = ModelStore()
        try:
            version = store.add_version(name, model, metadata, select=select)
        except OSError as exc:
            failed = failed or (Path(store.root) / name, exc)
    if failed is not None:
        saved = path or (version.path if version is not None else None)
        raise _not_saved(model, metadata, *failed, saved=saved) from None
    return path, version


def rescue_locations() -> list[Path]:
    """Where a trained model goes when its own place is full: the system temp dir, then the user data dir."""
    import tempfile

    from ukan_core.paths import user_data_dir

    return [Path(tempfile.gettempdir()) / "ukan-rescued-models", user_data_dir() / "rescued-models"]


def _not_saved(model: nn.Module, metadata: dict[str, Any], target: Path, exc: OSError,
               saved: Path | None) -> Exception:
    """The one-line ModelNotSavedError for a failed write, after saving the weights elsewhere if need be."""
    import shutil

    from ukan_core.errors import ModelNotSavedError
    from ukan_core.io.checkpoints import save_checkpoint

    reason = exc.strerror or str(exc) or type(exc).__name__
    size_mb = sum(t.numel() * t.element_size() for t in model.state_dict().values()) / 2**20
    place = target if target.is_dir() or not target.suffix else target.parent
    if saved is not None:  # written to one of the two places asked for
        return ModelNotSavedError(f"{target}: not saved ({reason}); the trained model is in {saved} "
                                  f"(free about {size_mb:.1f} MB in {place} to save there too)", saved)
    from ukan_core.store import valid_model_name

    stem = valid_model_name(str(metadata.get("name") or "model"))
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tried = []
    for folder in rescue_locations():
        tried.append(str(folder))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if shutil.disk_usage(folder).free < 1.2 * size_mb * 2**20:
                continue
            rescued = save_checkpoint(model, folder / f"{stem}-{stamp}.safetensors", metadata)
        except OSError:
            continue
        return ModelNotSavedError(
            f"{target}: not saved ({reason}); the trained model is safe in {rescued} (free about "
            f"{size_mb:.1f} MB in {place}; the file works as it is with --model or --from)", rescued)
    return ModelNotSavedError(f"{target}: not saved ({reason}) and no other place had room for the "
                              f"{size_mb:.1f} MB model (tried {', '.join(tried)}); free some space and train again")


def save_trained(model: nn.Module, result: Any, *, out: Path | None, name: str | None,
                 **facts: Any) -> tuple[Path | None, Any]:
    """`training_metadata` + `publish` in one call (what `ukan train` does).

    Without a store name the model is named after the file it is written to.
    """
    label = name or (Path(out).name.removesuffix(".safetensors") if out is not None else None)
    metadata = training_metadata(model, result, name=label, **facts)
    return publish(model, metadata, out=out, name=name)
