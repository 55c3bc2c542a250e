"""Whether the optional ONNX packages are installed, and the one-line error that says how to get them."""

from __future__ import annotations

import importlib.util

from ukan_core.errors import UkanError

INSTALL_HINT = 'pip install "ukan-studio[onnx]"'
ONNX_SUFFIX = ".onnx"


def missing_onnx_packages(*, export: bool = False) -> list[str]:
    """The optional packages that ONNX Runtime inference (and, with `export`, ONNX export) needs but lacks."""
    needed = ["onnx", "onnxruntime"] + (["onnxscript"] if export else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


def require_onnx(what: str, *, export: bool = False) -> None:
    """Raise a one-line UkanError naming the install command when the ONNX extra is absent."""
    missing = missing_onnx_packages(export=export)
    if missing:
        raise UkanError(f"{what} needs the optional package(s) {', '.join(missing)}; "
                        f"install them with: {INSTALL_HINT}")


def is_onnx_file(path: object) -> bool:
    """True for a path (or name) that ends in .onnx."""
    return str(path).lower().endswith(ONNX_SUFFIX)
