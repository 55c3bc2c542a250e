"""Model checkpoints: one `.safetensors` file holding the weights and a JSON metadata header.

Weights that cannot run code: safetensors stores tensors only, and the metadata (architecture,
config, preprocessing, class names, lineage, metrics) is a JSON string under the header key
"ukan", so the Studio lists models by reading a few kilobytes without importing torch.
Official `.pth`/`.pt` files are imported by `ukan_core.io.official` (weights-only unpickling).

This module imports torch only inside the functions that need it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ukan_core.atomic import atomic_path
from ukan_core.errors import CheckpointError
from ukan_core.io.checkpoint_schema import MAX_HEADER_BYTES, check_tensor_table, load_json, validate_metadata
from ukan_core.io.official import import_official, load_state_checked, read_failure

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "FORMAT_VERSION", "METADATA_KEY", "CHECKPOINT_SUFFIX", "OFFICIAL_SUFFIXES",
    "save_checkpoint", "load_checkpoint", "load_model_file", "read_checkpoint_info", "import_official",
]
FORMAT_VERSION = 1
METADATA_KEY = "ukan"
CHECKPOINT_SUFFIX = ".safetensors"
OFFICIAL_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
# Any error a damaged or hostile file can raise while it is read or turned into a model.
_BAD_FILE_ERRORS = (RuntimeError, RecursionError, ValueError, KeyError, TypeError, IndexError,
                    AttributeError, OverflowError, EOFError, MemoryError)


def save_checkpoint(model: nn.Module, path: str | Path, metadata: dict[str, Any] | None = None, *,
                    half: bool = False) -> Path:
    """Write `model` and its metadata to one `.safetensors` file, atomically; return the path.

    Architecture, config and format version always come from the model; everything else from
    `metadata` (extra keys are kept). `half=True` stores the weights (parameters) as float16 (half the
    size); buffers such as KAN grids and BatchNorm statistics stay float32 so that loading,
    which always gives float32, changes nothing but the weights' rounding.
    """
    from safetensors.torch import save_file

    path = Path(path)
    info = checkpoint_metadata(model, metadata)
    weights = {name for name, _ in model.named_parameters()}  # frozen (EMA) weights too
    tensors: dict[str, torch.Tensor] = {}
    halved = False
    for key, tensor in model.state_dict().items():
        t = tensor.detach().to("cpu")
        if half and key in weights and t.is_floating_point() and bool(t.abs().max() < 65000):
            t = t.half()
            halved = True
        tensors[key] = t.contiguous().clone()
    info["storage_dtype"] = "float16" if halved else "float32"
    header = json.dumps(info, default=_json_default)
    with atomic_path(path) as tmp:
        try:
            save_file(tensors, str(tmp), metadata={METADATA_KEY: header})
        except OSError:
            raise
        except Exception as exc:  # safetensors reports a full disk as its own error type
            raise _os_error_of(exc, tmp) or exc from None
        os.chmod(tmp, 0o666 & ~_umask())  # safetensors creates its file 0600; use the umask, as for masks
    return path


def checkpoint_metadata(model: nn.Module, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full metadata dict `save_checkpoint` writes for `model` (defaults filled in)."""
    architecture = getattr(model, "architecture", None)
    config = getattr(model, "config", None)
    if architecture is None or config is None:
        raise CheckpointError(f"{type(model).__name__}: not a UKAN Studio model (no architecture/config)")
    info: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "config": None,
        "preprocessing": None,
        "input_size": None,
        "class_names": _default_class_names(model),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parent": None,
        "training": {},
        "metrics": {},
        "name": None,
        "version": None,
    }
    info.update(json.loads(json.dumps(metadata or {}, default=_json_default)))
    info["format_version"] = FORMAT_VERSION
    info["architecture"] = architecture
    info["config"] = config.to_dict()
    if architecture == "ukan":
        from ukan_core.preprocess import Preprocessing

        pre = Preprocessing.from_dict(info["preprocessing"])
        info["preprocessing"] = pre.to_dict()
        info["input_size"] = list(pre.input_size)
    return info


def read_checkpoint_info(path: str | Path) -> dict[str, Any]:
    """The metadata of a `.safetensors` checkpoint, read from its header without torch.

    The header and the metadata are checked against `ukan_core.io.checkpoint_schema` (sizes,
    nesting, types and ranges) before anything is built from them.
    """
    path = Path(path)
    header = _read_header(path)
    raw = (header.get("__metadata__") or {}).get(METADATA_KEY)
    if raw is None:
        raise CheckpointError(f"{path.name}: a .safetensors file without UKAN Studio metadata")
    info = load_json(raw, path.name, "UKAN Studio metadata")
    if isinstance(info, dict):
        version = info.get("format_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
            raise CheckpointError(
                f"{path.name}: checkpoint format {str(version)[:20]!r} is newer than this UKAN Studio reads "
                f"({FORMAT_VERSION}); update UKAN Studio"
            )
    return validate_metadata(info, path.name)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model of a `.safetensors` checkpoint: (float32 model in eval mode on `device`, info).

    `device` is a torch.device or a name for `pick_device` ("cpu", "cuda", "mps", "auto"). The
    model is built on the meta device and takes the file's tensors as they are, so no time is
    spent on a random initialisation (KAN layers solve a least-squares problem for it).
    """
    import torch
    from safetensors.torch import load_file

    from ukan_core.models.registry import build_model

    path = Path(path)
    info = read_checkpoint_info(path)
    try:
        with torch.device("meta"):
            model = build_model(info["architecture"], info["config"])
    except _BAD_FILE_ERRORS as exc:
        raise CheckpointError(f"{path.name}: cannot build its model ({read_failure(exc)})") from None
    try:
        state = load_file(str(path), device="cpu")
    except PermissionError:
        raise CheckpointError(f"{path.name}: permission denied; make the file readable") from None
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{path.name}: damaged checkpoint ({read_failure(exc)})") from None
    try:
        load_state_checked(model, state, path.name, assign=True)
    except _BAD_FILE_ERRORS as exc:
        raise CheckpointError(f"{path.name}: its tensors do not fit its model ({read_failure(exc)})") from None
    return model.to(_device(device)).eval(), info


def load_model_file(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode on `device`, info) of one file: our `.safetensors` or an official `.pth`/`.pt`.

    The kind is told by the suffix or, for a renamed file, by its first bytes. Names and store
    versions are resolved a level above, in `ukan_core.model_refs`.
    """
    path = Path(path)
    if path.suffix.lower() == CHECKPOINT_SUFFIX or _looks_like_safetensors(path):
        return load_checkpoint(path, device)
    try:
        model, info = import_official(path)
    except _BAD_FILE_ERRORS as exc:  # what the schema and the checks in `official` did not foresee
        raise CheckpointError(f"{path.name}: not a loadable model file ({read_failure(exc)})") from None
    return model.to(_device(device)).eval(), info


# -- internals -------------------------------------------------------------------------------
def _os_error_of(exc: Exception, path: Path) -> OSError | None:
    """The OSError inside a safetensors error ("... I/O error: No space left on device (os error 28)")."""
    import errno
    import re

    match = re.search(r"os error (\d+)", str(exc))
    if match is None:
        return None
    code = int(match.group(1))
    return OSError(code, os.strerror(code) if code in errno.errorcode else str(exc), str(path))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _device(device: str | torch.device) -> torch.device:
    from ukan_core.device import pick_device

    return pick_device(device)


def _read_header(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path.name}: file not found" if not path.exists() else f"{path.name}: not a file")
    not_ours = f"{path.name}: not a UKAN Studio checkpoint (.safetensors)"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            prefix = fh.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path.name}: empty file, not a model checkpoint" if size == 0 else not_ours)
            (length,) = struct.unpack("<Q", prefix)
            if length < 2 or length > size - 8:
                raise CheckpointError(not_ours)
            if length > MAX_HEADER_BYTES:
                raise CheckpointError(f"{path.name}: its header declares {length / 2**20:.0f} MB, more than the "
                                      f"{MAX_HEADER_BYTES // 2**20} MB a model file may have")
            data = fh.read(length)
    except PermissionError:
        raise CheckpointError(f"{path.name}: permission denied; make the file readable") from None
    except OSError as exc:
        raise CheckpointError(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not data.lstrip().startswith(b"{"):
        raise CheckpointError(not_ours)
    try:
        header = load_json(data.decode("utf-8"), path.name, "header")
    except UnicodeDecodeError:
        raise CheckpointError(not_ours) from None
    if not isinstance(header, dict):
        raise CheckpointError(not_ours)
    check_tensor_table(header, path.name, size - 8 - length)
    return header


def _looks_like_safetensors(path: Path) -> bool:
    """True when the file starts like a safetensors file: a header length, then a JSON object."""
    try:
        with path.open("rb") as fh:
            prefix = fh.read(9)
    except OSError:
        return False
    if len(prefix) < 9 or prefix[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", prefix[:8])
    return 2 <= length <= path.stat().st_size - 8


def _default_class_names(model: nn.Module) -> list[str]:
    n = getattr(getattr(model, "config", None), "num_classes", None)
    if n is None:
        return []
    return ["foreground"] if n == 1 else [f"class {k + 1}" for k in range(n)]


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON-serialisable")


def rewrite_metadata(path: Path, changes: dict[str, Any]) -> Path:
    """Merge `changes` into the UKAN Studio metadata of a `.safetensors` file, rewriting only its header.

    The tensor table and every byte of the weights stay as they are (the data offsets are
    relative to the end of the header), and the file's other header metadata is kept; the new
    file replaces the old one atomically. This is how the bundled model got its "domain" record
    (`ukan_core.domain.add_reference`).
    """
    import shutil

    path = Path(path)
    info = read_checkpoint_info(path)          # checked like any model file before it is touched
    header = _read_header(path)
    info.update(json.loads(json.dumps(changes)))
    header.setdefault("__metadata__", {})[METADATA_KEY] = json.dumps(info)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)            # safetensors aligns the data to 8 bytes
    with path.open("rb") as source:
        (old_length,) = struct.unpack("<Q", source.read(8))
        source.seek(8 + old_length)
        with atomic_path(path) as tmp, open(tmp, "wb") as target:
            target.write(struct.pack("<Q", len(text)))
            target.write(text)
            shutil.copyfileobj(source, target)
    return path
