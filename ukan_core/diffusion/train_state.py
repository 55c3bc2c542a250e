"""Resumable generator training: weights, EMA, optimizer and RNG states in one .safetensors file.

No pickled objects: tensors go in the safetensors body under prefixes ("model.", "ema.",
"optim.<param index>.", "rng.", "data."), and everything else (step, settings, the optimizer's
param groups) is JSON under the header metadata key "ukan_train_state". The file is written
atomically, so a crash mid-save leaves the previous state intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ukan_core.atomic import atomic_path
from ukan_core.errors import CheckpointError

STATE_KEY = "ukan_train_state"
STATE_FORMAT = 1


def save_training_state(path: str | Path, *, model: nn.Module, ema: nn.Module, optimizer: torch.optim.Optimizer,
                        tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write everything needed to continue training exactly where it stopped."""
    from safetensors.torch import save_file

    body: dict[str, torch.Tensor] = {}
    for prefix, module in (("model.", model), ("ema.", ema)):
        for key, value in module.state_dict().items():
            body[prefix + key] = value.detach().to("cpu", copy=True).contiguous()
    optim = optimizer.state_dict()
    for index, state in optim["state"].items():
        for key, value in state.items():
            body[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().to("cpu", copy=True).contiguous()
    for key, value in tensors.items():
        body[key] = value.detach().to("cpu", copy=True).contiguous()
    header = {"format": STATE_FORMAT, **meta, "param_groups": optim["param_groups"]}
    with atomic_path(path) as tmp:
        save_file(body, str(tmp), metadata={STATE_KEY: json.dumps(header)})
    return Path(path)


def load_training_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and the JSON header of a training state file; CheckpointError when it is not one."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.name}: training state not found")
    try:
        with safe_open(str(path), "pt") as f:
            raw = (f.metadata() or {}).get(STATE_KEY)
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name}: not a training state file ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    if raw is None:
        raise CheckpointError(f"{path.name}: a safetensors file without a generator training state")
    meta = json.loads(raw)
    if meta.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path.name}: training state format {meta.get('format')} is not supported")
    return tensors, meta


def restore_modules(tensors: dict[str, torch.Tensor], model: nn.Module, ema: nn.Module, name: str) -> None:
    """Load the "model." and "ema." weights; CheckpointError when they do not fit the model."""
    for prefix, module in (("model.", model), ("ema.", ema)):
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "mismatch"
            raise CheckpointError(f"{name}: the saved weights do not fit this model ({first})") from None


def restore_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    """Rebuild the optimizer's state from "optim.<index>.<key>" tensors and the stored param groups."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    optimizer.load_state_dict({"state": state, "param_groups": groups})
