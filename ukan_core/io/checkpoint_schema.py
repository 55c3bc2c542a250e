"""Checks on a model file's declared facts, made BEFORE anything is built, allocated or unpickled.

A checkpoint is input from anywhere: its metadata says how big the network input is, how wide
the layers are, how many bytes the tensors take; an official `.pth` zip says how big its members
unpack. Each is bounded here, so a hostile or damaged file is refused with one line naming the
file rather than a traceback, a RecursionError or gigabytes of memory.

The limits: header at most 16 MB, JSON nested at most 32 deep, network input at most 4096 per
side, embedding widths at most 2048, tensors no bigger than the file that holds them, and
official zip members that unpack to at most a few times the file's size. Inside `config` and
`preprocessing` an unknown key is an error (it would be ignored silently otherwise); unknown
top-level keys are kept, so files written by a newer UKAN Studio still load.

This module imports neither torch nor the models.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ukan_core.errors import CheckpointError
from ukan_core.models.registry import ARCHITECTURES

MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_INPUT_SIDE = 4096
MAX_EMBED_WIDTH = 2048
MAX_CLASSES = 1024
MAX_CHANNELS = 64
MAX_TIMESTEPS = 100_000
MAX_LEVELS = 8
MAX_RES_BLOCKS = 16
MAX_CH_MULT = 16
SIZE_MULTIPLE = 32  # the segmentation U-KAN downsamples five times
# torch.save stores zip members uncompressed; a little slack for a re-zipped file, no more.
ZIP_EXPANSION = 4
ZIP_SLACK_BYTES = 16 * 1024 * 1024

PREPROCESSING_MODES = ("official", "standard")
PREPROCESSING_FITS = ("resize", "pad")
SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


# -- JSON --------------------------------------------------------------------------------------
def json_depth(data: bytes | str) -> int:
    """How deeply the arrays and objects of a JSON text nest (0 for a scalar), without parsing it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    skeleton = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    steps = np.zeros(skeleton.shape, dtype=np.int32)
    steps[(skeleton == ord("[")) | (skeleton == ord("{"))] = 1
    steps[(skeleton == ord("]")) | (skeleton == ord("}"))] = -1
    return int(np.cumsum(steps).max()) if steps.size else 0


def load_json(data: bytes | str, file_name: str, what: str) -> Any:
    """`json.loads` of a file's `what` (e.g. "metadata"), refusing oversized or deeply nested text."""
    if len(data) > MAX_HEADER_BYTES:
        raise CheckpointError(f"{file_name}: its {what} is {len(data) / 2**20:.0f} MB, more than the "
                              f"{MAX_HEADER_BYTES // 2**20} MB a model file may declare")
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise CheckpointError(f"{file_name}: its {what} nests {depth} levels deep (at most {MAX_JSON_DEPTH}); "
                              f"the file is damaged or not a model")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{file_name}: its {what} is not valid JSON") from None


# -- metadata ----------------------------------------------------------------------------------
def validate_metadata(info: Any, file_name: str) -> dict[str, Any]:
    """Check the types and ranges of a checkpoint's metadata; return it unchanged (CheckpointError if bad)."""
    if not isinstance(info, dict):
        raise CheckpointError(f"{file_name}: its metadata is a {type(info).__name__}, not an object")
    if "architecture" not in info or "config" not in info:
        raise CheckpointError(f"{file_name}: its metadata lacks the architecture or config")
    architecture = info["architecture"]
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise CheckpointError(f"{file_name}: unknown architecture {_short(architecture)} "
                              f"(known: {', '.join(ARCHITECTURES)}); a newer UKAN Studio may read it")
    validate_config(architecture, info["config"], file_name)
    if info.get("preprocessing") is not None:
        validate_preprocessing(info["preprocessing"], file_name)
    if info.get("input_size") is not None:
        _check_size(info["input_size"], file_name, "input_size")
    names = info.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) > MAX_CLASSES
                              or not all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"{file_name}: class_names must be a list of at most {MAX_CLASSES} strings")
    for key in ("training", "metrics"):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise CheckpointError(f"{file_name}: {key} must be an object, not {type(info[key]).__name__}")
    for key in ("created", "name", "version"):
        if info.get(key) is not None and not isinstance(info[key], str):
            raise CheckpointError(f"{file_name}: {key} must be a string, not {type(info[key]).__name__}")
    parent = info.get("parent")
    if parent is not None and not isinstance(parent, (str, dict)):
        raise CheckpointError(f"{file_name}: parent must be 'name/version', not {type(parent).__name__}")
    return info


def validate_preprocessing(pre: Any, file_name: str) -> None:
    """`preprocessing`: {"mode", "fit", "input_size"}, nothing else, sizes multiples of 32 up to 4096."""
    if not isinstance(pre, dict):
        raise CheckpointError(f"{file_name}: preprocessing must be an object, not {type(pre).__name__}")
    unknown = sorted(set(pre) - {"mode", "fit", "input_size"})
    if unknown:
        raise CheckpointError(f"{file_name}: preprocessing has unknown key(s) {', '.join(map(_short, unknown))}")
    if "mode" in pre and pre["mode"] not in PREPROCESSING_MODES:
        raise CheckpointError(f"{file_name}: preprocessing mode {_short(pre['mode'])} "
                              f"(use one of {', '.join(PREPROCESSING_MODES)})")
    if "fit" in pre and pre["fit"] not in PREPROCESSING_FITS:
        raise CheckpointError(f"{file_name}: preprocessing fit {_short(pre['fit'])} "
                              f"(use one of {', '.join(PREPROCESSING_FITS)})")
    if "input_size" in pre:
        _check_size(pre["input_size"], file_name, "preprocessing input_size")


def validate_config(architecture: str, config: Any, file_name: str) -> None:
    """The model config: known keys only, each of the right type and within its range."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{file_name}: config must be an object, not {type(config).__name__}")
    rules = _CONFIG_RULES[architecture]
    unknown = sorted(set(config) - set(rules))
    if unknown:
        raise CheckpointError(f"{file_name}: {architecture} config has unknown key(s) "
                              f"{', '.join(map(_short, unknown))}")
    for key, check in rules.items():
        if key in config:
            problem = check(config[key])
            if problem:
                raise CheckpointError(f"{file_name}: config {key} = {_short(config[key])}: {problem}")
    if architecture == "diffusion_ukan":
        ch, mult = config.get("ch", 64), config.get("ch_mult", [1, 2, 3, 4])
        widest = ch * max(mult)
        if widest > MAX_EMBED_WIDTH:
            raise CheckpointError(f"{file_name}: config ch x ch_mult = {widest} channels, "
                                  f"more than {MAX_EMBED_WIDTH}")


def _int_in(low: int, high: int) -> Any:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        return None if low <= value <= high else f"must be between {low} and {high}"
    return check


def _ints_in(low: int, high: int, *, length: int | None = None, max_length: int = MAX_LEVELS,
             empty: bool = False) -> Any:
    one = _int_in(low, high)

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be a list of whole numbers"
        if length is not None and len(value) != length:
            return f"must have {length} entries"
        if len(value) > max_length or (not value and not empty):
            return f"must have 1 to {max_length} entries"
        for v in value:
            problem = one(v)
            if problem:
                return f"each entry {problem}"
        return None
    return check


def _number_in(low: float, high: float) -> Any:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "must be a number"
        return None if low <= value <= high else f"must be between {low} and {high}"
    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


_UKAN_RULES = {
    "num_classes": _int_in(1, MAX_CLASSES),
    "input_channels": _int_in(1, MAX_CHANNELS),
    "embed_dims": _ints_in(1, MAX_EMBED_WIDTH, length=3),
    "no_kan": _boolean,
    "drop_path_rate": _number_in(0.0, 1.0),
}
_DIFFUSION_RULES = {
    "T": _int_in(1, MAX_TIMESTEPS),
    "ch": _int_in(1, MAX_EMBED_WIDTH),
    "ch_mult": _ints_in(1, MAX_CH_MULT),
    "attn": _ints_in(0, MAX_LEVELS, empty=True),
    "num_res_blocks": _int_in(1, MAX_RES_BLOCKS),
    "dropout": _number_in(0.0, 1.0),
    "embed_dims": _ints_in(1, MAX_EMBED_WIDTH, length=3),
    "image_size": _int_in(8, MAX_INPUT_SIDE),
    "in_channels": _int_in(1, MAX_CHANNELS),
}
# The config checks of every architecture in `ukan_core.models.registry.ARCHITECTURES`.
_CONFIG_RULES = {"ukan": _UKAN_RULES, "diffusion_ukan": _DIFFUSION_RULES}


def _check_size(size: Any, file_name: str, what: str) -> None:
    sides = [size, size] if isinstance(size, int) and not isinstance(size, bool) else size
    if (not isinstance(sides, list) or len(sides) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in sides)):
        raise CheckpointError(f"{file_name}: {what} {_short(size)} must be [height, width] in pixels")
    if any(v < SIZE_MULTIPLE or v > MAX_INPUT_SIDE or v % SIZE_MULTIPLE for v in sides):
        raise CheckpointError(f"{file_name}: {what} {_short(size)}: each side must be a multiple of "
                              f"{SIZE_MULTIPLE} from {SIZE_MULTIPLE} to {MAX_INPUT_SIDE}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- tensor tables -----------------------------------------------------------------------------
def check_tensor_table(header: dict[str, Any], file_name: str, data_bytes: int) -> None:
    """Every tensor of a safetensors header: a known dtype, a shape whose bytes match its offsets,
    and offsets inside the `data_bytes` that follow the header."""
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise CheckpointError(f"{file_name}: its safetensors metadata is not a table of strings")
            continue
        if not isinstance(entry, dict):
            raise CheckpointError(f"{file_name}: tensor {_short(key)} has no description")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in SAFETENSORS_DTYPE_BYTES:
            raise CheckpointError(f"{file_name}: tensor {_short(key)} has unknown dtype {_short(dtype)}")
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise CheckpointError(f"{file_name}: tensor {_short(key)} has a bad shape {_short(shape)}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) for n in offsets)):
            raise CheckpointError(f"{file_name}: tensor {_short(key)} has bad data offsets {_short(offsets)}")
        size = math.prod(shape) * SAFETENSORS_DTYPE_BYTES[dtype]
        start, end = offsets
        if size > data_bytes or not 0 <= start <= end <= data_bytes or end - start != size:
            raise CheckpointError(f"{file_name}: tensor {_short(key)} declares {size} bytes at {offsets}, "
                                  f"beyond the file's {data_bytes} bytes of data; the file is truncated or damaged")


# -- official zip files ------------------------------------------------------------------------
def check_zip_sizes(path: Path) -> None:
    """Refuse a PyTorch zip checkpoint whose members declare more bytes than the file could hold."""
    size = path.stat().st_size
    limit = ZIP_EXPANSION * size + ZIP_SLACK_BYTES
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path.name}: not a readable PyTorch checkpoint ({reason})") from None
    declared = sum(m.file_size for m in members)
    if declared > limit:
        raise CheckpointError(f"{path.name}: its zip members unpack to {declared / 2**20:.0f} MB from a "
                              f"{size / 2**20:.1f} MB file; refusing what looks like a zip bomb")
    data_pkl = [m for m in members if m.filename.endswith("data.pkl")]
    if any(m.file_size > MAX_HEADER_BYTES for m in data_pkl):
        raise CheckpointError(f"{path.name}: its pickle is larger than {MAX_HEADER_BYTES // 2**20} MB; "
                              f"not a plain state dict")
