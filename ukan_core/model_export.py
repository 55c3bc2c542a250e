"""Export a stored model version as a .safetensors checkpoint or an ONNX model, with its model card.

Shared by `ukan models export` and the Studio's Export button. Nothing is written when either
target (the model file or `<stem>.model-card.md`) exists and `overwrite` is False, or when the
ONNX extra is missing; each file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ukan_core.errors import OutputExistsError, UkanError
from ukan_core.model_card import card_path, write_model_card
from ukan_core.onnx_support import ONNX_SUFFIX, require_onnx

FORMATS = ("safetensors", "onnx")
SUFFIXES = {"safetensors": ".safetensors", "onnx": ONNX_SUFFIX}


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    file: Path
    card: Path
    format: str


def export_format(dest: str | Path, fmt: str | None = None) -> str:
    """The format of an export to `dest`: `fmt` when given, else the suffix's, else safetensors."""
    suffix = Path(dest).suffix.lower()
    by_suffix = next((name for name, known in SUFFIXES.items() if suffix == known), None)
    if fmt is not None:
        if fmt not in FORMATS:
            raise UkanError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        if by_suffix is not None and by_suffix != fmt:
            raise UkanError(f"{Path(dest).name}: the suffix says {by_suffix} but --format says {fmt}; "
                            "make them agree")
        return fmt
    return by_suffix or "safetensors"


def export_model(store: Any, name: str, version: str | None, dest: str | Path, *, fmt: str | None = None,
                 overwrite: bool = False) -> ExportResult:
    """Write version `name/version` of `store` to `dest` (a folder gets `<name>-<version>.<ext>`)."""
    from ukan_core.model_refs import load_model_with_info

    info = store.version_info(name, version)
    dest = Path(dest).expanduser()
    chosen = export_format(dest if not dest.is_dir() else "", fmt)
    if dest.is_dir():
        dest = dest / f"{info.name}-{info.version}{SUFFIXES[chosen]}"
    if chosen == "onnx":
        require_onnx("ONNX export", export=True)
    card = card_path(dest)
    if not overwrite:
        for target in (dest, card):
            if target.exists():
                raise OutputExistsError(f"{target}: already exists; not overwritten")
    model, header = load_model_with_info(info.path, device="cpu")
    header = {**header, "name": info.name, "version": info.version}
    if chosen == "onnx":
        from ukan_core.onnx_export import export_onnx

        export_onnx(model, header, dest)
    else:
        store.export(info.name, info.version, dest, overwrite=overwrite)
    parameters = sum(p.numel() for p in model.parameters())
    write_model_card(dest, header, parameters=parameters, overwrite=True)
    return ExportResult(file=dest, card=card, format=chosen)
