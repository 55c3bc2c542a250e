"""Import checkpoints of the official U-KAN code (`.pth`/`.pt` state dicts) without running their code.

Only `torch.load(..., weights_only=True)` is used: a pickle that needs Python code to load is
refused, never unpickled. The model configuration is inferred from tensor shapes, because an
official checkpoint is a bare state dict (its `config.yml` is a separate file that may be lost).
"""

from __future__ import annotations

import pickletools
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ukan_core.errors import CheckpointError
from ukan_core.io.checkpoint_schema import check_zip_sizes, validate_config
from ukan_core.models.registry import ARCHITECTURES

if TYPE_CHECKING:
    import torch
    from torch import nn

OFFICIAL_INPUT_SIZE = (256, 256)  # Seg_UKAN/train.py default input_h/input_w
_WRAPPER_KEYS = ("state_dict", "model", "net", "model_state_dict")
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel / torch.compile wrappers
_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD"}
_NEEDS_CODE = "contains Python objects that need code to load; refusing to unpickle it"


def import_official(
    path: str | Path, *, input_size: tuple[int, int] = OFFICIAL_INPUT_SIZE
) -> tuple[nn.Module, dict[str, Any]]:
    """Load an official `.pth`/`.pt` checkpoint as (model in eval mode on CPU, checkpoint info).

    Segmentation models get the official preprocessing (mode "official", fit "resize",
    `input_size`, default 256x256); diffusion models get none.
    """
    path = Path(path)
    state = _state_dict_of(_torch_load(path), path)
    architecture, config = infer_official_config(state, path.name)
    validate_config(architecture, config, path.name)  # bounded widths before anything is allocated
    from ukan_core.models.registry import build_model

    try:
        model = build_model(architecture, config)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as exc:
        raise CheckpointError(f"{path.name}: shapes do not fit a {architecture} model ({read_failure(exc)})") from None
    load_state_checked(model, state, path.name)
    model.eval()
    return model, official_info(model, path, input_size)


def official_info(model: nn.Module, path: Path, input_size: tuple[int, int]) -> dict[str, Any]:
    """The checkpoint metadata we attach to an imported official model."""
    info: dict[str, Any] = {
        "format_version": 1,
        "architecture": model.architecture,
        "config": model.config.to_dict(),
        "preprocessing": None,
        "input_size": None,
        "class_names": [],
        "created": datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat(timespec="seconds"),
        "parent": None,
        "training": {"source": "official U-KAN checkpoint", "file": path.name},
        "metrics": {},
        "name": path.stem,
        "version": None,
        "origin": "official",
    }
    if model.architecture == "ukan":
        from ukan_core.preprocess import Preprocessing

        pre = Preprocessing(mode="official", fit="resize", input_size=tuple(input_size))
        info["preprocessing"] = pre.to_dict()
        info["input_size"] = list(pre.input_size)
        n = model.config.num_classes
        info["class_names"] = ["foreground"] if n == 1 else [f"class {k + 1}" for k in range(n)]
    return info


def infer_official_config(state: dict[str, torch.Tensor], file_name: str) -> tuple[str, dict[str, Any]]:
    """("ukan" | "diffusion_ukan", config dict) read from the tensor shapes of an official state dict."""
    for entry in ARCHITECTURES.values():
        if not all(key in state for key in entry.official_keys):
            continue
        try:
            return entry.name, _CONFIG_READERS[entry.name](state)
        except KeyError as exc:
            raise CheckpointError(f"{file_name}: not a {entry.title} state dict "
                                  f"(missing key {exc.args[0]!r})") from None
        except ValueError as exc:
            raise CheckpointError(f"{file_name}: not a {entry.title} state dict ({exc})") from None
    first = _first_unknown_key(state)
    families = " or ".join(entry.title for entry in ARCHITECTURES.values())
    raise CheckpointError(f"{file_name}: tensors do not fit a {families} model (first unknown key {first!r})")


def load_state_checked(model: nn.Module, state: dict[str, torch.Tensor], file_name: str, *,
                       assign: bool = False) -> None:
    """Strict `load_state_dict`, with a one-line CheckpointError naming the first offending key.

    `assign=True` puts the file's tensors in place of the model's (for a model built on the meta
    device, whose tensors hold no data).
    """
    expected = model.state_dict()
    for key, tensor in state.items():
        if key not in expected:
            raise CheckpointError(f"{file_name}: unexpected key {key!r} for this {model.architecture} model")
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{file_name}: key {key!r} has shape {tuple(tensor.shape)}, "
                f"the model needs {tuple(expected[key].shape)}"
            )
    missing = [k for k in expected if k not in state]
    if missing:
        raise CheckpointError(f"{file_name}: missing key {missing[0]!r} ({len(missing)} missing in all)")
    converted = {k: v.to(dtype=expected[k].dtype) for k, v in state.items()}
    model.load_state_dict(converted, strict=True, assign=assign)


# -- reading the file ------------------------------------------------------------------------
def _torch_load(path: Path) -> Any:
    import pickle

    import torch

    if not path.is_file():
        raise CheckpointError(f"{path.name}: file not found" if not path.exists() else f"{path.name}: not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except PermissionError:
        raise CheckpointError(f"{path.name}: permission denied; make the file readable") from None
    if not head:
        raise CheckpointError(f"{path.name}: empty file, not a model checkpoint")
    is_zip = head == b"PK\x03\x04"
    if not is_zip and head[:1] != b"\x80":  # neither torch's zip format nor a (legacy) pickle
        raise CheckpointError(f"{path.name}: not a model checkpoint (neither .safetensors nor a PyTorch file)")
    if is_zip:
        check_zip_sizes(path)  # a zip bomb is refused by its declared sizes, before torch unpacks it
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if _pickle_needs_code(path, is_zip):
            raise CheckpointError(f"{path.name}: {_NEEDS_CODE}") from None
        raise CheckpointError(f"{path.name}: not a readable PyTorch checkpoint") from None
    except Exception as exc:  # truncated zips, corrupt pickles, ...: one line, no traceback
        raise CheckpointError(f"{path.name}: not a readable PyTorch checkpoint ({read_failure(exc)})") from None


def read_failure(exc: BaseException) -> str:
    """The first line of an exception's message (at most 120 characters), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__


def _pickle_needs_code(path: Path, is_zip: bool) -> bool:
    """True when the refused pickle imports globals (classes, functions): loading it would run code."""
    try:
        if is_zip:
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith("data.pkl")]
                if not names:
                    return False
                data = archive.read(names[0])
        else:
            data = path.read_bytes()
        return any(op.name in _CODE_OPCODES for op, _, _ in pickletools.genops(data))
    except Exception:  # not even a well-formed pickle
        return False


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    import torch

    for _ in range(3):  # {"state_dict": {...}}, {"model": {"state_dict": {...}}}, ...
        if not isinstance(obj, dict):
            break
        wrapped = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if wrapped is None or any(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        obj = wrapped
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path.name}: does not hold a state dict (found {type(obj).__name__})")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path.name}: does not hold a state dict (no tensors)")
    for prefix in _PREFIXES:
        if all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    return tensors


# -- configuration from shapes ---------------------------------------------------------------
def _segmentation_config(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    e0 = int(state["encoder3.conv.0.weight"].shape[0])
    e1 = int(state["block1.0.norm2.weight"].shape[0])
    e2 = int(state["block2.0.norm2.weight"].shape[0])
    return {
        "num_classes": int(state["final.weight"].shape[0]),
        "input_channels": int(state["encoder1.conv.0.weight"].shape[1]),
        "embed_dims": [e0, e1, e2],
        "no_kan": "block1.0.layer.fc1.weight" in state and "block1.0.layer.fc1.base_weight" not in state,
    }


def _diffusion_config(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    T, ch = (int(v) for v in state["time_embedding.timembedding.0.weight"].shape)
    levels: list[list[int]] = [[]]  # output widths of the ResBlocks of each level
    index = 0
    while True:
        prefix = f"downblocks.{index}."
        if f"{prefix}main.weight" in state:  # a DownSample closes a level
            levels.append([])
        elif f"{prefix}block1.2.weight" in state:
            levels[-1].append(int(state[f"{prefix}block1.2.weight"].shape[0]))
        else:
            break
        index += 1
    counts = {len(level) for level in levels}
    if len(counts) != 1 or 0 in counts:
        raise ValueError("uneven ResBlocks per level in 'downblocks'")
    return {
        "T": T,
        "ch": ch,
        "ch_mult": [level[0] // ch for level in levels],
        "attn": [],  # never built by the official model, so a checkpoint cannot tell
        "num_res_blocks": counts.pop(),
        "embed_dims": [
            int(state["patch_embed3.proj.weight"].shape[1]),
            int(state["patch_embed3.proj.weight"].shape[0]),
            int(state["patch_embed4.proj.weight"].shape[0]),
        ],
        "in_channels": int(state["head.weight"].shape[1]),
    }


# How the config of each registered architecture is read from an official state dict's shapes.
_CONFIG_READERS = {"ukan": _segmentation_config, "diffusion_ukan": _diffusion_config}


def _first_unknown_key(state: dict[str, torch.Tensor]) -> str:
    """The first key that belongs to neither model family (or simply the first key)."""
    families = ("encoder", "decoder", "block", "dblock", "norm", "dnorm", "patch_embed", "final",
                "time_embedding", "head", "downblocks", "upblocks", "tail", "kan_block", "kan_dblock")
    for key in state:
        if not key.split(".")[0].rstrip("0123456789").startswith(families):
            return key
    return next(iter(state))
